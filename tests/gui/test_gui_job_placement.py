"""Where the app's jobs run: the one rule every controller asks, and the one child it owns."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.child_process import ChildProcess, InProcess, check_job
from core.context import AppContext
from core.errors import JobCancelled
from core.jobs import Progress
from idfsr_desktop.job_placement import TORCH_JOBS, JobKind, JobPlacement, runs_in_child


def test_the_rule_sends_torch_jobs_to_the_child_only_while_a_window_waits() -> None:
    assert {JobKind.FIT, JobKind.RESTORE} == TORCH_JOBS
    for kind in JobKind:
        assert runs_in_child(kind, interactive=False) is False  # the CLI, tests, scripts
        assert runs_in_child(kind, interactive=True) is (kind in TORCH_JOBS)
    assert runs_in_child(JobKind.FIT, interactive=True, in_child=set()) is False


def test_without_a_window_every_job_runs_here(app: AppContext) -> None:
    placement = JobPlacement(app)
    assert not app.interactive
    assert all(isinstance(placement.executor(kind), InProcess) for kind in JobKind)
    assert placement.child is None  # nothing was started


def test_a_window_gets_one_child_for_fitting_and_restoring(app: AppContext) -> None:
    placement = JobPlacement.for_window(app)
    try:
        assert app.interactive  # the face extensions follow the same flag into their child
        fit, restore = placement.executor(JobKind.FIT), placement.executor(JobKind.RESTORE)
        assert isinstance(fit, ChildProcess) and restore is fit  # one torch process, not two
        for kind in (JobKind.FIND_FACES, JobKind.RECOMPOSE, JobKind.INDEX):
            assert isinstance(placement.executor(kind), InProcess)
        seen: list[Progress] = []
        out = fit.run(check_job, 2, progress=seen.append)
        assert out["pid"] == placement.child.pid != os.getpid()  # type: ignore[union-attr]
        assert Path(out["home"]) == app.paths.home.absolute() and len(seen) == 2
    finally:
        placement.close()
    assert placement.child is not None and placement.child.pid is None
    with pytest.raises(JobCancelled):
        placement.executor(JobKind.FIT).run(check_job, 1)


def test_an_empty_set_keeps_everything_here_and_close_starts_nothing(app: AppContext) -> None:
    placement = JobPlacement.for_window(app)
    placement.in_child = frozenset()
    assert isinstance(placement.executor(JobKind.FIT), InProcess)
    assert placement.executor(JobKind.FIT).run(check_job, 1)["pid"] == os.getpid()
    placement.close()
    placement.in_child = TORCH_JOBS
    with pytest.raises(JobCancelled, match="closing"):
        placement.executor(JobKind.RESTORE).run(check_job, 1)
    assert placement.child is not None and placement.child.pid is None
