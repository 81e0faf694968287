"""The Restore page: a queue of dropped photos, the current photo with its faces and who they
are, how strongly to restore, run/cancel with progress, the result before/after, and Save As."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from core.context import AppContext
from core.people.service import list_people
from idfsr_desktop.damage_mask_widget import DamageRepairBox
from idfsr_desktop.drop_paths import dropped_paths
from idfsr_desktop.empty_state_widget import EmptyStateWidget
from idfsr_desktop.flow_layout import FlowLayout
from idfsr_desktop.restore_candidates_widget import RestoreCandidatesWidget
from idfsr_desktop.restore_controller import QueuedPhoto, RestoreController
from idfsr_desktop.restore_faces_widget import RestoreFacesWidget
from idfsr_desktop.restore_queue_widget import RestoreQueueWidget
from idfsr_desktop.restore_run_widget import RestoreRunWidget
from idfsr_desktop.restore_save_widget import RestoreSaveWidget
from idfsr_desktop.restore_settings_widget import restore_defaults
from idfsr_desktop.restore_viewer_widget import RestoreViewerWidget
from idfsr_desktop.restore_words import people_names, person_name
from idfsr_desktop.theme import secondary_text, title_font


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
                      "results wait until you save them.")
        hint.setWordWrap(True)
        secondary_text(hint)

        self.queue = RestoreQueueWidget()
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
        queue_buttons = FlowLayout()  # one above the other when the column is narrow
        queue_buttons.addWidget(self.add_button)
        queue_buttons.addWidget(self.remove_button)
        queue_column.addLayout(queue_buttons)

        self.viewer = RestoreViewerWidget()
        self.view = self.viewer.view  # the before/after itself
        self.empty_state = EmptyStateWidget()
        self.empty_state.primary_clicked.connect(self.choose_photos)
        self.empty_state.show_message(
            "Drop old photos here",
            "Their faces are found and matched to the people of your library; you check "
            "who is who, then restore.", primary="Add Photos…")
        self.centre = QStackedWidget()
        self.centre.addWidget(self.empty_state)
        self.centre.addWidget(self.viewer)

        self.faces = RestoreFacesWidget()
        self.faces.person_chosen.connect(self._on_person_chosen)
        self.faces.face_selected.connect(self.view.zoom_to_face)
        self.view.face_clicked.connect(self.faces.select_face)
        self.faces.face_selected.connect(self._show_candidates)
        self.candidates_label = QLabel()
        secondary_text(self.candidates_label)
        self.candidates = RestoreCandidatesWidget()
        self.candidates.candidate_chosen.connect(self._on_candidate_chosen)
        self.run_box = RestoreRunWidget(restore_defaults(ctx.settings.restore))
        # The box's controls under the page's own names (the window and the tests use them).
        self.options, self.status_label = self.run_box.options, self.run_box.status_label
        self.run_button, self.run_all_button = self.run_box.run_button, self.run_box.run_all_button
        self.cancel_button, self.bar = self.run_box.cancel_button, self.run_box.bar
        self.run_button.clicked.connect(self.run_current)
        self.run_all_button.clicked.connect(self.run_all)
        self.cancel_button.clicked.connect(controller.cancel)
        self.repair = DamageRepairBox(ctx.paths.cache / "damage-masks",
                                      ctx.settings.index.max_image_pixels)
        self.centre.addWidget(self.repair.canvas)
        self.repair.show_mask_toggled.connect(lambda on: self.centre.setCurrentWidget(
            self.repair.canvas if on else self.viewer))
        self.saving = RestoreSaveWidget(controller)
        # The box's controls under the page's own names (the window and the tests use them).
        self.save_button, self.reveal_button = self.saving.save_button, self.saving.reveal_button
        self.comparison_box, self.saved_label = self.saving.comparison_box, self.saving.saved_label
        self._names: dict[int, str] = {}  # person id: label, as the page last showed them
        side = QWidget()
        side_column = QVBoxLayout(side)
        side_column.setContentsMargins(0, 0, 0, 0)
        side_column.addWidget(QLabel("Faces"))
        side_column.addWidget(self.faces, 1)
        side_column.addWidget(self.candidates_label)
        side_column.addWidget(self.candidates)
        side_column.addWidget(self.run_box)
        side_column.addWidget(self.repair)
        side_column.addWidget(self.saving)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(queue_box)
        splitter.addWidget(self.centre)
        splitter.addWidget(side)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([em * 13, em * 38, em * 27])  # the queue's two buttons side by side
        splitter.setChildrenCollapsible(False)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(em, em, em, em // 2)
        layout.setSpacing(em // 2)
        layout.addWidget(title)
        layout.addWidget(hint)
        layout.addWidget(splitter, 1)

        controller.changed.connect(self._on_changed)
        controller.running_changed.connect(self._on_running)
        controller.progress.connect(self.run_box.show_progress)
        self.queue.setAccessibleName("Photos to restore")
        self.add_button.setAccessibleName("Add photos to restore")
        self.remove_button.setAccessibleName("Remove the photo from the queue")
        self.viewer.show_faces_box.setAccessibleName("Show the faces on the photo")
        # Tab goes down the queue, the photo, the faces, how to restore, then saving.
        order = [self.queue, self.add_button, self.remove_button, self.view,
                 self.viewer.show_faces_box, self.faces, self.candidates,
                 *self.run_box.options.focus_order(), self.run_button, self.run_all_button,
                 self.cancel_button, self.save_button, self.reveal_button, self.comparison_box]
        for first, second in zip(order, order[1:], strict=False):
            QWidget.setTabOrder(first, second)
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
            self.controller.run([self.current], self.repair.apply(self.options.options()))

    def run_all(self) -> None:
        """Restore every photo of the queue that is ready."""
        self.controller.run(self.controller.photos, self.repair.apply(self.options.options()))

    def save_current(self) -> None:
        """Save the current photo's result where the user says (a Save As dialog)."""
        self.saving.save()

    def reveal_output(self) -> None:
        """Open the folder of the last saved photo (else the output folder)."""
        self.saving.reveal()

    def _on_running(self, running: bool) -> None:
        if running:
            photos = list(self.controller.running_photos)
            names = people_names(list_people(self._ctx, best=0))
            tracker = self.run_box.start(len(photos), lambda index, face: _person_of(
                photos, names, index, face))
            if self.controller.task is not None:  # the status bar says it in the same words
                self.controller.task.describe = lambda _: (tracker.text(),
                                                           tracker.queue_fraction())
        self._update_buttons()

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
        self.queue.show_photos(photos)
        if current in photos:
            self.queue.setCurrentRow(photos.index(current))
        elif photos:
            self.queue.setCurrentRow(0)
        else:
            self.current = None
            self._show_current(new=True)
        self._update_buttons()

    def _update_item(self, row: int) -> None:
        self.queue.update_photo(row, self.controller.photos[row])

    def _show_current(self, *, new: bool) -> None:
        photo = self.current
        self.repair.set_photo(photo.path if photo is not None else None,
                              [f.box for f in photo.found.faces] if photo and photo.found else [])
        self.centre.setCurrentIndex(0 if photo is None else 1)
        if photo is None:
            self.faces.show_faces([], [])
            self._show_candidates(None)
            self.viewer.show_photo(None, {})
            self._update_buttons()
            return
        people = list_people(self._ctx, best=0)
        self._names = people_names(people)
        self.viewer.show_photo(photo, self._names)
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
        self._update_buttons()

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
                f"Face {face.number}: {len(images)} candidates; click one to use it instead"
                if len(images) > 1 else
                f"Face {face.number}: one candidate (more under Advanced give a choice)")

    def _on_candidate_chosen(self, number: int, index: int) -> None:
        if self.current is not None:
            self.controller.choose_candidate(self.current, number, index)

    def _on_person_chosen(self, number: int, person_id: int | None) -> None:
        if self.current is None:
            return
        self.controller.set_choice(self.current, number, person_id)

    def _update_buttons(self) -> None:
        running = self.controller.is_running()
        photo = self.current
        self.run_box.show_state(photo, running=running,
                                any_restorable=any(p.restorable for p in self.controller.photos))
        self.remove_button.setEnabled(photo is not None and photo.status != "restoring")
        self.saving.show_photo(photo)

    def is_idle(self) -> bool:
        """Whether no face search or restore runs."""
        return self.controller.is_idle()


def _person_of(photos: list[QueuedPhoto], names: dict[int, str], index: int, face: int
               ) -> str | None:
    """The name of whom face `face` of the run's photo `index` is restored as, if anyone."""
    if not 0 <= index < len(photos):
        return None
    photo = photos[index]
    if face in photo.choices:
        chosen = photo.choices[face]
        return person_name(chosen, names) if chosen is not None else None
    match = next((f.match for f in photo.faces if f.number == face), None)
    if match is None or match.person_id is None:
        return None
    return person_name(match.person_id, names, match.name)
