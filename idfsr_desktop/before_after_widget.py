"""A photo before and after restoring, split by a divider the user drags (or moves with the
arrow keys); zoom and pan; the faces boxed with a number badge each, placed so that no two
badges overlap (the names are in the faces table beside it)."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QImage,
    QKeyEvent,
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
KEY_STEP, KEY_PAGE_STEP = 0.02, 0.1  # the divider's move per arrow key (with Shift: more)


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
    face_clicked = Signal(int)  # a face's number badge was clicked

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
        self.setAccessibleDescription("The left and right arrow keys move the divider between "
                                      "before and after; plus and minus zoom")

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

    def face_rect(self, mark: FaceMark, rect: QRectF | None = None) -> QRectF:
        """A face's box in widget coordinates."""
        rect = rect if rect is not None else self.photo_rect()
        sx = rect.width() / self.before.width()
        sy = rect.height() / self.before.height()
        x0, y0, x1, y1 = mark.box
        return QRectF(rect.left() + x0 * sx, rect.top() + y0 * sy, (x1 - x0) * sx,
                      (y1 - y0) * sy)

    def badge_rects(self) -> dict[int, QRectF]:
        """Where each face's number badge goes: beside its box, the first of a few places that
        overlaps no badge placed before it (nor, if it can, another face), inside the view."""
        if self.before.isNull() or not self.marks:
            return {}
        rect = self.photo_rect()
        fm = self.fontMetrics()
        side = fm.height() + 4
        boxes = {m.number: self.face_rect(m, rect) for m in self.marks}
        view = QRectF(self.rect())
        placed: dict[int, QRectF] = {}
        for mark in self.marks:
            box = boxes[mark.number]
            width = max(side, fm.horizontalAdvance(str(mark.number)) + 8)
            spots = [QPointF(box.left(), box.top() - side - 1),  # above, left
                     QPointF(box.right() - width, box.top() - side - 1),  # above, right
                     QPointF(box.left(), box.bottom() + 1),  # below, left
                     QPointF(box.right() - width, box.bottom() + 1),  # below, right
                     QPointF(box.left() - width - 1, box.top()),  # left
                     QPointF(box.right() + 1, box.top()),  # right
                     QPointF(box.center().x() - width / 2, box.top() - side - 1)]
            # Farther out, above then below, for crowds of faces.
            for ring in range(1, 6):
                spots += [QPointF(box.left() + dx * width, box.top() - side - 1 - ring * side)
                          for dx in (0, -1, 1)]
                spots += [QPointF(box.left() + dx * width, box.bottom() + 1 + ring * side)
                          for dx in (0, -1, 1)]

            def cost(spot: QPointF, box: QRectF = box, width: float = width,
                     number: int = mark.number) -> float:
                tag = QRectF(spot.x(), spot.y(), width, side)
                area = tag.width() * tag.height()
                clash = sum(_overlap(tag, other) for other in placed.values())
                faces = sum(_overlap(tag, b) for n, b in boxes.items() if n != number)
                outside = area - _overlap(tag, view)
                return clash * 100 + outside * 10 + faces + _distance(tag, box) * 0.01

            best = min(spots, key=cost)
            placed[mark.number] = QRectF(best.x(), best.y(), width, side)
        return placed

    def _paint_marks(self, painter: QPainter, rect: QRectF) -> None:
        highlight = self.palette().color(QPalette.ColorRole.Highlight)
        badges = self.badge_rects()
        for mark in self.marks:
            box = self.face_rect(mark, rect)
            selected = mark.number == self.selected_face
            colour = highlight if selected else QColor(255, 214, 0)
            pen = QPen(colour, 2 if selected else 1.5)
            if mark.weak:
                pen.setStyle(Qt.PenStyle.DashLine)
            painter.setPen(pen)
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(box)
            tag = badges[mark.number]
            painter.setPen(QPen(colour, 1))
            painter.setBrush(highlight if selected else QColor(0, 0, 0, 190))
            painter.drawRoundedRect(tag, 4, 4)
            painter.setPen(QColor(255, 255, 255))
            painter.drawText(tag, Qt.AlignmentFlag.AlignCenter, str(mark.number))

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

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        step = KEY_PAGE_STEP if event.modifiers() & Qt.KeyboardModifier.ShiftModifier \
            else KEY_STEP
        if key in (Qt.Key.Key_Left, Qt.Key.Key_Right) and self.has_result():
            self.set_divider(self.divider + (step if key == Qt.Key.Key_Right else -step))
        elif key in (Qt.Key.Key_Home, Qt.Key.Key_End) and self.has_result():
            self.set_divider(0.0 if key == Qt.Key.Key_Home else 1.0)
        elif key in (Qt.Key.Key_Plus, Qt.Key.Key_Equal):
            self.set_zoom(self.zoom * WHEEL_STEP)
        elif key == Qt.Key.Key_Minus:
            self.set_zoom(self.zoom / WHEEL_STEP)
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    def badge_at(self, pos: QPointF) -> int | None:
        """The number of the face whose badge is at `pos`, if any."""
        if not self.show_marks:
            return None
        return next((n for n, tag in self.badge_rects().items() if tag.contains(pos)), None)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        badge = self.badge_at(pos) if event.button() == Qt.MouseButton.LeftButton else None
        if badge is not None:
            self.face_clicked.emit(badge)
        elif event.button() == Qt.MouseButton.LeftButton and self.has_result():
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
        else:
            badge = self.badge_at(pos)
            mark = next((m for m in self.marks if m.number == badge), None)
            self.setToolTip(f"Face {mark.number}: {mark.label}" if mark is not None else "")
            near = self.has_result() and abs(pos.x() - self.divider_x()) < \
                self.fontMetrics().height()
            self.setCursor(Qt.CursorShape.PointingHandCursor if mark is not None
                           else Qt.CursorShape.SplitHCursor if near
                           else Qt.CursorShape.ArrowCursor)
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


def _overlap(a: QRectF, b: QRectF) -> float:
    """The area two rectangles share."""
    both = a.intersected(b)
    return max(0.0, both.width()) * max(0.0, both.height())


def _distance(tag: QRectF, box: QRectF) -> float:
    """How far a badge is from its face (centre to centre)."""
    d = tag.center() - box.center()
    return float((d.x() ** 2 + d.y() ** 2) ** 0.5)
