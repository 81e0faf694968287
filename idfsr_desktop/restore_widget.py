"""The Restore page: a queue of dropped photos, the current photo with its faces and who they
are, the restoration knobs, run/cancel with progress, the result before/after, and export."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote_to_bytes

from PySide6.QtCore import QMimeData, QSize, Qt, QUrl
from PySide6.QtGui import QDesktopServices, QDragEnterEvent, QDropEvent, QIcon, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from core.context import AppContext
from core.jobs import Progress
from core.library.imageio import suffix_supported
from core.people.service import list_people
from core.restore.report import FaceResult
from idfsr_desktop.before_after_widget import BeforeAfterWidget, FaceMark
from idfsr_desktop.empty_state_widget import EmptyStateWidget
from idfsr_desktop.restore_candidates_widget import RestoreCandidatesWidget
from idfsr_desktop.restore_controller import QueuedPhoto, RestoreController
from idfsr_desktop.restore_faces_widget import RestoreFacesWidget
from idfsr_desktop.restore_options_widget import RestoreOptionsWidget
from idfsr_desktop.restore_settings_widget import restore_defaults
from idfsr_desktop.theme import secondary_text, title_font

STATUS_TEXT = {"waiting": "Waiting", "finding": "Finding faces…", "ready": "Ready",
               "no_faces": "No faces", "error": "Error", "restoring": "Restoring…",
               "restored": "Restored", "unchanged": "Nothing restored",
               "cancelled": "Cancelled"}
STAGE_WORDS = {"sample": "Restoring a face", "fit": "Fitting an identity"}  # core's stages


def local_path(url: QUrl) -> Path:
    """The file a file:// URL names. A name that is not UTF-8 (possible on Linux) arrives
    percent-encoded; Qt's decoding would replace its bytes, so they are decoded here."""
    path = Path(url.toLocalFile())
    if not path.exists() and os.name == "posix":
        raw = url.path(QUrl.ComponentFormattingOption.FullyEncoded)
        path = Path(os.fsdecode(unquote_to_bytes(raw)))
    return path


def dropped_paths(mime: QMimeData) -> list[Path]:
    """The local photos and folders among dropped URLs (anything else is ignored)."""
    paths = []
    for url in mime.urls() if mime.hasUrls() else []:
        if not url.isLocalFile():
            continue
        path = local_path(url)
        if path.is_dir() or (path.is_file() and suffix_supported(path.name)):
            paths.append(path)
    return paths


def face_label(photo: QueuedPhoto, face: FaceResult, names: dict[int, str]) -> str:
    """What a face's box says: the person and how sure ('?': weak evidence), or 'no one'."""
    m = face.match
    if face.number in photo.choices:
        chosen = photo.choices[face.number]
        return "no one" if chosen is None else names.get(chosen, f"#{chosen}")
    if m.person_id is None:
        return "?"  # not matched: the generic path unless the user says who it is
    text = m.name or f"#{m.person_id}"
    if m.source == "user":
        return text
    return f"{text} {m.confidence:.0%}" + (" ?" if m.weak_evidence else "")


class RestoreWidget(QWidget):
    """The page; all work goes through its RestoreController."""

    def __init__(self, ctx: AppContext, controller: RestoreController,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._ctx = ctx
        self.controller = controller
        self.current: QueuedPhoto | None = None
        self.setAcceptDrops(True)
        em = self.fontMetrics().height()

        title = QLabel("Restore")
        title.setFont(title_font(self, 1.3))
        hint = QLabel("Drop old photos here (or on the window). Originals are only read; "
                      "results wait until you export them.")
        hint.setWordWrap(True)
        secondary_text(hint)

        self.queue = QListWidget()
        self.queue.setIconSize(QSize(em * 3, em * 3))
        self.queue.setAccessibleName("Photos to restore")
        self.queue.currentRowChanged.connect(self._on_row)
        self.add_button = QPushButton("Add Photos…")
        self.add_button.clicked.connect(self.choose_photos)
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self.remove_current)
        queue_box = QWidget()
        queue_column = QVBoxLayout(queue_box)
        queue_column.setContentsMargins(0, 0, 0, 0)
        queue_column.addWidget(QLabel("Queue"))
        queue_column.addWidget(self.queue, 1)
        queue_buttons = QHBoxLayout()
        queue_buttons.addWidget(self.add_button)
        queue_buttons.addWidget(self.remove_button)
        queue_column.addLayout(queue_buttons)

        self.view = BeforeAfterWidget()
        self.show_faces_box = QCheckBox("Show &faces")
        self.show_faces_box.setChecked(True)
        self.show_faces_box.toggled.connect(self._on_show_faces)
        self.fit_button = QPushButton("Fit")
        self.fit_button.setToolTip("The whole photo (double-click the photo)")
        self.fit_button.clicked.connect(self.view.reset_view)
        self.zoom_out_button = QPushButton("−")
        self.zoom_out_button.clicked.connect(lambda: self.view.set_zoom(self.view.zoom / 1.5))
        self.zoom_in_button = QPushButton("+")
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
        viewer = QWidget()
        viewer_column = QVBoxLayout(viewer)
        viewer_column.setContentsMargins(0, 0, 0, 0)
        viewer_column.addWidget(self.view, 1)
        viewer_column.addLayout(tools)
        viewer_column.addWidget(self.photo_label)
        self.empty_state = EmptyStateWidget()
        self.empty_state.primary_clicked.connect(self.choose_photos)
        self.empty_state.show_message(
            "Drop old photos here",
            "Their faces are found and matched to the people of your library; you check "
            "who is who, then restore.", primary="Add Photos…")
        self.centre = QStackedWidget()
        self.centre.addWidget(self.empty_state)
        self.centre.addWidget(viewer)

        self.faces = RestoreFacesWidget()
        self.faces.person_chosen.connect(self._on_person_chosen)
        self.faces.face_selected.connect(self.view.zoom_to_face)
        self.faces.face_selected.connect(self._show_candidates)
        self.candidates_label = QLabel()
        secondary_text(self.candidates_label)
        self.candidates = RestoreCandidatesWidget()
        self.candidates.candidate_chosen.connect(self._on_candidate_chosen)
        self.options = RestoreOptionsWidget(restore_defaults(ctx.settings.restore))
        self.run_button = QPushButton("&Restore")
        self.run_button.setDefault(True)
        self.run_button.clicked.connect(self.run_current)
        self.run_all_button = QPushButton("Restore &All")
        self.run_all_button.clicked.connect(self.run_all)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(controller.cancel)
        self.bar = QProgressBar()
        self.bar.setTextVisible(False)
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        self.export_button = QPushButton("&Export")
        self.export_button.setToolTip("Copy the restored photo and its notes into the output "
                                      "folder (nothing there is replaced)")
        self.export_button.clicked.connect(self.export_current)
        self.reveal_button = QPushButton("Show Output Folder")
        self.reveal_button.clicked.connect(self.reveal_output)
        side = QWidget()
        side_column = QVBoxLayout(side)
        side_column.setContentsMargins(0, 0, 0, 0)
        side_column.addWidget(QLabel("Faces"))
        side_column.addWidget(self.faces, 1)
        side_column.addWidget(self.candidates_label)
        side_column.addWidget(self.candidates)
        settings_box = QGroupBox("Restoration")
        settings_column = QVBoxLayout(settings_box)
        settings_column.addWidget(self.options)
        run_row = QHBoxLayout()
        for button in (self.run_button, self.run_all_button, self.cancel_button):
            run_row.addWidget(button)
        settings_column.addLayout(run_row)
        settings_column.addWidget(self.bar)
        settings_column.addWidget(self.status_label)
        side_column.addWidget(settings_box)
        export_row = QHBoxLayout()
        export_row.addWidget(self.export_button)
        export_row.addWidget(self.reveal_button)
        side_column.addLayout(export_row)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(queue_box)
        splitter.addWidget(self.centre)
        splitter.addWidget(side)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([em * 11, em * 38, em * 27])
        splitter.setChildrenCollapsible(False)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(em, em, em, em // 2)
        layout.setSpacing(em // 2)
        layout.addWidget(title)
        layout.addWidget(hint)
        layout.addWidget(splitter, 1)

        controller.changed.connect(self._on_changed)
        controller.running_changed.connect(lambda _: self._update_buttons())
        controller.progress.connect(self._on_progress)
        self._update_all()

    # ---- adding photos --------------------------------------------------------------------

    def add_photos(self, paths: list[Path]) -> None:
        """Queue photos (or folders of them) and show the first one added."""
        added = self.controller.add(paths)
        if added:
            self.select(added[0])

    def choose_photos(self) -> None:
        """Ask for photos to queue."""
        files, _ = QFileDialog.getOpenFileNames(
            self, "Choose old photos to restore", "",
            "Images (*.jpg *.jpeg *.png *.tif *.tiff *.webp *.bmp);;All files (*)")
        self.add_photos([Path(f) for f in files])

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if dropped_paths(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = dropped_paths(event.mimeData())
        if paths:
            event.acceptProposedAction()
            self.add_photos(paths)

    def select(self, photo: QueuedPhoto) -> None:
        """Make `photo` the current one."""
        if photo in self.controller.photos:
            self.queue.setCurrentRow(self.controller.photos.index(photo))

    def remove_current(self) -> None:
        """Take the current photo off the queue."""
        if self.current is not None and self.current.status != "restoring":
            self.controller.remove(self.current)

    def use_defaults(self) -> None:
        """Start again from the knobs the settings hold (after the user changed them there)."""
        self.options.set_options(restore_defaults(self._ctx.settings.restore, self.options.base))

    # ---- running --------------------------------------------------------------------------

    def run_current(self) -> None:
        """Restore the current photo."""
        if self.current is not None:
            self.controller.run([self.current], self.options.options())

    def run_all(self) -> None:
        """Restore every photo of the queue that is ready."""
        self.controller.run(self.controller.photos, self.options.options())

    def export_current(self) -> None:
        """Export the current photo's result."""
        if self.current is not None:
            self.controller.export(self.current)

    def reveal_output(self) -> None:
        """Open the output folder in the file manager."""
        folder = self.controller.output_folder()
        folder.mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))

    # ---- showing --------------------------------------------------------------------------

    def _on_row(self, row: int) -> None:
        photos = self.controller.photos
        self.current = photos[row] if 0 <= row < len(photos) else None
        self._show_current(new=True)

    def _on_changed(self, photo: QueuedPhoto | None) -> None:
        if photo is None:
            self._update_all()
            return
        if photo in self.controller.photos:
            self._update_item(self.controller.photos.index(photo))
        if photo is self.current:
            self._show_current(new=False)
        self._update_buttons()

    def _update_all(self) -> None:
        photos = self.controller.photos
        current = self.current
        self.queue.blockSignals(True)
        self.queue.clear()
        for _ in photos:
            self.queue.addItem(QListWidgetItem())
        for row in range(len(photos)):
            self._update_item(row)
        self.queue.blockSignals(False)
        if current in photos:
            self.queue.setCurrentRow(photos.index(current))
        elif photos:
            self.queue.setCurrentRow(0)
        else:
            self.current = None
            self._show_current(new=True)
        self._update_buttons()

    def _update_item(self, row: int) -> None:
        photo = self.controller.photos[row]
        item = self.queue.item(row)
        if item is None:
            return
        status = STATUS_TEXT.get(photo.status, photo.status)
        if photo.status == "ready":
            status = f"{len(photo.faces)} face{'s' if len(photo.faces) != 1 else ''}"
        if photo.exported:
            status += " · exported"
        item.setText(f"{photo.path.name}\n{status}")
        item.setToolTip(f"{photo.path}\n{photo.message}".strip())
        if photo.before is not None and not photo.before.isNull() and item.icon().isNull():
            side = self.queue.iconSize().height()
            item.setIcon(QIcon(QPixmap.fromImage(photo.before.scaled(
                side * 2, side * 2, Qt.AspectRatioMode.KeepAspectRatio,
                Qt.TransformationMode.SmoothTransformation))))

    def _show_current(self, *, new: bool) -> None:
        photo = self.current
        self.centre.setCurrentIndex(0 if photo is None else 1)
        if photo is None:
            self.faces.show_faces([], [])
            self._show_candidates(None)
            self.view.set_images(None, None)
            self.view.set_marks([])
            self._update_buttons()
            return
        self.view.set_images(photo.before, photo.after)
        people = list_people(self._ctx, best=0)
        names = {p.id: p.label for p in people}
        self.view.set_marks([FaceMark(f.number, f.box, face_label(photo, f, names),
                                      f.match.weak_evidence) for f in photo.faces])
        if not new and self.faces.faces is photo.faces and self.faces.crops is photo.crops:
            # Only a choice changed: keep the pickers (one of them is emitting right now).
            self.faces.refresh_choices(photo.choices)
        else:
            selected = self.faces.currentRow()
            self.faces.show_faces(photo.faces, people, photo.crops, photo.choices)
            if not new and 0 <= selected < self.faces.rowCount():
                self.faces.blockSignals(True)
                self.faces.selectRow(selected)
                self.faces.blockSignals(False)
        self._show_candidates(self._candidates_face(photo))
        self.photo_label.setText(self._photo_text(photo))
        self._update_buttons()

    def _photo_text(self, photo: QueuedPhoto) -> str:
        parts = [str(photo.path)]
        found = photo.found
        if found is not None and found.width:
            parts.append(f"{found.width} × {found.height} px")
        if photo.result is not None and photo.result.output:
            parts.append(f"restored {photo.result.scale:g}× in {photo.result.seconds:.1f} s")
        if photo.exported:
            parts.append(f"exported to {photo.exported[-1]}")
        elif photo.message:
            parts.append(photo.message)
        return " · ".join(parts)

    def _candidates_face(self, photo: QueuedPhoto) -> int | None:
        """The face whose candidates are shown: the selected one, else the first that has them."""
        row = self.faces.currentRow()
        item = self.faces.item(row, 0) if row >= 0 else None
        if item is not None:
            return int(item.data(Qt.ItemDataRole.UserRole))
        return next(iter(sorted(photo.candidates)), None)

    def _show_candidates(self, number: int | None) -> None:
        photo = self.current
        images = photo.candidates.get(number, []) if photo is not None and number else []
        face = next((f for f in photo.faces if f.number == number), None) if images \
            and photo is not None else None
        busy = photo is not None and photo.composing
        self.candidates.show_face(face, images, busy=busy)
        self.candidates.setVisible(face is not None)
        self.candidates_label.setVisible(face is not None)
        if face is not None:
            self.candidates_label.setText(
                f"Face {face.number}: putting in another candidate…" if busy else
                f"Face {face.number}: {len(images)} candidates; click one to use it instead")

    def _on_candidate_chosen(self, number: int, index: int) -> None:
        if self.current is not None:
            self.controller.choose_candidate(self.current, number, index)

    def _on_person_chosen(self, number: int, person_id: int | None) -> None:
        if self.current is None:
            return
        self.controller.set_choice(self.current, number, person_id)

    def _on_show_faces(self, shown: bool) -> None:
        self.view.show_marks = shown
        self.view.update()

    def _on_progress(self, report: Progress) -> None:
        if report.total:
            self.bar.setRange(0, report.total)
            self.bar.setValue(report.done)
        else:
            self.bar.setRange(0, 0)
        if report.stage in STAGE_WORDS and report.total:
            text = f"{STAGE_WORDS[report.stage]}: step {report.done:,} of {report.total:,}"
        else:
            words = report.message or report.stage
            text = f"{words[:1].upper()}{words[1:]}…"
        self.status_label.setText(text)

    def _update_buttons(self) -> None:
        running = self.controller.is_running()
        photo = self.current
        self.run_button.setEnabled(not running and photo is not None and photo.restorable)
        self.run_all_button.setEnabled(
            not running and any(p.restorable for p in self.controller.photos))
        self.cancel_button.setVisible(running)
        self.bar.setVisible(running)
        self.remove_button.setEnabled(photo is not None and photo.status != "restoring")
        has_result = photo is not None and photo.result is not None and bool(photo.result.output)
        self.export_button.setEnabled(has_result)
        if not running:
            self.status_label.setText(self._status_text(photo))

    def _status_text(self, photo: QueuedPhoto | None) -> str:
        if photo is None:
            return ""
        if photo.status == "restored" and photo.result is not None:
            restored = [f for f in photo.result.faces if f.status == "restored"]
            personal = sum(f.path == "personal" for f in restored)
            return (f"Restored {len(restored)} face{'s' if len(restored) != 1 else ''} "
                    f"({personal} as known people). Drag the divider to compare.")
        if photo.status in ("error", "unchanged", "cancelled", "no_faces"):
            return photo.message or STATUS_TEXT[photo.status]
        if photo.status == "ready":
            return "Check who each face is, then restore."
        return STATUS_TEXT.get(photo.status, "")

    def is_idle(self) -> bool:
        """Whether no face search or restore runs."""
        return self.controller.is_idle()
