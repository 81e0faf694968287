"""A photo whose faces can be clicked (to name them) and where a missed face can be boxed."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QMouseEvent, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QWidget

from idfsr_desktop.before_after_widget import BeforeAfterWidget, FaceMark

MIN_DRAWN_PX = 8  # screen pixels: a smaller drag is a slip of the mouse, not a box


def faces_description(marks: list[FaceMark]) -> str:
    """What a screen reader says of the photo: its faces, who they are, the keys to name them."""
    if not marks:
        return "No faces found; Add a Missed Face draws one. Plus and minus zoom"
    keys = "press 1 to name it" if len(marks) == 1 else \
        f"press 1 to {min(len(marks), 9)} to name one"
    who = ", ".join(f"{m.number}: {m.label}" for m in marks)
    faces = "1 face" if len(marks) == 1 else f"{len(marks)} faces"
    return f"{faces} ({who}); {keys}. Plus and minus zoom"


class FacePhotoWidget(BeforeAfterWidget):
    """The viewer's photo: `face_clicked(number, global pos)` when a face box is clicked;
    in drawing mode a drag makes a box, `box_drawn((x0, y0, x1, y1))` in image pixels."""

    face_clicked = Signal(int, QPoint)
    box_drawn = Signal(tuple)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.drawing = False
        self._band: tuple[QPointF, QPointF] | None = None
        self.setAccessibleName("Photo with its faces")
        self.set_marks([])

    def set_marks(self, marks: list[FaceMark]) -> None:
        """The faces to draw; the description read out says how many and the keys to them."""
        super().set_marks(marks)
        self.setAccessibleDescription(faces_description(marks))

    def set_drawing(self, on: bool) -> None:
        """Whether a drag draws a face box (else it pans, and clicks pick faces)."""
        self.drawing = on
        self._band = None
        self.setCursor(Qt.CursorShape.CrossCursor if on else Qt.CursorShape.ArrowCursor)
        self.update()

    # ---- geometry -------------------------------------------------------------------------

    def mark_rect(self, mark: FaceMark) -> QRectF:
        """Where a face's box lies in widget coordinates."""
        rect = self.photo_rect()
        if rect.isEmpty():
            return QRectF()
        sx, sy = rect.width() / self.before.width(), rect.height() / self.before.height()
        x0, y0, x1, y1 = mark.box
        return QRectF(rect.left() + x0 * sx, rect.top() + y0 * sy, (x1 - x0) * sx,
                      (y1 - y0) * sy)

    def mark_at(self, pos: QPointF) -> FaceMark | None:
        """The face under a point (the smallest, where boxes overlap)."""
        hits = [m for m in self.marks if self.mark_rect(m).contains(pos)]
        return min(hits, key=lambda m: self.mark_rect(m).width(), default=None)

    def to_image(self, pos: QPointF) -> tuple[float, float]:
        """A widget point in image pixels (clamped to the image)."""
        rect = self.photo_rect()
        x = (pos.x() - rect.left()) / rect.width() * self.before.width()
        y = (pos.y() - rect.top()) / rect.height() * self.before.height()
        return (min(max(x, 0.0), float(self.before.width())),
                min(max(y, 0.0), float(self.before.height())))

    # ---- interaction ----------------------------------------------------------------------

    def mousePressEvent(self, event: QMouseEvent) -> None:
        pos = event.position()
        left = event.button() == Qt.MouseButton.LeftButton
        if left and self.drawing and not self.before.isNull():
            self._band = (pos, pos)
            event.accept()
            return
        mark = self.mark_at(pos) if left and self.show_marks else None
        if mark is not None:
            self.selected_face = mark.number
            self.update()
            self.face_clicked.emit(mark.number, event.globalPosition().toPoint())
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._band is not None:
            self._band = (self._band[0], event.position())
            self.update()
            return
        if self.show_marks and not self.drawing and self.mark_at(event.position()) is not None:
            self.setCursor(Qt.CursorShape.PointingHandCursor)
        elif not self.drawing:
            self.setCursor(Qt.CursorShape.ArrowCursor)
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        band, self._band = self._band, None
        if band is None:
            super().mouseReleaseEvent(event)
            return
        self.update()
        a, b = band[0], event.position()
        if abs(a.x() - b.x()) < MIN_DRAWN_PX or abs(a.y() - b.y()) < MIN_DRAWN_PX:
            return
        (x0, y0), (x1, y1) = self.to_image(a), self.to_image(b)
        self.box_drawn.emit((min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)))

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:
        if not self.drawing:
            super().mouseDoubleClickEvent(event)

    def paintEvent(self, event: QPaintEvent) -> None:
        super().paintEvent(event)
        if self._band is None:
            return
        painter = QPainter(self)
        box = QRectF(self._band[0], self._band[1]).normalized()
        painter.fillRect(box, QColor(255, 255, 255, 40))
        painter.setPen(QPen(QColor(255, 255, 255), 1.5, Qt.PenStyle.DashLine))
        painter.drawRect(box)
        painter.end()
