"""Where the app's jobs run, decided in one place for every controller.

The rule: a job that loads torch models and runs them for long (fitting, restoring) runs
in the app's one child process while a window waits on this process (`ctx.interactive`),
because torch holds the GIL long enough to freeze the window; every other job (finding
faces, recomposing, indexing, queries), and every job when no window waits (the CLI,
tests without a window), runs in this process on the task runner's threads. Indexing's
GIL-holding face extensions follow the same `ctx.interactive` into their own child
(core.faces.child_calls): they are called many times a photo, between steps that must stay
here.

    placement = JobPlacement.for_window(ctx)
    executor = placement.executor(JobKind.FIT)   # ChildProcess or InProcess
    outcome = executor.run(fit_person, person_id, progress=progress, cancel=cancel)
"""

from __future__ import annotations

from collections.abc import Set
from enum import StrEnum

from core.child_process import ChildProcess, InProcess
from core.context import AppContext
from core.jobs import JobExecutor


class JobKind(StrEnum):
    """The app's kinds of background job, as far as where they run is concerned."""

    FIT = "fit"
    RESTORE = "restore"
    FIND_FACES = "find faces"
    RECOMPOSE = "recompose"
    INDEX = "index"


TORCH_JOBS: frozenset[JobKind] = frozenset({JobKind.FIT, JobKind.RESTORE})


def runs_in_child(kind: JobKind, interactive: bool, in_child: Set[JobKind] = TORCH_JOBS
                  ) -> bool:
    """Whether a job of this kind runs in the child process: one of `in_child` while a
    window waits on this process."""
    return interactive and kind in in_child


class JobPlacement:
    """Hands each controller the executor for its jobs; owns the one child process."""

    def __init__(self, ctx: AppContext, *, in_child: Set[JobKind] = TORCH_JOBS,
                 child: ChildProcess | None = None) -> None:
        """`in_child`: the kinds that go to the child when a window waits (an empty set keeps
        everything here: tests with stand-in jobs); `child`: the child to use (default: one
        over ctx's home, started on the first job sent to it)."""
        self._ctx = ctx
        self.in_child = frozenset(in_child)
        self._child = child
        self._here = InProcess(ctx)

    @classmethod
    def for_window(cls, ctx: AppContext) -> JobPlacement:
        """The placement of an app window: marks the context interactive (a window waits on
        this process, so GIL-holding work leaves it) and sends torch jobs to the child."""
        ctx.interactive = True
        return cls(ctx)

    def runs_in_child(self, kind: JobKind) -> bool:
        """Whether jobs of this kind run in the child process (see the module's rule)."""
        return runs_in_child(kind, self._ctx.interactive, self.in_child)

    def executor(self, kind: JobKind) -> JobExecutor:
        """Where to run a job of this kind: the shared child, or this process."""
        if not self.runs_in_child(kind):
            return self._here
        if self._child is None:
            self._child = ChildProcess(self._ctx.paths.home, name="idfsr-jobs")
        return self._child

    @property
    def child(self) -> ChildProcess | None:
        """The child process, once a job needed it."""
        return self._child

    def close(self) -> None:
        """Stop the child's running job and end the child; later jobs for it are refused."""
        if self._child is None:  # so that no job starts one from now on
            self._child = ChildProcess(self._ctx.paths.home, name="idfsr-jobs")
        self._child.close()
