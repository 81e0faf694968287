"""Paints one person card (cover face, name, photo count, fitted state) and edits its name."""

from __future__ import annotations

from PySide6.QtCore import (
    QAbstractItemModel,
    QModelIndex,
    QPersistentModelIndex,
    QRect,
    QRectF,
    QSize,
    Qt,
)
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import (
    QLineEdit,
    QStyle,
    QStyleOptionViewItem,
    QWidget,
)

from core.jobs import JobState
from core.people.service import PersonInfo
from idfsr_desktop.face_item_delegate import paint_face_pixmap
from idfsr_desktop.fit_controller import FitState
from idfsr_desktop.person_list_model import (
    CoverUnavailableRole,
    FitStateRole,
    FittedRole,
    PersonRole,
    person_details,
)
from idfsr_desktop.theme import error_colour, success_colour
from idfsr_desktop.thumbnail_cell_delegate import ThumbnailCellDelegate

AnyIndex = QModelIndex | QPersistentModelIndex
TEXT_LINES = 3  # name, photos, fitting: every card has room for all three


class PersonCardDelegate(ThumbnailCellDelegate):
    """A person's card: cover face, name, photo count and fitting state."""

    def cell_size(self, metrics: QFontMetrics) -> QSize:
        """The size of every card."""
        pad = self.padding(metrics)
        return QSize(self.thumb_size + 2 * pad,
                     self.thumb_size + 2 * pad + TEXT_LINES * metrics.height() + pad // 2)

    def _cover_rect(self, cell: QRect, metrics: QFontMetrics) -> QRect:
        pad = self.padding(metrics)
        return QRect(cell.x() + pad, cell.y() + pad, self.thumb_size, self.thumb_size)

    def _line_rect(self, cell: QRect, metrics: QFontMetrics, line: int) -> QRect:
        pad = self.padding(metrics)
        top = cell.y() + 2 * pad + self.thumb_size - pad // 2 + line * metrics.height()
        return QRect(cell.x() + pad // 2, top, cell.width() - pad, metrics.height())

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: AnyIndex) -> None:
        person = index.data(PersonRole)
        if not isinstance(person, PersonInfo):
            return
        opt = self.begin_paint(painter, option, index)
        metrics = opt.fontMetrics
        cover = self._cover_rect(opt.rect, metrics)
        pixmap = index.data(Qt.ItemDataRole.DecorationRole)
        if person.hidden:
            painter.setOpacity(0.45)
        paint_face_pixmap(painter, cover, pixmap if isinstance(pixmap, QPixmap) else None,
                          opt.palette, unavailable=bool(index.data(CoverUnavailableRole)))
        painter.setOpacity(1.0)
        state = index.data(FitStateRole)
        state = state if isinstance(state, FitState) else None
        if state is not None and state.active:
            self._paint_fit_band(painter, cover, opt, state)
        elif index.data(FittedRole):
            self._paint_fitted_badge(painter, cover, opt)
        self._paint_text(painter, opt, person, state, bool(index.data(FittedRole)))
        painter.restore()

    def _paint_text(self, painter: QPainter, opt: QStyleOptionViewItem, person: PersonInfo,
                    state: FitState | None, fitted: bool) -> None:
        metrics = opt.fontMetrics
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        text_role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        text = opt.palette.color(text_role)
        dim = QColor(text)
        dim.setAlphaF(0.7)
        centre = Qt.AlignmentFlag.AlignCenter
        bold = QFont(opt.font)
        bold.setBold(True)
        painter.setFont(bold)
        painter.setPen(text if person.name else dim)
        name_rect = self._line_rect(opt.rect, metrics, 0)
        name = person.name or "Add a name"
        painter.drawText(name_rect, centre, QFontMetrics(bold).elidedText(
            name, Qt.TextElideMode.ElideRight, name_rect.width()))
        painter.setFont(opt.font)
        painter.setPen(dim)
        details = person_details(person) + (" · hidden" if person.hidden else "")
        line = self._line_rect(opt.rect, metrics, 1)
        painter.drawText(line, centre, metrics.elidedText(details, Qt.TextElideMode.ElideRight,
                                                          line.width()))
        fit_line, colour = "", dim
        if state is not None and state.status == JobState.FAILED:
            fit_line, colour = "Fitting failed", error_colour(opt.palette)
        elif state is not None and state.outcome is not None:
            fit_line = state.result_text().replace("ID similarity", "ID")
        elif fitted:
            fit_line = "Identity fitted"
        if fit_line:
            if colour is dim and not selected:
                colour = success_colour(opt.palette)
            painter.setPen(colour)
            line = self._line_rect(opt.rect, metrics, 2)
            painter.drawText(line, centre, metrics.elidedText(
                fit_line, Qt.TextElideMode.ElideRight, line.width()))

    def _paint_fitted_badge(self, painter: QPainter, cover: QRect,
                            opt: QStyleOptionViewItem) -> None:
        side = int(opt.fontMetrics.height() * 1.4)
        badge = QRect(cover.right() - side - 4, cover.top() + 5, side, side)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(success_colour(QPalette()))  # a fixed green on the photo
        painter.drawEllipse(badge)
        painter.setPen(QColor(Qt.GlobalColor.white))
        bold = QFont(opt.font)
        bold.setBold(True)
        painter.setFont(bold)
        painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, "✓")
        painter.setFont(opt.font)

    def _paint_fit_band(self, painter: QPainter, cover: QRect, opt: QStyleOptionViewItem,
                        state: FitState) -> None:
        """A dark band across the bottom of the cover: what the fit is doing, and a bar."""
        metrics = opt.fontMetrics
        height = int(metrics.height() * 1.9)
        band = QRect(cover.x(), cover.bottom() + 1 - height, cover.width(), height)
        painter.save()
        painter.setClipRect(band)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(0, 0, 0, 165))
        radius = max(4.0, cover.width() / 14)
        painter.drawRoundedRect(QRectF(cover), radius, radius)
        painter.restore()
        fraction = state.fraction
        words = "Queued" if state.status == JobState.QUEUED else (
            f"Fitting {fraction:.0%}" if fraction is not None else "Fitting…")
        painter.setPen(QColor(Qt.GlobalColor.white))
        text_rect = QRect(band.x(), band.y() + 2, band.width(), metrics.height())
        painter.drawText(text_rect, Qt.AlignmentFlag.AlignCenter, words)
        if state.status == JobState.RUNNING:
            inset = max(6, cover.width() // 12)
            track = QRectF(band.x() + inset, band.bottom() - metrics.height() // 2 - 2,
                           band.width() - 2 * inset, max(3, metrics.height() // 5))
            painter.setBrush(QColor(255, 255, 255, 70))
            painter.drawRoundedRect(track, 2, 2)
            if fraction is not None:
                done = QRectF(track)
                done.setWidth(track.width() * fraction)
                painter.setBrush(opt.palette.color(QPalette.ColorRole.Highlight))
                painter.drawRoundedRect(done, 2, 2)

    # ---- inline rename ---------------------------------------------------------------------

    def createEditor(self, parent: QWidget, option: QStyleOptionViewItem,
                     index: AnyIndex) -> QWidget:
        editor = QLineEdit(parent)
        editor.setPlaceholderText("Name")
        editor.setAlignment(Qt.AlignmentFlag.AlignCenter)
        editor.setAccessibleName("Person's name")
        return editor

    def setEditorData(self, editor: QWidget, index: AnyIndex) -> None:
        if isinstance(editor, QLineEdit):
            editor.setText(str(index.data(Qt.ItemDataRole.EditRole) or ""))
            editor.selectAll()

    def setModelData(self, editor: QWidget, model: QAbstractItemModel, index: AnyIndex) -> None:
        if isinstance(editor, QLineEdit):
            model.setData(index, editor.text(), Qt.ItemDataRole.EditRole)

    def updateEditorGeometry(self, editor: QWidget, option: QStyleOptionViewItem,
                             index: AnyIndex) -> None:
        line = self._line_rect(option.rect, option.fontMetrics, 0)
        height = max(editor.sizeHint().height(), line.height())
        editor.setGeometry(line.x(), line.center().y() - height // 2, line.width(), height)
