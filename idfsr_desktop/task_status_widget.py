"""The status bar's view of background work: what runs, how far it is, and a Cancel button."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QWidget,
)

from core.jobs import Progress
from idfsr_desktop.task_runner import TaskHandle


def progress_text(title: str, report: Progress | None) -> str:
    """'Indexing photos: 120 of 300', or the title alone while nothing is counted yet."""
    if report is None:
        return f"{title}…"
    if report.total:
        return f"{title}: {report.done:,} of {report.total:,}"
    if report.done:
        return f"{title}: {report.message or report.stage} ({report.done:,})"
    return f"{title}: {report.message or report.stage}…"


def cancelled_text(handle: TaskHandle) -> str:
    """'Indexing photos: cancelled.' plus what the job said about where it stopped."""
    detail = handle.message.strip().rstrip(".")
    if not detail or detail.lower() == "cancelled":
        return f"{handle.title}: cancelled."
    return f"{handle.title}: cancelled. {detail[0].upper()}{detail[1:]}."


class TaskStatusWidget(QWidget):
    """Follows the newest running task; says how the last one ended when none runs."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel()
        self.label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.bar = QProgressBar()
        self.bar.setTextVisible(False)
        em = self.fontMetrics().height()
        self.bar.setFixedWidth(em * 10)
        self.bar.setMaximumHeight(em)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop this work; what is done so far is kept")
        self.cancel_button.clicked.connect(self._cancel)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(em // 2, 0, 0, 0)
        layout.setSpacing(em // 2)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel_button)
        self._tasks: list[TaskHandle] = []
        self._show_idle()

    @property
    def current(self) -> TaskHandle | None:
        """The task shown now (the newest still running)."""
        return self._tasks[-1] if self._tasks else None

    def track(self, handle: TaskHandle) -> None:
        """Show this task until it ends."""
        self._tasks.append(handle)
        handle.progress.connect(lambda report, h=handle: self._on_progress(h, report))
        handle.failed.connect(lambda message, h=handle: self.show_message(
            f"{h.title} failed: {message}"))
        handle.cancelled.connect(lambda h=handle: self.show_message(cancelled_text(h)))
        handle.ended.connect(lambda h=handle: self._on_ended(h))
        self._show(handle)

    def show_message(self, text: str) -> None:
        """Say something in the label (e.g. how a task ended)."""
        self.label.setText(text)
        self.label.setToolTip(text)

    def _cancel(self) -> None:
        handle = self.current
        if handle is not None:
            handle.cancel()
            self.cancel_button.setEnabled(False)
            self.label.setText(f"Cancelling {handle.title.lower()}…")

    def _on_progress(self, handle: TaskHandle, report: Progress) -> None:
        if handle is not self.current or handle.token.cancelled:
            return
        if handle.describe is not None:
            words, fraction = handle.describe(report)
            self.label.setText(f"{handle.title}: {words}")
            if fraction is not None:
                self.bar.setRange(0, 1000)
                self.bar.setValue(round(fraction * 1000))
                return
        else:
            self.label.setText(progress_text(handle.title, report))
        if report.total:
            self.bar.setRange(0, report.total)
            self.bar.setValue(report.done)
        else:
            self.bar.setRange(0, 0)  # busy: the total is not known yet

    def _on_ended(self, handle: TaskHandle) -> None:
        if handle in self._tasks:
            self._tasks.remove(handle)
        # Nobody said how it ended (a failure, a cancel or a report would have): its last
        # progress ("…: 1 of 1") must not stay as if it were still running.
        if self.label.text() == progress_text(handle.title, handle.last_progress):
            self.show_message(f"{handle.title}: done")
        if self.current is not None:
            self._show(self.current)
        else:
            self._show_idle()

    def _show(self, handle: TaskHandle) -> None:
        self.bar.setRange(0, 0)
        self.bar.show()
        self.cancel_button.show()
        self.cancel_button.setEnabled(not handle.token.cancelled)
        self.label.setText(progress_text(handle.title, handle.last_progress))

    def _show_idle(self) -> None:
        self.bar.hide()
        self.cancel_button.hide()
