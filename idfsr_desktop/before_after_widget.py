"""A photo before and after restoring, split by a divider the user drags; zoom and pan; the
faces drawn over it with their number, person and confidence."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QImage,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPalette,
    QPen,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

MIN_ZOOM, MAX_ZOOM = 1.0, 32.0  # relative to the photo fitted in the view
WHEEL_STEP = 1.25
FACE_MARGIN = 1.6  # zooming on a face shows this much around its box


@dataclass(frozen=True)
class FaceMark:
    """A face drawn over the photo: its box in photo pixels and its label."""

    number: int
    box: tuple[float, float, float, float]
    label: str
    weak: bool = False  # drawn dashed: the face is too small for strong evidence


class BeforeAfterWidget(QWidget):
    """Draws `before` left of the divider and `after` right of it, both over the same photo
    rectangle (the after image is larger; it is scaled to the same place)."""

    divider_moved = Signal(float)
    zoom_changed = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.before = QImage()
        self.after = QImage()
        self.marks: list[FaceMark] = []
        self.show_marks = True
        self.selected_face: int | None = None
        self.divider = 0.5  # fraction of the view's photo rectangle width
        self.zoom = 1.0
        self.centre = QPointF(0.5, 0.5)  # the photo point (as fractions) at the view's centre
        self._dragging: str | None = None  # "divider" or "pan"
        self._last = QPointF()
        self.setMinimumSize(QSize(240, 180))
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setAccessibleName("Photo before and after restoring")

    # ---- content --------------------------------------------------------------------------

    def set_images(self, before: QImage | None, after: QImage | None) -> None:
        """Show a photo (and its restored version, if any); keeps zoom while it is the same."""
        same = (before is not None and not self.before.isNull()
                and before.size() == self.before.size())
        self.before = before if before is not None else QImage()
        self.after = after if after is not None else QImage()
        if not same:
            self.reset_view()
        self.update()

    def set_marks(self, marks: list[FaceMark]) -> None:
        """The faces to draw over the photo."""
        self.marks = marks
        self.update()

    def has_result(self) -> bool:
        """Whether an after image is shown beside the before."""
        return not self.after.isNull()

    # ---- geometry -------------------------------------------------------------------------

    def photo_rect(self) -> QRectF:
        """Where the whole photo lies in widget coordinates at the current zoom and centre."""
        if self.before.isNull():
            return QRectF()
        w, h = self.before.width(), self.before.height()
        fit = min(self.width() / w, self.height() / h)
        scale = fit * self.zoom
        pw, ph = w * scale, h * scale
        x = self.width() / 2 - self.centre.x() * pw
        y = self.height() / 2 - self.centre.y() * ph
        return QRectF(x, y, pw, ph)

    def divider_x(self) -> float:
        """The divider's x in widget coordinates."""
        rect = self.visible_photo_rect()
        return rect.left() + self.divider * rect.width()

    def visible_photo_rect(self) -> QRectF:
        """The part of the widget the photo covers."""
        return self.photo_rect().intersected(QRectF(self.rect()))

    def set_divider(self, fraction: float) -> None:
        """Place the divider (0: all after, 1: all before)."""
        self.divider = min(1.0, max(0.0, fraction))
        self.divider_moved.emit(self.divider)
        self.update()

    def set_zoom(self, zoom: float, anchor: QPointF | None = None) -> None:
        """Zoom (1: the photo fits), keeping the photo point under `anchor` where it is."""
        zoom = min(MAX_ZOOM, max(MIN_ZOOM, zoom))
        rect = self.photo_rect()
        if anchor is not None and rect.width() > 0:
            fx = (anchor.x() - rect.left()) / rect.width()
            fy = (anchor.y() - rect.top()) / rect.height()
            ratio = zoom / self.zoom
            cx = fx + (self.centre.x() - fx) / ratio
            cy = fy + (self.centre.y() - fy) / ratio
            self.centre = QPointF(cx, cy)
        self.zoom = zoom
        self._clamp_centre()
        self.zoom_changed.emit(self.zoom)
        self.update()

    def zoom_to_face(self, number: int) -> None:
        """Zoom on one face (with room around it) and put the divider through it."""
        mark = next((m for m in self.marks if m.number == number), None)
        if mark is None or self.before.isNull():
            return
        x0, y0, x1, y1 = mark.box
        w, h = self.before.width(), self.before.height()
        side = max(x1 - x0, y1 - y0, 1.0) * FACE_MARGIN * 2  # photo pixels to show
        fit = min(self.width() / w, self.height() / h)
        self.selected_face = number
        self.centre = QPointF((x0 + x1) / 2 / w, (y0 + y1) / 2 / h)
        self.zoom = 1.0
        self.set_zoom(min(self.width(), self.height()) / (fit * side))
        self.set_divider(0.5)

    def reset_view(self) -> None:
        """The whole photo, divider in the middle."""
        self.zoom = 1.0
        self.centre = QPointF(0.5, 0.5)
        self.divider = 0.5
        self.selected_face = None
        self.zoom_changed.emit(self.zoom)
        self.update()

    def _clamp_centre(self) -> None:
        half = 0.5 / self.zoom
        self.centre = QPointF(min(1 - half, max(half, self.centre.x())),
                              min(1 - half, max(half, self.centre.y())))

    # ---- painting -------------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().color(QPalette.ColorRole.Base))
        if self.before.isNull():
            painter.end()
            return
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, self.zoom < 4)
        rect = self.photo_rect()
        if self.has_result():
            split = self.divider_x()
            left = QRectF(self.rect()).adjusted(0, 0, split - self.width(), 0)
            painter.save()
            painter.setClipRect(left)
            painter.drawImage(rect, self.before)
            painter.restore()
            painter.save()
            painter.setClipRect(QRectF(self.rect()).adjusted(split, 0, 0, 0))
            painter.drawImage(rect, self.after)
            painter.restore()
        else:
            painter.drawImage(rect, self.before)
        if self.show_marks:
            self._paint_marks(painter, rect)
        if self.has_result():
            self._paint_divider(painter)
        painter.end()

    def _paint_marks(self, painter: QPainter, rect: QRectF) -> None:
        sx = rect.width() / self.before.width()
        sy = rect.height() / self.before.height()
        highlight = self.palette().color(QPalette.ColorRole.Highlight)
        fm = painter.fontMetrics()
        for mark in self.marks:
            x0, y0, x1, y1 = mark.box
            box = QRectF(rect.left() + x0 * sx, rect.top() + y0 * sy, (x1 - x0) * sx,
                         (y1 - y0) * sy)
            colour = highlight if mark.number == self.selected_face else QColor(255, 214, 0)
            pen = QPen(colour, 2 if mark.number == self.selected_face else 1.5)
            if mark.weak:
                pen.setStyle(Qt.PenStyle.DashLine)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(box)
            text = f"{mark.number} · {mark.label}"
            tw, th = fm.horizontalAdvance(text) + 8, fm.height() + 2
            tag = QRectF(box.left(), box.top() - th - 1, tw, th)
            if tag.top() < 0:
                tag.moveTop(box.bottom() + 1)
            painter.fillRect(tag, QColor(0, 0, 0, 170))
            painter.setPen(QColor(255, 255, 255))
            painter.drawText(tag, Qt.AlignmentFlag.AlignCenter, text)

    def _paint_divider(self, painter: QPainter) -> None:
        x = self.divider_x()
        visible = self.visible_photo_rect()
        painter.setPen(QPen(QColor(255, 255, 255), 2))
        painter.drawLine(QPointF(x, visible.top()), QPointF(x, visible.bottom()))
        em = self.fontMetrics().height()
        knob = QRectF(x - em * 0.7, visible.center().y() - em * 0.7, em * 1.4, em * 1.4)
        painter.setBrush(QColor(255, 255, 255))
        painter.setPen(QPen(QColor(0, 0, 0, 120), 1))
        painter.drawEllipse(knob)
        painter.setPen(QColor(40, 40, 40))
        painter.drawText(knob, Qt.AlignmentFlag.AlignCenter, "⇆")
        fm = painter.fontMetrics()
        for text, right in (("Before", False), ("After", True)):
            tw = fm.horizontalAdvance(text) + em
            th = fm.height() + 4  # at the bottom: face labels sit above their boxes
            tag = QRectF(x + em * 0.5 if right else x - tw - em * 0.5,
                         visible.bottom() - th - em * 0.5, tw, th)
            painter.fillRect(tag, QColor(0, 0, 0, 150))
            painter.setPen(QColor(255, 255, 255))
            painter.drawText(tag, Qt.AlignmentFlag.AlignCenter, text)

    # ---- interaction ----------------------------------------------------------------------

    def mousePressEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        if event.button() == Qt.MouseButton.LeftButton and self.has_result():
            self._dragging = "divider"
            self._move_divider_to(pos.x())
        elif event.button() in (Qt.MouseButton.MiddleButton, Qt.MouseButton.RightButton,
                                Qt.MouseButton.LeftButton) and self.zoom > 1:
            self._dragging = "pan"
        self._last = pos
        event.accept()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        if self._dragging == "divider":
            self._move_divider_to(pos.x())
        elif self._dragging == "pan":
            rect = self.photo_rect()
            delta = pos - self._last
            self.centre = QPointF(self.centre.x() - delta.x() / rect.width(),
                                  self.centre.y() - delta.y() / rect.height())
            self._clamp_centre()
            self.update()
        elif self.has_result():
            near = abs(pos.x() - self.divider_x()) < self.fontMetrics().height()
            self.setCursor(Qt.CursorShape.SplitHCursor if near else Qt.CursorShape.ArrowCursor)
        self._last = pos

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        self._dragging = None

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        self.reset_view()

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120
        if steps:
            self.set_zoom(self.zoom * WHEEL_STEP ** steps, event.position())
        event.accept()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.update()

    def _move_divider_to(self, x: float) -> None:
        rect = self.visible_photo_rect()
        if rect.width() > 0:
            self.set_divider((x - rect.left()) / rect.width())
