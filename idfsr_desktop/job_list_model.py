"""Every listed task of the shared runner, newest first: title, progress, and how it stands."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
)
from PySide6.QtWidgets import QApplication

from core.jobs import JobState, Progress
from idfsr_desktop.eta import Estimator, duration_text
from idfsr_desktop.task_runner import TaskHandle, TaskRunner
from idfsr_desktop.theme import error_colour

AnyIndex = QModelIndex | QPersistentModelIndex

TITLE, PROGRESS, STATUS = range(3)
HEADERS = ("Job", "Progress", "Status")
HandleRole = Qt.ItemDataRole.UserRole + 1  # the row's TaskHandle
FractionRole = Qt.ItemDataRole.UserRole + 2  # 0…1, or None while the total is unknown


def progress_words(report: Progress | None) -> str:
    """'120 of 300', 'people: matching new faces', or ''."""
    if report is None:
        return ""
    if report.total:
        return f"{report.stage.capitalize()}: {report.done:,} of {report.total:,}"
    return f"{report.stage.capitalize()}: {report.message}" if report.message else \
        report.stage.capitalize()


def status_words(handle: TaskHandle, estimator: Estimator | None) -> str:
    """'Running · about 3 min left', 'Done in 12 s', 'Failed: …', 'Cancelled after 4 s'."""
    if handle.state == JobState.RUNNING:
        if handle.token.cancelled:
            return "Cancelling…"
        left = estimator.remaining_text() if estimator is not None else ""
        return f"Running · {left}" if left else "Running"
    took = duration_text(handle.seconds)
    if handle.state == JobState.DONE:
        return f"Done in {took}"
    if handle.state == JobState.FAILED:
        return f"Failed: {handle.message}"
    return f"Cancelled after {took}"


class JobListModel(QAbstractTableModel):
    """Follows the runner's listed tasks; finished ones stay until cleared."""

    def __init__(self, runner: TaskRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._handles: list[TaskHandle] = []  # newest first
        self._estimators: dict[TaskHandle, Estimator] = {}
        runner.task_started.connect(self.track)
        # Time-left and elapsed words age: refresh the running rows now and then.
        self._ticker = QTimer(self)
        self._ticker.setInterval(1000)
        self._ticker.timeout.connect(self._tick)

    def track(self, handle: TaskHandle) -> None:
        """Add a task at the top."""
        self.beginInsertRows(QModelIndex(), 0, 0)
        self._handles.insert(0, handle)
        self._estimators[handle] = Estimator()
        self.endInsertRows()
        handle.progress.connect(lambda report, h=handle: self._on_progress(h, report))
        handle.ended.connect(lambda h=handle: self._changed(h))
        self._ticker.start()

    def handle(self, row: int) -> TaskHandle:
        """The task at a row."""
        return self._handles[row]

    def handles(self) -> list[TaskHandle]:
        """Every task listed, newest first."""
        return list(self._handles)

    def running(self) -> list[TaskHandle]:
        """The tasks still running."""
        return [h for h in self._handles if h.running]

    def clear_finished(self) -> None:
        """Forget the tasks that have ended."""
        keep = [h for h in self._handles if h.running]
        if len(keep) == len(self._handles):
            return
        self.beginResetModel()
        for handle in self._handles:
            if not handle.running:
                self._estimators.pop(handle, None)
        self._handles = keep
        self.endResetModel()

    def rowCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008 (Qt's signature)
        return 0 if parent.isValid() else len(self._handles)

    def columnCount(self, parent: AnyIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section]
        return None

    def data(self, index: AnyIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._handles):
            return None
        handle = self._handles[index.row()]
        column = index.column()
        if role == HandleRole:
            return handle
        if role == FractionRole:
            report = handle.last_progress
            if handle.state == JobState.DONE:
                return 1.0
            return report.fraction if report is not None else None
        if role == Qt.ItemDataRole.DisplayRole:
            if column == TITLE:
                return handle.title
            if column == PROGRESS:
                return "Complete" if handle.state == JobState.DONE else \
                    progress_words(handle.last_progress)
            return status_words(handle, self._estimators.get(handle))
        if role == Qt.ItemDataRole.ToolTipRole and column == STATUS:
            return status_words(handle, self._estimators.get(handle))
        if role == Qt.ItemDataRole.ForegroundRole and column == STATUS and \
                handle.state == JobState.FAILED:
            return error_colour(QApplication.palette())
        return None

    def _on_progress(self, handle: TaskHandle, report: Progress) -> None:
        estimator = self._estimators.get(handle)
        if estimator is not None:
            estimator.update(report)
        self._changed(handle)

    def _changed(self, handle: TaskHandle) -> None:
        if handle not in self._estimators:
            return
        row = self._handles.index(handle)
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(HEADERS) - 1))

    def _tick(self) -> None:
        running = self.running()
        if not running:
            self._ticker.stop()
        for handle in running:
            self._changed(handle)

