"""The Restore page's "Restoration" box: the knobs, Restore / Restore All / Cancel, the
progress of a run and a line on where the current photo stands."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from core.jobs import Progress
from core.restore.options import RestoreOptions
from idfsr_desktop.restore_controller import QueuedPhoto
from idfsr_desktop.restore_options_widget import RestoreOptionsWidget
from idfsr_desktop.restore_queue_widget import STATUS_TEXT

STAGE_WORDS = {"sample": "Restoring a face", "fit": "Fitting an identity"}  # core's stages


def status_text(photo: QueuedPhoto | None) -> str:
    """Where `photo` stands, or what to do next, in a sentence."""
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


def progress_text(report: Progress) -> str:
    """A run's progress report in words."""
    if report.stage in STAGE_WORDS and report.total:
        return f"{STAGE_WORDS[report.stage]}: step {report.done:,} of {report.total:,}"
    words = report.message or report.stage
    return f"{words[:1].upper()}{words[1:]}…"


class RestoreRunWidget(QGroupBox):
    """The knobs and the run buttons; the page connects the buttons and says what is on."""

    def __init__(self, defaults: RestoreOptions, parent: QWidget | None = None) -> None:
        super().__init__("Restoration", parent)
        self.options = RestoreOptionsWidget(defaults)
        self.run_button = QPushButton("&Restore")
        self.run_button.setDefault(True)
        self.run_all_button = QPushButton("Restore &All")
        self.cancel_button = QPushButton("Cancel")
        self.bar = QProgressBar()
        self.bar.setTextVisible(False)
        for shown_while_running in (self.cancel_button, self.bar):
            # Hidden before the layout first measures them: hiding a widget that was never
            # shown leaves a layout's cached minimum (counting it) as it was.
            shown_while_running.hide()
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        column = QVBoxLayout(self)
        column.addWidget(self.options)
        run_row = QHBoxLayout()
        for button in (self.run_button, self.run_all_button, self.cancel_button):
            run_row.addWidget(button)
        column.addLayout(run_row)
        column.addWidget(self.bar)
        column.addWidget(self.status_label)

    def show_state(self, photo: QueuedPhoto | None, *, running: bool,
                   any_restorable: bool) -> None:
        """Enable what can be done now: `photo` is the current one, `running` whether a run
        is on, `any_restorable` whether any photo of the queue could be restored."""
        self.run_button.setEnabled(not running and photo is not None and photo.restorable)
        self.run_all_button.setEnabled(not running and any_restorable)
        self.cancel_button.setVisible(running)
        self.bar.setVisible(running)
        if not running:
            self.status_label.setText(status_text(photo))

    def show_progress(self, report: Progress) -> None:
        """The running restore's progress."""
        if report.total:
            self.bar.setRange(0, report.total)
            self.bar.setValue(report.done)
        else:
            self.bar.setRange(0, 0)
        self.status_label.setText(progress_text(report))
