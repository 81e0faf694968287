"""Paints one grid cell: the thumbnail (or a placeholder), a status badge and the file name;
or a timeline header ("2019", "March 2019") across the grid's whole width."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import QStyle, QStyleOptionViewItem, QWidget

from idfsr_desktop.photo_list_model import StatusRole, ThumbnailUnavailableRole
from idfsr_desktop.theme import blend
from idfsr_desktop.thumbnail_cell_delegate import AnyIndex, ThumbnailCellDelegate
from idfsr_desktop.timeline_model import HeaderRole

# The one place with fixed colours: a status badge must read as a warning on any palette.
BADGE_COLOURS = {"error": QColor(198, 40, 40), "missing": QColor(230, 145, 0)}
BADGE_GLYPHS = {"error": "!", "missing": "?"}
PLACEHOLDER_WORDS = {"error": "Unreadable", "missing": "Missing"}


HEADER_SCALE = {"year": 1.5, "month": 1.1}  # of the font's size
# A thumbnail's box is as high as a 4:3 landscape photo at the box's width: most photos
# fill it, a portrait one stands in it at full height (narrower), and a row of landscape
# photos leaves no empty band above it (under a month's header) as a square box did.
BOX_ASPECT = 3 / 4  # height / width


def header_font(font: QFont, level: str) -> QFont:
    """The font of a year or month header."""
    bigger = QFont(font)
    bigger.setPointSizeF(font.pointSizeF() * HEADER_SCALE[level])
    bigger.setWeight(QFont.Weight.Bold if level == "year" else QFont.Weight.DemiBold)
    return bigger


class PhotoItemDelegate(ThumbnailCellDelegate):
    """A photo's thumbnail with a status badge and its file name underneath; a header row
    spans the grid. The page sets `column_width` and `row_width` from the view's width."""

    def __init__(self, thumb_size: int, parent: QWidget | None = None) -> None:
        super().__init__(thumb_size, parent)
        self.column_width = 0  # a photo's share of the width (0: just its cell)
        self.row_width = 0  # a header's width
        self.gap = 0  # between rows of photos

    @property
    def box_height(self) -> int:
        """The height of a thumbnail's box (its width is `thumb_size`)."""
        return round(self.thumb_size * BOX_ASPECT)

    def cell_size(self, metrics: QFontMetrics) -> QSize:
        """The size of every cell (the grid's items are uniform)."""
        pad = self.padding(metrics)
        return QSize(self.thumb_size + 2 * pad, self.box_height + metrics.height() + 3 * pad)

    def cell_rect(self, item: QRect, metrics: QFontMetrics) -> QRect:
        """The cell painted in an item's rectangle: centred in its share of the row, the
        row gap below it."""
        cell = self.cell_size(metrics)
        return QRect(item.x() + (item.width() - cell.width()) // 2, item.y(), cell.width(),
                     cell.height())

    def thumbnail_rect(self, cell: QRect, metrics: QFontMetrics) -> QRect:
        """The thumbnail's box in a cell painted at `cell` (the cell's own rectangle)."""
        pad = self.padding(metrics)
        return QRect(cell.x() + pad, cell.y() + pad, self.thumb_size, self.box_height)

    @staticmethod
    def pixmap_rect(box: QRect, size: QSize) -> QRect:
        """Where a picture of `size` is drawn in a thumbnail's box: as large as fits,
        centred across, sitting on the caption (a row of photos shares one baseline)."""
        scaled = size.scaled(box.size(), Qt.AspectRatioMode.KeepAspectRatio)
        return QRect(box.x() + (box.width() - scaled.width()) // 2,
                     box.bottom() + 1 - scaled.height(), scaled.width(), scaled.height())

    def sizeHint(self, option: QStyleOptionViewItem, index: AnyIndex) -> QSize:
        level = index.data(HeaderRole)
        if level:
            metrics = QFontMetrics(header_font(option.font, level))
            lead = 1.4 if level == "year" else 1.0  # a year stands further apart
            return QSize(max(1, self.row_width), round(metrics.height() * (1 + lead)))
        cell = self.cell_size(option.fontMetrics)
        return QSize(max(cell.width(), self.column_width), cell.height() + self.gap)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem,
              index: QModelIndex | QPersistentModelIndex) -> None:
        level = index.data(HeaderRole)
        if level:
            self._paint_header(painter, option, index, level)
            return
        option = QStyleOptionViewItem(option)
        option.rect = self.cell_rect(option.rect, option.fontMetrics)
        opt = self.begin_paint(painter, option, index)
        pad = self.padding(opt.fontMetrics)
        cell = opt.rect
        thumb = self.thumbnail_rect(cell, opt.fontMetrics)
        status = index.data(StatusRole) or "ok"
        pixmap = index.data(Qt.ItemDataRole.DecorationRole)
        if isinstance(pixmap, QPixmap) and not pixmap.isNull():
            if status == "missing":  # an old picture of a file that is gone: shown faded
                painter.setOpacity(0.45)
            self._paint_pixmap(painter, thumb, pixmap)
            painter.setOpacity(1.0)
        else:
            unavailable = bool(index.data(ThumbnailUnavailableRole))
            self._paint_placeholder(painter, thumb, opt.palette, status, unavailable)
        if status in BADGE_COLOURS:
            self._paint_badge(painter, thumb, opt.font, status)
        self._paint_caption(painter, opt, cell, thumb, pad, index)
        painter.restore()

    def _paint_pixmap(self, painter: QPainter, box: QRect, pixmap: QPixmap) -> None:
        painter.drawPixmap(self.pixmap_rect(box, pixmap.size()), pixmap)

    def _paint_placeholder(self, painter: QPainter, box: QRect, palette: QPalette,
                           status: str, unavailable: bool) -> None:
        base = palette.color(QPalette.ColorRole.Base)
        text = palette.color(QPalette.ColorRole.Text)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(blend(base, text, 0.07))
        radius = max(4.0, box.width() / 40)
        painter.drawRoundedRect(QRectF(box), radius, radius)
        words = PLACEHOLDER_WORDS.get(status) or ("No preview" if unavailable else "")
        if words:
            painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(box, Qt.AlignmentFlag.AlignCenter, words)

    def _paint_badge(self, painter: QPainter, box: QRect, font: QFont, status: str) -> None:
        bold = QFont(font)
        bold.setBold(True)
        diameter = int(QFontMetrics(bold).height() * 1.3)
        inset = max(4, diameter // 4)
        badge = QRect(box.right() - diameter - inset + 1, box.top() + inset, diameter, diameter)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(BADGE_COLOURS[status])
        painter.drawEllipse(badge)
        painter.setPen(QColor(Qt.GlobalColor.white))
        painter.setFont(bold)
        painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, BADGE_GLYPHS[status])

    def _paint_caption(self, painter: QPainter, opt: QStyleOptionViewItem, cell: QRect,
                       thumb: QRect, pad: int, index: QModelIndex | QPersistentModelIndex) -> None:
        name = str(index.data(Qt.ItemDataRole.DisplayRole) or "")
        text_rect = QRect(cell.x() + pad, thumb.bottom() + pad, cell.width() - 2 * pad,
                          opt.fontMetrics.height())
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        painter.setPen(opt.palette.color(role))
        painter.setFont(opt.font)
        elided = opt.fontMetrics.elidedText(name, Qt.TextElideMode.ElideMiddle, text_rect.width())
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignVCenter,
                         elided)

    def _paint_header(self, painter: QPainter, option: QStyleOptionViewItem, index: AnyIndex,
                      level: str) -> None:
        painter.save()
        font = header_font(option.font, level)
        metrics = QFontMetrics(font)
        pad = self.padding(option.fontMetrics)
        # The text sits on the bottom of its row, near the photos it heads.
        text_rect = QRect(option.rect.x() + pad, option.rect.bottom() + 1 - metrics.height()
                          - pad // 2, option.rect.width() - 2 * pad, metrics.height())
        # A header is no item to select (the view paints it as disabled): its colours are
        # those of the page's active text.
        palette = option.palette
        active = QPalette.ColorGroup.Active
        colour = palette.color(active, QPalette.ColorRole.Text)
        base = palette.color(active, QPalette.ColorRole.Base)
        if level == "month":
            colour = blend(colour, base, 0.3)
        painter.setPen(colour)
        painter.setFont(font)
        text = str(index.data(Qt.ItemDataRole.DisplayRole) or "")
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter,
                         metrics.elidedText(text, Qt.TextElideMode.ElideRight,
                                            text_rect.width()))
        if level == "year":  # a hairline under the year, across the grid
            painter.setPen(blend(base, colour, 0.18))
            y = option.rect.bottom()
            painter.drawLine(option.rect.x() + pad, y, option.rect.right() - pad, y)
        painter.restore()
