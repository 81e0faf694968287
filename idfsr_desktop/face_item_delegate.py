"""Paints one face: its aligned thumbnail (or a placeholder), a cover star, an optional caption."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFontMetrics, QPainter, QPainterPath, QPalette, QPen, QPixmap
from PySide6.QtWidgets import QStyle, QStyleOptionViewItem, QWidget

from idfsr_desktop.face_list_model import CoverRole, FaceUnavailableRole, ScoreRole
from idfsr_desktop.theme import blend
from idfsr_desktop.thumbnail_cell_delegate import ThumbnailCellDelegate

STAR = "★"


def paint_face_pixmap(painter: QPainter, box: QRect, pixmap: QPixmap | None,
                      palette: QPalette, *, unavailable: bool = False) -> None:
    """A face thumbnail cropped to a rounded square, or a quiet placeholder."""
    radius = max(4.0, box.width() / 14)
    path = QPainterPath()
    path.addRoundedRect(QRectF(box), radius, radius)
    if pixmap is None or pixmap.isNull():
        painter.fillPath(path, blend(palette.color(QPalette.ColorRole.Base),
                                     palette.color(QPalette.ColorRole.Text), 0.08))
        if unavailable:
            painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, "No preview")
        return
    painter.save()
    painter.setClipPath(path)
    # Fill the square: aligned faces are square already; anything else is centre-cropped.
    scaled = pixmap.size().scaled(box.size(), Qt.AspectRatioMode.KeepAspectRatioByExpanding)
    target = QRect(box.x() + (box.width() - scaled.width()) // 2,
                   box.y() + (box.height() - scaled.height()) // 2,
                   scaled.width(), scaled.height())
    painter.drawPixmap(target, pixmap)
    painter.restore()


class FaceItemDelegate(ThumbnailCellDelegate):
    """Square face cells sized from the font; with `captions`, a line under each face."""

    MIN_PADDING = 4
    PADDING_DIVISOR = 3

    def __init__(self, thumb_size: int, parent: QWidget | None = None, *,
                 captions: bool = False) -> None:
        super().__init__(thumb_size, parent)
        self.captions = captions

    def cell_size(self, metrics: QFontMetrics) -> QSize:
        """The size of every cell."""
        pad = self.padding(metrics)
        caption = metrics.height() + pad if self.captions else 0
        return QSize(self.thumb_size + 2 * pad, self.thumb_size + 2 * pad + caption)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        opt = self.begin_paint(painter, option, index)
        pad = self.padding(opt.fontMetrics)
        cell = opt.rect
        box = QRect(cell.x() + pad, cell.y() + pad, self.thumb_size, self.thumb_size)
        pixmap = index.data(Qt.ItemDataRole.DecorationRole)
        paint_face_pixmap(painter, box, pixmap if isinstance(pixmap, QPixmap) else None,
                          opt.palette, unavailable=bool(index.data(FaceUnavailableRole)))
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        if selected:  # a clear ring as well: on a photo the background alone is easy to miss
            ring = QPen(opt.palette.color(QPalette.ColorRole.Highlight), max(2.0, pad / 2))
            painter.setPen(ring)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            radius = max(4.0, box.width() / 14)
            painter.drawRoundedRect(QRectF(box).adjusted(1, 1, -1, -1), radius, radius)
        if index.data(CoverRole):
            self._paint_star(painter, box, opt)
        if self.captions:
            self._paint_caption(painter, opt, box, pad, index, selected)
        painter.restore()

    def _paint_star(self, painter: QPainter, box: QRect, opt: QStyleOptionViewItem) -> None:
        side = int(opt.fontMetrics.height() * 1.4)
        badge = QRect(box.right() - side - 3, box.top() + 4, side, side)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(0, 0, 0, 150))
        painter.drawEllipse(badge)
        painter.setPen(QColor(255, 205, 60))
        painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, STAR)

    def _paint_caption(self, painter: QPainter, opt: QStyleOptionViewItem, box: QRect, pad: int,
                       index: QModelIndex | QPersistentModelIndex, selected: bool) -> None:
        text = str(index.data(Qt.ItemDataRole.DisplayRole) or "")
        if index.data(ScoreRole) is not None:
            text = f"match {float(index.data(ScoreRole)):.2f}"
        rect = QRect(box.x(), box.bottom() + pad // 2, box.width(), opt.fontMetrics.height())
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        painter.setPen(opt.palette.color(role))
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter,
                         opt.fontMetrics.elidedText(text, Qt.TextElideMode.ElideMiddle,
                                                    rect.width()))
