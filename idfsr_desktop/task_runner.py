"""The one background-task adapter: runs core jobs in a QThreadPool, reports through signals.

A job is a plain core function taking `progress` and `cancel` keyword arguments. Its
outcome reaches the GUI thread as exactly one of `finished(result)`, `failed(message)`
or `cancelled()` on the task's handle; progress arrives as `progress(Progress)`,
throttled so a job reporting every file cannot flood the event loop.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, Qt, QThreadPool, Signal, Slot

from core.db.errors import explain
from core.errors import IdfsrError, JobCancelled
from core.jobs import CancelToken, JobState, Progress, ProgressThrottle

log = logging.getLogger(__name__)

PROGRESS_INTERVAL_S = 0.05  # at most ~20 progress signals a second per task
SHUTDOWN_WAIT_MS = 5000

Job = Callable[..., Any]


class _Relay(QObject):
    """Carries a worker's reports across threads (its slots run in the GUI thread)."""

    progress = Signal(object)
    finished = Signal(object)
    failed = Signal(str)
    cancelled = Signal(str)


class TaskHandle(QObject):
    """A submitted task: its title, its cancel token and the signals of its outcome."""

    progress = Signal(object)  # Progress
    finished = Signal(object)  # whatever the job returned (a dataclass)
    failed = Signal(str)  # a message for the user
    cancelled = Signal()
    ended = Signal()  # after any of finished / failed / cancelled

    def __init__(self, title: str, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.title = title
        self.token = CancelToken()
        self.message = ""  # the outcome in words, once ended
        self.state = JobState.RUNNING  # then DONE, FAILED or CANCELLED
        self.last_progress: Progress | None = None
        # How a report reads to a person, (words, fraction done or None), where the plain
        # "k of n" would mislead (a restore's counts restart per face); None: the counts.
        self.describe: Callable[[Progress], tuple[str, float | None]] | None = None
        self.started_at = time.monotonic()
        self.ended_at: float | None = None
        self._running = True

    @property
    def running(self) -> bool:
        """Whether the task has not ended yet."""
        return self._running

    def cancel(self) -> None:
        """Ask the job to stop at its next check."""
        self.token.cancel()

    @Slot(object)
    def _on_progress(self, report: Progress) -> None:
        if self._running:
            self.last_progress = report
            self.progress.emit(report)

    @Slot(object)
    def _on_finished(self, result: object) -> None:
        self._end(JobState.DONE, "done")
        self.finished.emit(result)
        self.ended.emit()

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self._end(JobState.FAILED, message)
        self.failed.emit(message)
        self.ended.emit()

    @Slot(str)
    def _on_cancelled(self, message: str) -> None:
        self._end(JobState.CANCELLED, message)
        self.cancelled.emit()
        self.ended.emit()

    @property
    def seconds(self) -> float:
        """How long the task ran (so far, while it runs)."""
        return (self.ended_at or time.monotonic()) - self.started_at

    def _end(self, state: JobState, message: str) -> None:
        self._running = False
        self.state = state
        self.message = message
        self.ended_at = time.monotonic()


class _ThrottledProgress:
    """A progress callback that forwards at most one report per interval (stage changes and the
    last unit always pass)."""

    def __init__(self, emit: Callable[[Progress], None]) -> None:
        self._emit = emit
        self._throttle = ProgressThrottle(PROGRESS_INTERVAL_S)

    def __call__(self, report: Progress) -> None:
        if self._throttle.admit(report):
            self._emit(report)


class _TaskRunnable(QRunnable):
    """Runs one job on a pool thread and reports through the relay."""

    def __init__(self, job: Job, token: CancelToken, relay: _Relay) -> None:
        super().__init__()
        self._job = job
        self._token = token
        self._relay = relay

    def run(self) -> None:
        relay = self._relay
        try:
            result = self._job(progress=_ThrottledProgress(relay.progress.emit), cancel=self._token)
        except JobCancelled as exc:
            relay.cancelled.emit(str(exc))
        except IdfsrError as exc:
            relay.failed.emit(str(exc))
        except Exception as exc:
            typed = explain(exc)  # the database's failures (busy, full, damaged) in words
            if typed is not None:
                log.warning("background task failed: %s", exc)
                relay.failed.emit(str(typed))
                return
            log.exception("background task failed")  # a bug: keep the traceback in the log
            relay.failed.emit(f"unexpected error ({type(exc).__name__}: {exc}); see the log")
        else:
            relay.finished.emit(result)


class TaskRunner(QObject):
    """Submits core jobs to a private thread pool and keeps track of the running ones."""

    task_started = Signal(object)  # TaskHandle

    def __init__(self, parent: QObject | None = None, *, max_threads: int = 4) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max_threads)
        self._active: set[TaskHandle] = set()
        self._closed = False

    def submit(
        self,
        job: Job,
        *,
        title: str,
        on_finished: Callable[[Any], None] | None = None,
        on_failed: Callable[[str], None] | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        on_cancelled: Callable[[], None] | None = None,
        listed: bool = True,
    ) -> TaskHandle:
        """Run `job(progress=…, cancel=…)` in the background; callbacks run in the GUI thread.

        `listed=False` keeps a short helper task (a status check, a query) out of the
        status bar and the Jobs page; it still counts for `is_idle` and shutdown."""
        if self._closed:
            raise RuntimeError("the task runner has been shut down")
        handle = TaskHandle(title, self)
        for signal, callback in ((handle.finished, on_finished), (handle.failed, on_failed),
                                 (handle.progress, on_progress),
                                 (handle.cancelled, on_cancelled)):
            if callback is not None:
                signal.connect(callback)
        # Parented to the handle: the relay is destroyed with it in the GUI thread, never by the
        # worker dropping its last Python reference (deleting a QObject off its thread can crash).
        relay = _Relay(handle)
        # Queued: the worker thread emits, the handle (a GUI-thread object) receives.
        relay.progress.connect(handle._on_progress, Qt.ConnectionType.QueuedConnection)
        relay.finished.connect(handle._on_finished, Qt.ConnectionType.QueuedConnection)
        relay.failed.connect(handle._on_failed, Qt.ConnectionType.QueuedConnection)
        relay.cancelled.connect(handle._on_cancelled, Qt.ConnectionType.QueuedConnection)
        handle.ended.connect(lambda: self._forget(handle))
        self._active.add(handle)
        if listed:
            self.task_started.emit(handle)
        self._pool.start(_TaskRunnable(job, handle.token, relay))
        return handle

    def active(self) -> list[TaskHandle]:
        """The tasks that have not ended yet."""
        return [h for h in self._active if h.running]

    def is_idle(self) -> bool:
        """Whether no task is running."""
        return not self._active

    def shutdown(self, timeout_ms: int = SHUTDOWN_WAIT_MS) -> bool:
        """Cancel every task and wait (bounded) for the pool; True if all threads stopped."""
        self._closed = True
        for handle in list(self._active):
            handle.cancel()
        stopped = self._pool.waitForDone(timeout_ms)
        if not stopped:
            log.warning("background tasks still running after %d ms at shutdown", timeout_ms)
        return bool(stopped)

    def _forget(self, handle: TaskHandle) -> None:
        self._active.discard(handle)
