"""The People page: everyone as cards, one person's faces, or the unassigned faces."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QSize, QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QStackedWidget, QVBoxLayout, QWidget

from core.context import AppContext
from core.errors import IdfsrError
from core.jobs import CancelToken, ProgressCallback
from core.people.suggest import MergeSuggestion, suggest_merges
from idfsr_desktop.face_list_model import face_thumbnail_loader
from idfsr_desktop.fit_controller import FitController
from idfsr_desktop.people_editor import PeopleEditor
from idfsr_desktop.people_overview_widget import CARD_THUMB, PeopleOverviewWidget
from idfsr_desktop.person_list_model import PersonListModel, display_name
from idfsr_desktop.person_page_widget import PersonPageWidget
from idfsr_desktop.person_picker_dialog import PersonPickerDialog
from idfsr_desktop.task_runner import TaskRunner
from idfsr_desktop.unassigned_faces_widget import UnassignedFacesWidget

PickCallback = Callable[[int, str], object]


class PeopleWidget(QWidget):
    """Routes between the overview, a person and the unassigned faces; re-reads after edits."""

    def __init__(self, ctx: AppContext, runner: TaskRunner, editor: PeopleEditor,
                 fits: FitController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx, self.runner, self.editor, self.fits = ctx, runner, editor, fits
        self.faces = face_thumbnail_loader(ctx, self)
        self.model = PersonListModel(ctx, editor, self.faces, fits, self)
        self.overview = PeopleOverviewWidget(self.model, fits)
        self.person_page = PersonPageWidget(ctx, runner, editor, fits, self.faces)
        self.unassigned = UnassignedFacesWidget(ctx, editor, self.faces)
        self.stack = QStackedWidget()
        for page in (self.overview, self.person_page, self.unassigned):
            self.stack.addWidget(page)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.stack)

        self.overview.open_person.connect(self.show_person)
        self.overview.open_unassigned.connect(self.show_unassigned)
        self.overview.merge_confirmed.connect(self.editor.merge)
        self.overview.hide_requested.connect(self.editor.hide)
        self.person_page.back_requested.connect(self.show_overview)
        self.person_page.pick_person.connect(self.pick_person)
        self.unassigned.back_requested.connect(self.show_overview)
        self.unassigned.pick_person.connect(self.pick_person)
        self.unassigned.open_person.connect(self.show_person)
        back = QShortcut(QKeySequence(QKeySequence.StandardKey.Back), self)
        back.activated.connect(self.show_overview)

        self.picker: PersonPickerDialog | None = None
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(0)
        self._refresh_timer.timeout.connect(self.refresh)
        # After an edit, re-read once the edit's own slots have returned (an inline editor may
        # still be committing when the edit is done).
        editor.changed.connect(self.schedule_refresh)

    # ---- navigation -------------------------------------------------------------------------

    def show_overview(self) -> None:
        """Everyone's cards."""
        self.stack.setCurrentWidget(self.overview)
        self.overview.view.setFocus()

    def show_person(self, person_id: int) -> bool:
        """One person's page (False if they are gone)."""
        if not self.person_page.show_person(person_id):
            self.show_overview()
            return False
        self.stack.setCurrentWidget(self.person_page)
        self.person_page.face_view.setFocus()
        return True

    def show_unassigned(self) -> None:
        """The faces that belong to nobody."""
        self.unassigned.refresh()
        self.stack.setCurrentWidget(self.unassigned)
        self.unassigned.view.setFocus()

    def current_person_id(self) -> int | None:
        """The person open or focused, for window-level actions."""
        if self.stack.currentWidget() is self.person_page and self.person_page.person:
            return self.person_page.person.id
        if self.stack.currentWidget() is self.overview:
            person = self.overview.current_person()
            return person.id if person is not None else None
        return None

    # ---- data -----------------------------------------------------------------------------

    def schedule_refresh(self) -> None:
        """Re-read everything shown, once, after the current event."""
        self._refresh_timer.start()

    def refresh(self) -> None:
        """Re-read the people, the page shown, and the merge suggestions."""
        side = round(CARD_THUMB * self.devicePixelRatioF())
        self.model.thumbnail_size = QSize(side, side)
        self.model.reload()
        self.overview.set_unassigned_count(self.unassigned.refresh())
        page = self.stack.currentWidget()
        if page is self.person_page and not self.person_page.refresh():
            self.show_overview()
        self._load_merge_suggestions()

    def set_indexing(self, indexing: bool) -> None:
        """Whether indexing runs (the empty overview words itself accordingly)."""
        self.overview.set_indexing(indexing)

    def _load_merge_suggestions(self) -> None:
        ctx = self.ctx

        def job(*, progress: ProgressCallback, cancel: CancelToken) -> list[MergeSuggestion]:
            try:
                return suggest_merges(ctx, limit=10)
            except IdfsrError:  # no faces yet
                return []

        self.runner.submit(job, title="Looking for people to merge", listed=False,
                           on_finished=self.overview.set_merge_suggestions)

    def pick_person(self, then: PickCallback, prompt: str) -> PersonPickerDialog:
        """Ask for a person (everyone but the one open); `then(id, label)` once chosen."""
        model = PersonListModel(self.ctx, self.editor, self.faces, None)
        if self.stack.currentWidget() is self.person_page and self.person_page.person:
            model.exclude = {self.person_page.person.id}
        model.thumbnail_size = self.model.thumbnail_size
        model.reload()
        dialog = PersonPickerDialog(model, prompt, self)
        model.setParent(dialog)

        def chosen() -> None:
            person_id = dialog.chosen_id
            if person_id is not None:
                row = model.row_of(person_id)
                label = display_name(model.person(row)) if row is not None else ""
                then(person_id, label)

        dialog.accepted.connect(chosen)
        dialog.finished.connect(dialog.deleteLater)
        self.picker = dialog
        dialog.open()
        return dialog

    def is_idle(self) -> bool:
        """Whether no face thumbnail is loading."""
        return self.faces.is_idle() and self.person_page.photo_thumbnails.is_idle()

    def shutdown(self) -> None:
        """Stop loading thumbnails."""
        self.faces.shutdown()
        self.person_page.photo_thumbnails.shutdown()
