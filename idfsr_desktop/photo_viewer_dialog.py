"""A library photo shown large, with its faces boxed and named; previous/next walk the
photos of the grid (as filtered). The photo and its faces are read in the background."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path, PurePath

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QKeySequence, QShortcut
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
from core.jobs import CancelToken, ProgressCallback
from core.library.browse import PhotoFace, photo_faces
from core.library.service import PhotoInfo
from idfsr_desktop.before_after_widget import BeforeAfterWidget, FaceMark
from idfsr_desktop.photo_list_model import PhotoListModel
from idfsr_desktop.restore_controller import read_image
from idfsr_desktop.task_runner import TaskRunner
from idfsr_desktop.theme import secondary_text

UNKNOWN = "?"  # the label of a face nobody is assigned to yet


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
        marks.append(FaceMark(n, (x0 * scale, y0 * scale, x1 * scale, y1 * scale),
                              face.label or UNKNOWN))
    return marks


class PhotoViewerDialog(QDialog):
    """One photo at a time from the Library page's model; `row_changed` as it moves."""

    row_changed = Signal(int)
    restore_requested = Signal(list)  # [Path]

    def __init__(self, ctx: AppContext, model: PhotoListModel, runner: TaskRunner | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx, self.model, self._runner = ctx, model, runner
        self.row = -1
        self.loaded: LoadedPhoto | None = None
        self.setWindowTitle("Photo")
        self.view = BeforeAfterWidget()
        self.view.setAccessibleName("Photo with its faces")
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
            named = sorted({f.label for f in loaded.faces if f.label})
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
