"""The one background-task adapter: runs core jobs on an executor, reports through signals.

A job is a plain core function taking `progress` and `cancel` keyword arguments. Its
outcome reaches the GUI thread as exactly one of `finished(result)`, `failed(message)`
or `cancelled()` on the task's handle (a TaskHandle[T] for a job returning T); progress
arrives as `progress(Progress)`, throttled so a job reporting every file cannot flood the
event loop.

The work runs on a TaskExecutor: a QThreadPool in the app (ThreadPoolExecutor), or the
GUI thread itself (InlineExecutor: tests that only need the outcome, not the threads,
run it with `drain()` instead of waiting on a pool).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

from PySide6.QtCore import (
    QCoreApplication,
    QObject,
    QRunnable,
    Qt,
    QThreadPool,
    QTimer,
    Signal,
    Slot,
)

from core.db.errors import explain
from core.errors import IdfsrError, JobCancelled
from core.jobs import CancelToken, JobState, Progress, ProgressThrottle

log = logging.getLogger(__name__)

PROGRESS_INTERVAL_S = 0.05  # at most ~20 progress signals a second per task
SHUTDOWN_WAIT_MS = 5000

T = TypeVar("T")
Job = Callable[..., T]  # called as job(progress=..., cancel=...)


class _Relay(QObject):
    """Carries a worker's reports across threads (its slots run in the GUI thread)."""

    progress = Signal(object)
    finished = Signal(object)
    failed = Signal(str)
    cancelled = Signal(str)


class TaskHandle(QObject, Generic[T]):
    """A submitted task: its title, its cancel token and the signals of its outcome."""

    progress = Signal(object)  # Progress
    finished = Signal(object)  # T: whatever the job returned (a dataclass)
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


class TaskExecutor(Protocol):
    """Where the runner's work runs: `start(work)` runs it some time later, `wait` waits
    (bounded) until all started work has ended."""

    def start(self, work: Callable[[], None]) -> None:
        """Run `work()` soon."""
        ...

    def wait(self, timeout_ms: int) -> bool:
        """Whether all started work ended within `timeout_ms`."""
        ...


class _Runnable(QRunnable):
    def __init__(self, work: Callable[[], None]) -> None:
        super().__init__()
        self._work = work

    def run(self) -> None:
        self._work()


class ThreadPoolExecutor:
    """The app's executor: a private QThreadPool."""

    def __init__(self, max_threads: int = 4, parent: QObject | None = None) -> None:
        self._pool = QThreadPool(parent)
        self._pool.setMaxThreadCount(max_threads)

    def start(self, work: Callable[[], None]) -> None:
        """Run `work()` on a pool thread."""
        self._pool.start(_Runnable(work))

    def wait(self, timeout_ms: int) -> bool:
        """Whether the pool's threads ended within `timeout_ms`."""
        return bool(self._pool.waitForDone(timeout_ms))


class InlineExecutor:
    """Runs work in the GUI thread itself, no threads: on the next pass of the event loop
    (`auto`), or at once with `drain()`, which also delivers the outcomes. For tests that
    need a task's outcome, not its thread: no waiting on a pool, the same signals."""

    def __init__(self, *, auto: bool = True) -> None:
        """`auto`: also run pending work on the event loop's next pass (so code that waits
        for a signal still sees it); without it, work waits for `drain()`."""
        self.auto = auto
        self._pending: deque[Callable[[], None]] = deque()
        self._draining = False
        self.ran = 0  # how many pieces of work ran so far

    def start(self, work: Callable[[], None]) -> None:
        """Keep `work` for the next drain."""
        self._pending.append(work)
        if self.auto:
            QTimer.singleShot(0, self._drain_soon)

    def _drain_soon(self) -> None:
        if not self._draining:
            self.drain()

    @property
    def pending(self) -> int:
        """How many pieces of work wait to run."""
        return len(self._pending)

    def drain(self, limit: int = 10_000) -> int:
        """Run the pending work, deliver the outcomes (the handles' signals and the callbacks
        they call) with a pass of the event loop (what those callbacks deferred to it, such
        as a zero-delay refresh), and again for whatever that started, until no work is
        left; how many pieces ran."""
        ran = 0
        self._draining = True
        try:
            while True:
                QCoreApplication.sendPostedEvents()  # the outcomes, queued by the relay
                QCoreApplication.processEvents()
                if not self._pending:
                    break
                while self._pending:
                    if ran >= limit:
                        raise RuntimeError(f"work kept starting more work ({limit} pieces)")
                    self._pending.popleft()()
                    ran += 1
        finally:
            self._draining = False
        self.ran += ran
        return ran

    def wait(self, timeout_ms: int) -> bool:
        """Run what is pending (there are no threads to wait for)."""
        self.drain()
        return True


class _TaskRun:
    """Runs one job and reports through the relay."""

    def __init__(self, job: Job[Any], token: CancelToken, relay: _Relay) -> None:
        self._job = job
        self._token = token
        self._relay = relay

    def __call__(self) -> None:
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
    """Submits core jobs to its executor and keeps track of the running ones."""

    task_started = Signal(object)  # TaskHandle

    def __init__(self, parent: QObject | None = None, *, max_threads: int = 4,
                 executor: TaskExecutor | None = None) -> None:
        """`executor`: where jobs run (default: a private pool of `max_threads` threads)."""
        super().__init__(parent)
        self.executor = executor or ThreadPoolExecutor(max_threads, self)
        self._active: set[TaskHandle[Any]] = set()
        self._closed = False

    def submit(
        self,
        job: Job[T],
        *,
        title: str,
        on_finished: Callable[[T], None] | None = None,
        on_failed: Callable[[str], None] | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        on_cancelled: Callable[[], None] | None = None,
        listed: bool = True,
    ) -> TaskHandle[T]:
        """Run `job(progress=…, cancel=…)` in the background; callbacks run in the GUI thread.

        `listed=False` keeps a short helper task (a status check, a query) out of the
        status bar and the Jobs page; it still counts for `is_idle` and shutdown."""
        if self._closed:
            raise RuntimeError("the task runner has been shut down")
        handle: TaskHandle[T] = TaskHandle(title, self)
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
        self.executor.start(_TaskRun(job, handle.token, relay))
        return handle

    def active(self) -> list[TaskHandle[Any]]:
        """The tasks that have not ended yet."""
        return [h for h in self._active if h.running]

    def is_idle(self) -> bool:
        """Whether no task is running."""
        return not self._active

    def shutdown(self, timeout_ms: int = SHUTDOWN_WAIT_MS) -> bool:
        """Cancel every task and wait (bounded) for the executor; True if all work stopped."""
        self._closed = True
        for handle in list(self._active):
            handle.cancel()
        stopped = self.executor.wait(timeout_ms)
        if not stopped:
            log.warning("background tasks still running after %d ms at shutdown", timeout_ms)
        return bool(stopped)

    def _forget(self, handle: TaskHandle[Any]) -> None:
        self._active.discard(handle)
