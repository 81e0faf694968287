"""The Restore page's photo: before and after around a divider, its faces boxed and labelled
with who they are, the zoom tools, and a line about the photo and its result."""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QToolButton, QVBoxLayout, QWidget

from core.restore.report import FaceResult
from idfsr_desktop.before_after_widget import BeforeAfterWidget, FaceMark
from idfsr_desktop.restore_controller import QueuedPhoto
from idfsr_desktop.restore_words import confidence_words, outcome_text, person_name
from idfsr_desktop.theme import secondary_text


def face_label(photo: QueuedPhoto, face: FaceResult, names: dict[int, str]) -> str:
    """Who a face's box is: the person and how sure ('?': a small face), or 'no one'."""
    m = face.match
    if face.number in photo.choices:
        chosen = photo.choices[face.number]
        return "no one" if chosen is None else person_name(chosen, names)
    if m.person_id is None:
        return "?"  # not matched: the generic path unless the user says who it is
    text = person_name(m.person_id, names, m.name)
    if m.source == "user":
        return text
    return f"{text} ({confidence_words(m.confidence)})" + (" ?" if m.weak_evidence else "")


def photo_text(photo: QueuedPhoto) -> str:
    """The line under the photo: its path, size, result and export."""
    parts = [str(photo.path)]
    found = photo.found
    if found is not None and found.width:
        parts.append(f"{found.width}\u00a0×\u00a0{found.height}\u00a0px")  # kept on one line
    if photo.result is not None and photo.result.output:
        parts.append(f"restored {photo.result.scale:g}× in {photo.result.seconds:.1f} s")
    if photo.exported:
        parts.append(f"saved as {photo.exported[-1]}")
    elif photo.status in ("unchanged", "no_faces"):
        parts.append(outcome_text(photo.result or photo.found, photo.status, photo.message))
    elif photo.message:
        parts.append(photo.message)
    return " · ".join(parts)


def _tool(text: str, tip: str) -> QToolButton:
    # Tool buttons, not push buttons: a style's minimum push-button width would hold the whole
    # page (and window) wider than a small screen.
    button = QToolButton()
    button.setText(text)
    button.setToolTip(tip)
    return button


class RestoreViewerWidget(QWidget):
    """The current photo before and after, with its faces; `view` draws it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = BeforeAfterWidget()
        self.show_faces_box = QCheckBox("Show &faces")
        self.show_faces_box.setChecked(True)
        self.show_faces_box.toggled.connect(self._on_show_faces)
        self.fit_button = _tool("Fit", "The whole photo (double-click the photo)")
        self.fit_button.clicked.connect(self.view.reset_view)
        self.zoom_out_button = _tool("−", "Zoom out")
        self.zoom_out_button.clicked.connect(lambda: self.view.set_zoom(self.view.zoom / 1.5))
        self.zoom_in_button = _tool("+", "Zoom in")
        self.zoom_in_button.clicked.connect(lambda: self.view.set_zoom(self.view.zoom * 1.5))
        self.zoom_label = QLabel("100%")
        self.view.zoom_changed.connect(lambda z: self.zoom_label.setText(f"{z:.0%}"))
        tools = QHBoxLayout()
        tools.addWidget(self.show_faces_box)
        tools.addStretch(1)
        for widget in (self.zoom_out_button, self.zoom_label, self.zoom_in_button,
                       self.fit_button):
            tools.addWidget(widget)
        self.photo_label = QLabel()
        self.photo_label.setWordWrap(True)
        secondary_text(self.photo_label)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.view, 1)
        column.addLayout(tools)
        column.addWidget(self.photo_label)

    def show_photo(self, photo: QueuedPhoto | None, names: dict[int, str]) -> None:
        """Show `photo` (None: nothing), its faces labelled with `names` (person id: label)."""
        if photo is None:
            self.view.set_images(None, None)
            self.view.set_marks([])
            return
        self.view.set_images(photo.before, photo.after)
        self.view.set_marks([FaceMark(f.number, f.box, face_label(photo, f, names),
                                      f.match.weak_evidence) for f in photo.faces])
        self.photo_label.setText(photo_text(photo))

    def _on_show_faces(self, shown: bool) -> None:
        self.view.show_marks = shown
        self.view.update()
