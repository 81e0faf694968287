"""What every grid cell with a thumbnail shares: a size from the font, the platform's panel."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QSize
from PySide6.QtGui import QFontMetrics, QPainter
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem, QWidget

AnyIndex = QModelIndex | QPersistentModelIndex


class ThumbnailCellDelegate(QStyledItemDelegate):
    """Uniform cells around a square thumbnail, sized from the font so the grid scales
    with the UI. Subclasses give `cell_size` and paint between `begin_paint` and
    `painter.restore()`."""

    MIN_PADDING = 6  # logical pixels
    PADDING_DIVISOR = 2  # the padding is the font's line height divided by this

    def __init__(self, thumb_size: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.thumb_size = thumb_size  # logical pixels

    @classmethod
    def padding(cls, metrics: QFontMetrics) -> int:
        """Space around the thumbnail and its text."""
        return max(cls.MIN_PADDING, metrics.height() // cls.PADDING_DIVISOR)

    def cell_size(self, metrics: QFontMetrics) -> QSize:
        """The size of every cell (the grid's items are uniform)."""
        raise NotImplementedError

    def sizeHint(self, option: QStyleOptionViewItem, index: AnyIndex) -> QSize:
        return self.cell_size(option.fontMetrics)

    def begin_paint(self, painter: QPainter, option: QStyleOptionViewItem,
                    index: AnyIndex) -> QStyleOptionViewItem:
        """Save the painter, draw the selection/hover background as the platform does,
        and return the cell's styled option."""
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        widget = opt.widget
        if widget is not None:
            widget.style().drawPrimitive(QStyle.PrimitiveElement.PE_PanelItemViewItem, opt,
                                         painter, widget)
        return opt
