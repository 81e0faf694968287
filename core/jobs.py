"""The job API shared by every long operation: a progress callback and a cancel token.

Long work is a plain function taking `progress` and `cancel`; it reports with
`progress(Progress(...))` and calls `cancel.raise_if_cancelled()` between steps. The CLI
shows it as a tqdm bar, the GUI as a progress bar with a Cancel button.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol, TypeVar

from core.errors import JobCancelled


@dataclass(frozen=True)
class Progress:
    """One progress report: `done` of `total` units (total None while unknown) in a stage."""

    stage: str
    done: int
    total: int | None = None
    message: str = ""

    @property
    def fraction(self) -> float | None:
        """Done as a fraction of total, or None while the total is unknown."""
        if not self.total:
            return None
        return min(1.0, self.done / self.total)


ProgressCallback = Callable[[Progress], None]


class JobState(StrEnum):
    """Where a long job stands: waiting its turn, running, or how it ended."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


def no_progress(_: Progress) -> None:
    """A progress callback that ignores every report."""


class ProgressThrottle:
    """Lets through at most one report per `interval_s` within a stage; the first report of
    a stage and a stage's last unit always pass. Safe to call from several threads."""

    def __init__(self, interval_s: float) -> None:
        self.interval_s = interval_s
        self._stage: str | None = None
        self._last = 0.0
        self._lock = threading.Lock()

    def admit(self, report: Progress) -> bool:
        """Whether this report should be shown (and, if so, it counts as the last shown)."""
        now = time.monotonic()
        finished = report.total is not None and report.done >= report.total
        with self._lock:
            if (report.stage == self._stage and not finished
                    and now - self._last < self.interval_s):
                return False
            self._stage, self._last = report.stage, now
        return True


class CancelToken:
    """Thread-safe flag a caller sets to ask a running job to stop at its next check."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        """Ask the job to stop."""
        self._event.set()

    @property
    def cancelled(self) -> bool:
        """Whether cancel() was called."""
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        """Raise JobCancelled if cancel() was called."""
        if self._event.is_set():
            raise JobCancelled()


T = TypeVar("T")
R = TypeVar("R")


class JobExecutor(Protocol):
    """Where a job runs: `run(fn, *args, progress=, cancel=, **kwargs)` calls
    fn(ctx, *args, progress=..., cancel=..., **kwargs) with a context of its own and returns
    what fn returned (core.child_process: InProcess here, ChildProcess in a child)."""

    def run(self, fn: Callable[..., T], *args: Any, progress: ProgressCallback = no_progress,
            cancel: CancelToken | None = None, **kwargs: Any) -> T:
        """fn's result, run with a context."""
        ...



def run_on_threads(
    work: Callable[..., R],
    jobs: Iterable[tuple[Any, ...]],
    take: Callable[[R], None],
    *,
    workers: int,
    ahead: int,
    name: str,
    cancel: CancelToken,
) -> None:
    """Run `work(*job)` for every job on `workers` threads and hand each result to `take` on
    this thread as it comes; at most `ahead` jobs wait at once, and the token is checked
    between results. Whatever stops the run (a cancel, an error) drops the jobs not started."""
    queue = iter(jobs)
    pending: set[Future[R]] = set()
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name) as pool:
        try:
            while True:
                while len(pending) < ahead:
                    job = next(queue, None)
                    if job is None:
                        break
                    pending.add(pool.submit(work, *job))
                if not pending:
                    break
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    take(fut.result())
                cancel.raise_if_cancelled()
        except BaseException:
            for fut in pending:
                fut.cancel()
            raise
