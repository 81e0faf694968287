"""A library photo shown large, with its faces boxed and named; previous/next walk the
photos of the grid (as filtered). The photo and its faces are read in the background.
Clicking a face names it (or moves it, or says who it is not); in "Add a missed face" mode
a box dragged around a face the detector missed makes it a face like any other."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path, PurePath

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtGui import QImage, QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from core.context import AppContext
from core.errors import IdfsrError
from core.faces.backends import face_backend
from core.faces.scan import MANUAL
from core.faces.service import get_face
from core.jobs import CancelToken, ProgressCallback
from core.library.browse import PhotoFace, photo_faces
from core.library.service import PhotoInfo
from core.people.manual import add_manual_face
from core.people.service import list_people
from idfsr_desktop.before_after_widget import FaceMark
from idfsr_desktop.face_name_menu import FaceNameMenu
from idfsr_desktop.face_photo_widget import FacePhotoWidget
from idfsr_desktop.people_editor import PeopleEditor
from idfsr_desktop.person_list_model import display_name
from idfsr_desktop.photo_list_model import PhotoListModel
from idfsr_desktop.restore_controller import read_image
from idfsr_desktop.task_runner import TaskRunner
from idfsr_desktop.theme import secondary_text

UNKNOWN = "?"  # the label of a face nobody is assigned to yet
UNNAMED = "Unnamed"  # the label of a face of a person with no name yet


@dataclass(frozen=True)
class LoadedPhoto:
    """A photo read for the viewer: the picture (at most 4096 px) and its faces."""

    photo_id: int
    image: QImage
    faces: list[PhotoFace]


def _load_job(ctx: AppContext, photo: PhotoInfo, *, progress: ProgressCallback,
              cancel: CancelToken) -> LoadedPhoto:
    return LoadedPhoto(photo.id, read_image(photo.path), photo_faces(ctx, photo.id))


def face_marks(loaded: LoadedPhoto, photo: PhotoInfo) -> list[FaceMark]:
    """The faces as marks over the shown picture (boxes scaled to its size)."""
    scale = loaded.image.width() / photo.width if photo.width else 1.0
    marks = []
    for n, face in enumerate(loaded.faces, start=1):
        x0, y0, x1, y1 = face.box
        label = face.name or (UNNAMED if face.person_id is not None else UNKNOWN)
        marks.append(FaceMark(n, (x0 * scale, y0 * scale, x1 * scale, y1 * scale), label))
    return marks


class PhotoViewerDialog(QDialog):
    """One photo at a time from the Library page's model; `row_changed` as it moves."""

    row_changed = Signal(int)
    restore_requested = Signal(list)  # [Path]

    def __init__(self, ctx: AppContext, model: PhotoListModel, runner: TaskRunner | None = None,
                 parent: QWidget | None = None, editor: PeopleEditor | None = None) -> None:
        super().__init__(parent)
        self._ctx, self.model, self._runner = ctx, model, runner
        self.editor = editor if editor is not None else PeopleEditor(ctx, self)
        self.row = -1
        self.loaded: LoadedPhoto | None = None
        self.menu: FaceNameMenu | None = None
        self.setWindowTitle("Photo")
        self.view = FacePhotoWidget()
        self.view.setToolTip("Click a face, or press its number, to name it")
        self.view.face_clicked.connect(self._on_face_clicked)
        self.view.box_drawn.connect(self._on_box_drawn)
        self.editor.changed.connect(self.reload_faces)
        self.add_face_button = QPushButton("&Add a Missed Face")
        self.add_face_button.setCheckable(True)
        self.add_face_button.setToolTip("Drag a box around a face that has no outline: it "
                                        "becomes a face you can name (Esc: stop)")
        self.add_face_button.toggled.connect(self._on_add_face_toggled)
        self.name_label = QLabel()
        self.detail_label = QLabel()
        self.detail_label.setWordWrap(True)
        secondary_text(self.detail_label)
        self.show_faces_box = QCheckBox("Show &faces")
        self.show_faces_box.setChecked(True)
        self.show_faces_box.toggled.connect(self._on_show_faces)
        self.previous_button = QPushButton("◀ &Previous")
        self.previous_button.setToolTip("The photo before this one (Left arrow)")
        self.previous_button.clicked.connect(self.show_previous)
        self.next_button = QPushButton("&Next ▶")
        self.next_button.setToolTip("The photo after this one (Right arrow)")
        self.next_button.clicked.connect(self.show_next)
        self.restore_button = QPushButton("&Restore This Photo")
        self.restore_button.clicked.connect(self._restore)
        for key, slot in ((Qt.Key.Key_Left, self.show_previous),
                          (Qt.Key.Key_Right, self.show_next),
                          (Qt.Key.Key_PageUp, self.show_previous),
                          (Qt.Key.Key_PageDown, self.show_next)):
            QShortcut(QKeySequence(key), self, slot)

        bottom = QHBoxLayout()
        bottom.addWidget(self.show_faces_box)
        bottom.addWidget(self.add_face_button)
        bottom.addStretch(1)
        bottom.addWidget(self.restore_button)
        bottom.addWidget(self.previous_button)
        bottom.addWidget(self.next_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.name_label)
        layout.addWidget(self.view, 1)
        layout.addWidget(self.detail_label)
        layout.addLayout(bottom)
        em = self.fontMetrics().height()
        self.resize(em * 60, em * 42)

    def photo(self) -> PhotoInfo | None:
        """The photo shown (None before the first)."""
        return self.model.photo(self.row) if 0 <= self.row < self.model.rowCount() else None

    def show_row(self, row: int) -> None:
        """Show the model's photo at `row` (its picture and faces follow from the background)."""
        if not 0 <= row < self.model.rowCount():
            return
        self.row = row
        photo = self.model.photo(row)
        self.loaded = None
        self.view.set_images(None, None)
        self.view.set_marks([])
        name = PurePath(photo.path).name
        self.setWindowTitle(name)
        self.name_label.setText(f"<b>{name}</b> · {self._position()}")
        self.detail_label.setText(self._details(photo, None))
        self._update_buttons()
        self.row_changed.emit(row)
        if photo.status != "ok":
            return
        job = functools.partial(_load_job, self._ctx, photo)
        if self._runner is None:
            self._on_loaded(job(progress=lambda _: None, cancel=CancelToken()))
        else:
            self._runner.submit(job, title=f"Opening {name}", listed=False,
                                on_finished=self._on_loaded)

    def show_next(self) -> None:
        """The next photo of the grid (fetching more rows when at the end of those fetched)."""
        if self.row + 1 >= self.model.rowCount() and self.model.canFetchMore():
            self.model.fetchMore()
        self.show_row(self.row + 1)

    def show_previous(self) -> None:
        """The photo before."""
        self.show_row(self.row - 1)

    def _on_loaded(self, loaded: LoadedPhoto) -> None:
        photo = self.photo()
        if photo is None or photo.id != loaded.photo_id:
            return  # the user has moved on meanwhile
        self.loaded = loaded
        if loaded.image.isNull():
            self.detail_label.setText(f"{photo.path}\nThe photo could not be read now.")
            return
        self.view.set_images(loaded.image, None)
        self.view.set_marks(face_marks(loaded, photo))
        self.detail_label.setText(self._details(photo, loaded))

    def _position(self) -> str:
        more = "+" if self.model.canFetchMore() else ""
        return f"{self.row + 1:,} of {self.model.rowCount():,}{more}"

    @staticmethod
    def _details(photo: PhotoInfo, loaded: LoadedPhoto | None) -> str:
        parts = [photo.path]
        if photo.status == "error":
            parts.append(f"unreadable: {photo.error or 'unknown reason'}")
        elif photo.status == "missing":
            parts.append("missing: the file is no longer on disk")
        if photo.width and photo.height:
            parts.append(f"{photo.width} × {photo.height}")
        if photo.captured_at is not None:
            parts.append(f"taken {photo.captured_at:%Y-%m-%d}")
        if loaded is not None:
            named = sorted({f.name for f in loaded.faces if f.name})
            count = len(loaded.faces)
            faces = f"{count} face{'s' if count != 1 else ''}" if count else "no faces"
            parts.append(faces + (f": {', '.join(named)}" if named else ""))
        return " · ".join(parts)

    def _update_buttons(self) -> None:
        self.previous_button.setEnabled(self.row > 0)
        self.next_button.setEnabled(self.row + 1 < self.model.rowCount()
                                    or self.model.canFetchMore())
        photo = self.photo()
        self.restore_button.setEnabled(photo is not None and photo.status == "ok")

    def _on_show_faces(self, shown: bool) -> None:
        self.view.show_marks = shown
        self.view.update()

    def _restore(self) -> None:
        photo = self.photo()
        if photo is not None and photo.status == "ok":
            self.restore_requested.emit([Path(photo.path)])
            self.accept()  # the Restore page takes over

    # ---- naming faces ---------------------------------------------------------------------

    def face(self, number: int) -> PhotoFace | None:
        """The shown photo's face with this mark number (1 = leftmost)."""
        if self.loaded is None or not 1 <= number <= len(self.loaded.faces):
            return None
        return self.loaded.faces[number - 1]

    def reload_faces(self) -> None:
        """Re-read the faces of the photo shown (after an edit here or elsewhere)."""
        photo = self.photo()
        if self.loaded is None or photo is None or photo.id != self.loaded.photo_id:
            return
        self.loaded = LoadedPhoto(photo.id, self.loaded.image, photo_faces(self._ctx, photo.id))
        self.view.set_marks(face_marks(self.loaded, photo))
        self.detail_label.setText(self._details(photo, self.loaded))

    def open_face_menu(self, number: int, at: QPoint | None = None) -> FaceNameMenu | None:
        """The naming menu of one face (also what a click on the face opens)."""
        face = self.face(number)
        if face is None:
            return None
        drawn = get_face(self._ctx, face.face_id).detector == MANUAL
        menu = FaceNameMenu(face, list_people(self._ctx, include_hidden=True, best=1), self,
                            drawn=drawn)
        menu.remove.connect(lambda: self.editor.remove_drawn_face(face.face_id))
        menu.name_typed.connect(lambda name: self.name_face(face, name))
        menu.person_chosen.connect(lambda pid: self._place(face, pid))
        menu.not_this_person.connect(lambda: self._reject(face))
        menu.nobody.connect(lambda: self.editor.unassign([face.face_id]))
        menu.aboutToHide.connect(functools.partial(self._menu_closed, menu))
        self.menu = menu
        if at is None:
            mark = next((m for m in self.view.marks if m.number == number), None)
            rect = self.view.mark_rect(mark) if mark is not None else None
            at = self.view.mapToGlobal(rect.bottomLeft().toPoint() if rect else QPoint())
        menu.popup(at)
        return menu

    def _menu_closed(self, menu: FaceNameMenu) -> None:
        if self.menu is menu:
            self.menu = None
        menu.deleteLater()  # after its triggered action has run

    def name_face(self, face: PhotoFace, name: str) -> bool:
        """Give a face a name: the person so named (or a new one); a face of an unnamed
        person names that person."""
        clean = name.strip()
        if not clean:
            return False
        people = list_people(self._ctx, include_hidden=True, best=1)
        same = [p for p in people if p.name and p.name.casefold() == clean.casefold()]
        if same:
            return self._place(face, same[0].id)
        if face.person_id is not None and not face.name:
            return self.editor.rename(face.person_id, clean)
        return self.editor.new_person([face.face_id], clean) is not None

    def _place(self, face: PhotoFace, person_id: int) -> bool:
        if face.person_id == person_id:
            return self.editor.confirm([face.face_id], person_id)
        people = {p.id: p for p in list_people(self._ctx, include_hidden=True, best=1)}
        label = display_name(people[person_id]) if person_id in people else ""
        return self.editor.move([face.face_id], person_id, label)

    def _reject(self, face: PhotoFace) -> bool:
        return face.person_id is not None and self.editor.reject([face.face_id], face.person_id)

    def _on_face_clicked(self, number: int, at: QPoint) -> None:
        self.open_face_menu(number, at)

    # ---- faces the detector missed ----------------------------------------------------------

    def _on_add_face_toggled(self, on: bool) -> None:
        self.view.set_drawing(on)
        if on:
            self.show_faces_box.setChecked(True)
            self.detail_label.setText("Drag a box around the face that has no outline.")
        elif (photo := self.photo()) is not None:
            self.detail_label.setText(self._details(photo, self.loaded))

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape and self.add_face_button.isChecked():
            self.add_face_button.setChecked(False)  # Esc leaves drawing, not the dialog
            return
        number = event.key() - Qt.Key.Key_0  # the number on a face's outline opens its menu
        plain = not event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier
        if plain and 1 <= number <= 9 and self.open_face_menu(number) is not None:
            return
        super().keyPressEvent(event)

    def _on_box_drawn(self, box: tuple[float, float, float, float]) -> None:
        photo, loaded = self.photo(), self.loaded
        if photo is None or loaded is None or loaded.image.isNull():
            return
        self.add_face_button.setChecked(False)
        scale = loaded.image.width() / photo.width if photo.width else 1.0
        x0, y0, x1, y1 = (v / scale for v in box)
        ctx, photo_id = self._ctx, photo.id

        def job(*, progress: ProgressCallback, cancel: CancelToken) -> int:
            return add_manual_face(ctx, face_backend(ctx), photo_id, (x0, y0, x1, y1))

        def failed(message: str) -> None:
            self.editor.failed.emit("Cannot add the face", message)

        if self._runner is None:
            try:
                self._on_face_added(photo_id, job(progress=lambda _: None, cancel=CancelToken()))
            except IdfsrError as exc:
                failed(str(exc))
        else:
            self._runner.submit(job, title="Adding a face", listed=False,
                                on_finished=lambda face_id: self._on_face_added(photo_id, face_id),
                                on_failed=failed)

    def _on_face_added(self, photo_id: int, face_id: int) -> None:
        self.editor.changed.emit()  # every view of faces re-reads; this one too
        self.editor.done.emit("Face added: name it, or leave it with the unassigned faces.")
        if self.loaded is None or self.loaded.photo_id != photo_id:
            return
        number = next((n for n, f in enumerate(self.loaded.faces, start=1)
                       if f.face_id == face_id), None)
        if number is not None:
            self.open_face_menu(number)
