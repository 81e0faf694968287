"""The Restore page's "Restoration" box: the strength and the Advanced knobs, Restore / Restore
All / Cancel, a run's progress in words (one bar for the photo, one for the queue) and a line
on where the current photo stands."""

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
from idfsr_desktop.restore_knobs_widget import RestoreKnobsWidget
from idfsr_desktop.restore_progress import RestoreProgress, Who
from idfsr_desktop.restore_queue_widget import STATUS_TEXT
from idfsr_desktop.restore_words import outcome_text


def status_text(photo: QueuedPhoto | None) -> str:
    """Where `photo` stands, or what to do next, in a sentence."""
    if photo is None:
        return ""
    if photo.status == "restored" and photo.result is not None:
        return outcome_text(photo.result, "restored") + " Drag the divider to compare."
    if photo.status in ("unchanged", "no_faces"):
        return outcome_text(photo.result or photo.found, photo.status, photo.message)
    if photo.status in ("error", "cancelled"):
        return photo.message or STATUS_TEXT[photo.status]
    if photo.status == "ready":
        return "Check who each face is, then restore."
    return STATUS_TEXT.get(photo.status, "")


class RestoreRunWidget(QGroupBox):
    """The knobs and the run buttons; the page connects the buttons and says what is on."""

    def __init__(self, defaults: RestoreOptions, parent: QWidget | None = None) -> None:
        super().__init__("Restoration", parent)
        self.options = RestoreKnobsWidget(defaults)
        self.run_button = QPushButton("&Restore")
        self.run_button.setDefault(True)
        self.run_button.setToolTip("Restore the faces of this photo")
        self.run_all_button = QPushButton("Restore &All")
        self.run_all_button.setToolTip("Restore every photo of the queue that is ready")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop; photos already restored stay restored")
        self.bar = QProgressBar()
        self.bar.setAccessibleName("Progress of this photo")
        self.bar.setTextVisible(False)
        self.queue_bar = QProgressBar()
        self.queue_bar.setAccessibleName("Progress of the queue")
        self.queue_bar.setTextVisible(False)
        self.queue_label = QLabel()
        for shown_while_running in (self.cancel_button, self.bar, self.queue_bar,
                                    self.queue_label):
            # Hidden before the layout first measures them: hiding a widget that was never
            # shown leaves a layout's cached minimum (counting it) as it was.
            shown_while_running.hide()
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        self.status_label.setAccessibleName("Restore status")
        self.tracker: RestoreProgress | None = None
        column = QVBoxLayout(self)
        # Sections stack here (the strength and its Advanced knobs first); another one can
        # be added with `add_section` without the page changing shape.
        self.sections = QVBoxLayout()
        self.sections.setContentsMargins(0, 0, 0, 0)
        self.sections.addWidget(self.options)
        column.addLayout(self.sections)
        run_row = QHBoxLayout()
        for button in (self.run_button, self.run_all_button, self.cancel_button):
            run_row.addWidget(button)
        column.addLayout(run_row)
        column.addWidget(self.status_label)
        column.addWidget(self.bar)
        column.addWidget(self.queue_label)
        column.addWidget(self.queue_bar)
        self.setTabOrder(self.run_button, self.run_all_button)
        self.setTabOrder(self.run_all_button, self.cancel_button)

    def add_section(self, widget: QWidget) -> None:
        """Another section of how to restore, below the strength and Advanced."""
        self.sections.addWidget(widget)

    def start(self, photos: int, who: Who | None = None) -> RestoreProgress:
        """A run of `photos` photos begins (`who` names the person of a face); its tracker."""
        self.tracker = tracker = RestoreProgress(photos, who)
        self.bar.setRange(0, 1000)
        self.bar.setValue(0)
        self.queue_bar.setRange(0, 1000)
        self.queue_bar.setValue(0)
        self.status_label.setText(tracker.text())
        return tracker

    def show_state(self, photo: QueuedPhoto | None, *, running: bool,
                   any_restorable: bool) -> None:
        """Enable what can be done now: `photo` is the current one, `running` whether a run
        is on, `any_restorable` whether any photo of the queue could be restored."""
        self.run_button.setEnabled(not running and photo is not None and photo.restorable)
        self.run_all_button.setEnabled(not running and any_restorable)
        self.cancel_button.setVisible(running)
        self.bar.setVisible(running)
        many = running and self.tracker is not None and self.tracker.photos > 1
        self.queue_bar.setVisible(many)
        self.queue_label.setVisible(many)
        if not running:
            self.tracker = None
            self.status_label.setText(status_text(photo))

    def show_progress(self, report: Progress) -> None:
        """The running restore's progress."""
        if self.tracker is None:
            self.start(report.total or 1 if report.stage == "restore" else 1)
        tracker = self.tracker
        assert tracker is not None
        tracker.update(report)
        self.bar.setValue(round(tracker.photo_fraction() * 1000))
        self.queue_bar.setValue(round(tracker.queue_fraction() * 1000))
        self.status_label.setText(tracker.text())
        self.queue_label.setText(tracker.queue_text())
        many = tracker.photos > 1
        self.queue_bar.setVisible(many)
        self.queue_label.setVisible(many)
