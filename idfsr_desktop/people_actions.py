"""What the Edit and People menus do to people: rename, hide, learn a face, regroup everyone.

`PeopleActions` acts on the person open or focused on the People page: edits go through the
PeopleEditor (so they can be undone), fits through the FitController, and regrouping every
face runs in the background through the runner. The menu items themselves are the window's.
"""

from __future__ import annotations

import functools

from PySide6.QtCore import QObject, Signal

from core.context import AppContext
from core.people.recluster import ClusterReport, recluster
from idfsr_desktop.fit_controller import FitController
from idfsr_desktop.people_editor import PeopleEditor
from idfsr_desktop.people_widget import PeopleWidget
from idfsr_desktop.person_list_model import display_name
from idfsr_desktop.task_runner import TaskHandle, TaskRunner


def recluster_text(report: ClusterReport) -> str:
    """How regrouping people ended, in one status-bar line."""
    return (f"People regrouped: {report.assigned:,} of {report.faces:,} faces have a person, "
            f"{report.new_persons:,} new, {report.removed_persons:,} removed "
            f"({report.seconds:.1f} s).")


class PeopleActions(QObject):
    """The people menu's actions over one People page; reports by signals."""

    failed = Signal(str, str)  # title, message
    message = Signal(str)  # how a regrouping ended, in words (for the status bar)
    regrouping_changed = Signal(bool)  # a regrouping started (True) or ended (False)

    def __init__(self, ctx: AppContext, runner: TaskRunner, people: PeopleWidget,
                 editor: PeopleEditor, fits: FitController, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.runner = runner
        self.people = people
        self.editor = editor
        self.fits = fits
        self.recluster_task: TaskHandle | None = None
        self._shut_down = False

    def rename_person(self) -> None:
        """Rename the open or focused person in place (the People page must be shown)."""
        people = self.people
        if people.stack.currentWidget() is people.person_page:
            people.person_page.name_edit.setFocus()
            people.person_page.name_edit.selectAll()
        elif people.stack.currentWidget() is people.overview:
            people.overview.rename_current()

    def hide_person(self) -> None:
        """Hide the open or focused person (or show them again)."""
        person_id = self.people.current_person_id()
        if person_id is None:
            return
        row = self.people.model.row_of(person_id)
        hidden = self.people.model.person(row).hidden if row is not None else False
        if self.people.person_page.person and self.people.person_page.person.id == person_id:
            hidden = self.people.person_page.person.hidden
        self.editor.hide(person_id, not hidden)

    def fit_person(self) -> None:
        """Fit the open or focused person's identity."""
        person_id = self.people.current_person_id()
        if person_id is None:
            return
        label = "this person"
        row = self.people.model.row_of(person_id)
        if row is not None:
            label = display_name(self.people.model.person(row))
        self.fits.fit([(person_id, label)])

    def start_recluster(self) -> TaskHandle:
        """Group every face into people again, in the background (user decisions are kept)."""
        if self.recluster_task is not None and self.recluster_task.running:
            return self.recluster_task
        job = functools.partial(recluster, self.ctx, None)
        handle = self.runner.submit(
            job, title="Regrouping people",
            on_finished=lambda report: self.message.emit(recluster_text(report)),
            on_failed=lambda message: self.failed.emit("Regrouping people failed", message))
        handle.ended.connect(self._on_recluster_ended)
        self.recluster_task = handle
        self.regrouping_changed.emit(True)
        return handle

    def shutdown(self) -> None:
        """No refresh from now on: a late signal after close would reach a closed library."""
        self._shut_down = True

    def _on_recluster_ended(self) -> None:
        if self._shut_down:
            return
        self.regrouping_changed.emit(False)
        self.people.refresh()
