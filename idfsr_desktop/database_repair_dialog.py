"""The dialog at the app's start when the library database is damaged: what is wrong, in
plain words; the ways out (restore the newest good backup, salvage what can be read,
rebuild from the photos), each with what it gives and what it loses; the repair run in
the background with a progress bar and a Cancel button. The damaged file is kept."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from core.db.types import utcnow
from core.jobs import CancelToken, Progress, ProgressCallback
from core.paths import AppPaths
from core.repair import RepairReport, repair
from core.repair_plan import RepairPlan, rebuild_pending, when
from idfsr_desktop.task_runner import TaskHandle, TaskRunner
from idfsr_desktop.theme import secondary_text, title_font

ACTIONS = ("restore", "salvage", "rebuild")


class DatabaseRepairDialog(QDialog):
    """Says what is wrong with the library database and repairs it the way the user picks.

    Accepted once a repair has finished (the library can be opened); rejected by Quit, which
    leaves every file as it was. `plan` None with `pending` True: a rebuild was interrupted
    and only carrying it on is offered."""

    def __init__(self, paths: AppPaths, plan: RepairPlan | None, *, pending: bool = False,
                 parent: QWidget | None = None, now: datetime | None = None) -> None:
        super().__init__(parent)
        self.paths = paths
        self.plan = plan
        self.report: RepairReport | None = None
        self.failed_message = ""
        self.runner = TaskRunner(self, max_threads=1)
        self.task: TaskHandle | None = None
        self._now = now or utcnow()
        self.setWindowTitle("Repair the library database")
        self.setModal(True)
        em = self.fontMetrics().height()

        self.title = QLabel()
        self.title.setFont(title_font(self, 1.3))
        self.problem = QLabel()
        self.problem.setWordWrap(True)
        self.problem.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.sqlite = QLabel()
        self.sqlite.setWordWrap(True)
        secondary_text(self.sqlite)
        self.choices = QButtonGroup(self)
        self.options: dict[str, QRadioButton] = {}
        self.descriptions: dict[str, QLabel] = {}
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addWidget(self.problem)
        layout.addWidget(self.sqlite)
        layout.addSpacing(em // 2)
        for action in (("continue",) if pending else ACTIONS):
            button = QRadioButton()
            description = QLabel()
            description.setWordWrap(True)
            description.setIndent(em + em // 2)
            secondary_text(description)
            self.choices.addButton(button)
            self.options[action] = button
            self.descriptions[action] = description
            layout.addWidget(button)
            layout.addWidget(description)
        self.kept = QLabel()
        self.kept.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.hide()
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.hide()
        self.buttons = QDialogButtonBox()
        self.quit_button = self.buttons.addButton("Quit", QDialogButtonBox.ButtonRole.RejectRole)
        self.repair_button: QPushButton = self.buttons.addButton(
            "Repair", QDialogButtonBox.ButtonRole.ActionRole)
        self.repair_button.setDefault(True)
        self.open_button = self.buttons.addButton(
            "Open the library", QDialogButtonBox.ButtonRole.AcceptRole)
        self.open_button.hide()
        self.quit_button.clicked.connect(self._quit_or_cancel)
        self.repair_button.clicked.connect(self.start_repair)
        self.open_button.clicked.connect(self.accept)
        layout.addSpacing(em // 2)
        layout.addWidget(self.kept)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addStretch(1)
        layout.addWidget(self.buttons)
        self._fill(pending)
        self.resize(em * 40, self.sizeHint().height())

    def _fill(self, pending: bool) -> None:
        folder = self.paths.db_file.parent
        keep = (f"Whatever you choose, the damaged file is kept beside it in {folder} "
                f"(as {self.paths.db_file.name}.damaged-…), never written and never deleted.")
        if pending or self.plan is None:
            self.title.setText("A repair of your library was not finished")
            self.problem.setText("Its photos were being indexed again, so that your people "
                                 "decisions can be re-applied to them. It carries on where "
                                 "it stopped.")
            self.sqlite.hide()
            self.options["continue"].setText("Carry on with the repair")
            self.descriptions["continue"].setText(
                "Index the photos again (what is done is not done twice), then re-apply your "
                "people decisions.")
            self.options["continue"].setChecked(True)
            self.kept.setText("The damaged file was kept aside when the repair began.")
            return
        plan = self.plan
        self.title.setText("Your library database is damaged")
        self.problem.setText(f"{plan.diagnosis.summary} Nothing has been written to it.")
        said = "; ".join(plan.diagnosis.details[:2])
        self.sqlite.setText(f"SQLite says: {said}" if said else "")
        self.sqlite.setVisible(bool(said))
        backup = plan.backup
        self.options["restore"].setText(
            f"Restore the backup of {when(backup.info.made_at, self._now)}" if backup
            else "Restore a backup")
        self.descriptions["restore"].setText(plan.restore_words())
        self.options["restore"].setEnabled(backup is not None)
        self.options["salvage"].setText("Salvage what can still be read")
        self.descriptions["salvage"].setText(plan.salvage_words())
        self.options["rebuild"].setText("Rebuild from your photos")
        self.descriptions["rebuild"].setText(plan.rebuild_words())
        self.options["rebuild"].setEnabled(bool(plan.roots))
        self.recommended().setChecked(True)
        self.kept.setText(keep)

    def recommended(self) -> QRadioButton:
        """The way out to offer first: a good backup, else a rebuild with the decisions,
        else a salvage."""
        plan = self.plan
        if plan is not None and plan.backup is not None:
            return self.options["restore"]
        if plan is not None and plan.roots and plan.export is not None:
            return self.options["rebuild"]
        return self.options["salvage"]

    def chosen(self) -> str:
        """The action whose option is ticked."""
        return next(a for a, b in self.options.items() if b.isChecked())

    def start_repair(self) -> TaskHandle:
        """Run the chosen repair in the background."""
        action = self.chosen()
        paths, now = self.paths, self._now

        def job(*, progress: ProgressCallback, cancel: CancelToken) -> RepairReport:
            return repair(paths, action, now=now, interactive=True, progress=progress,
                          cancel=cancel)

        for button in self.options.values():
            button.setEnabled(False)
        self.repair_button.setEnabled(False)
        self.quit_button.setText("Cancel")
        self.progress.setRange(0, 0)
        self.progress.show()
        self.status.setText("Repairing…")
        self.status.show()
        self.task = self.runner.submit(job, title="Repairing the library database",
                                       on_finished=self._done, on_failed=self._failed,
                                       on_progress=self._progress, on_cancelled=self._stopped)
        return self.task

    def is_running(self) -> bool:
        """Whether a repair is under way."""
        return self.task is not None and self.task.running

    def _progress(self, report: Progress) -> None:
        if report.total:
            self.progress.setRange(0, report.total)
            self.progress.setValue(report.done)
        self.status.setText(report.message or report.stage)

    def _done(self, report: RepairReport) -> None:
        self.report = report
        self.progress.setRange(0, 1)
        self.progress.setValue(1)
        self.status.setText(f"Done: {report.message}.")
        self.quit_button.hide()
        self.repair_button.hide()
        self.open_button.show()
        self.open_button.setDefault(True)

    def _failed(self, message: str) -> None:
        self.failed_message = message
        self.progress.hide()
        self.status.setText(f"The repair did not succeed: {message}. Nothing else was changed; "
                            "you may choose another way.")
        self._again()

    def _stopped(self) -> None:
        self.progress.hide()
        self.status.setText("Stopped. Start the repair again to carry on.")
        self._again()

    def _again(self) -> None:
        self.quit_button.setText("Quit")
        self.repair_button.setEnabled(True)
        if "continue" in self.options:
            self.options["continue"].setEnabled(True)
        elif rebuild_pending(self.paths.db_file) is not None:
            # The damaged file is aside already and the new library half made: only
            # carrying on makes sense now.
            self.options["rebuild"].setText("Carry on with the repair")
            self.options["rebuild"].setEnabled(True)
            self.options["rebuild"].setChecked(True)
        elif self.plan is not None:
            self.options["restore"].setEnabled(self.plan.backup is not None)
            self.options["salvage"].setEnabled(True)
            self.options["rebuild"].setEnabled(bool(self.plan.roots))

    def _quit_or_cancel(self) -> None:
        if self.is_running() and self.task is not None:
            self.task.cancel()
            return
        self.reject()

    def done(self, result: int) -> None:
        if self.is_running():  # closing the window cancels; the dialog waits for the job
            if self.task is not None:
                self.task.cancel()
            self.runner.shutdown()
        super().done(result)
