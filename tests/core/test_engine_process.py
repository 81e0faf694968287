"""Core jobs in a child process: results, progress, cancel, errors, a dead child, close."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest
from process_support import gone_within, running

from core.engine_process import EngineProcess
from core.errors import IdfsrError, JobCancelled, LibraryError
from core.jobs import CancelToken, Progress

CHECK = "core.engine_process:check_job"


@pytest.fixture
def engine(tmp_path: Path):
    engine = EngineProcess(tmp_path / "home")
    yield engine
    engine.close()


def test_a_job_runs_in_the_child_with_progress_and_keeps_the_child(engine: EngineProcess,
                                                                   tmp_path: Path) -> None:
    seen: list[Progress] = []
    out = engine.run(CHECK, 4, progress=seen.append)
    assert out["pid"] != os.getpid() and out["pid"] == engine.pid
    assert Path(out["home"]) == (tmp_path / "home").absolute()
    assert [(p.done, p.total) for p in seen] == [(1, 4), (2, 4), (3, 4), (4, 4)]
    again = engine.run(CHECK, 1)  # the next job: same child, models stay loaded
    assert again["pid"] == out["pid"]


def test_errors_come_back_as_the_same_type_and_the_child_goes_on(engine: EngineProcess) -> None:
    with pytest.raises(LibraryError, match="that folder is gone"):
        engine.run(CHECK, 1, fail="that folder is gone")
    assert engine.run(CHECK, 1)["steps"] == 1
    with pytest.raises(ValueError, match="not a core job"):
        engine.run("os:system", "true")


def test_cancel_stops_the_job_and_not_the_next(engine: EngineProcess) -> None:
    cancel = CancelToken()
    started = threading.Event()

    def progress(report: Progress) -> None:
        started.set()
        cancel.cancel()

    with pytest.raises(JobCancelled):
        engine.run(CHECK, 500, 0.02, progress=progress, cancel=cancel)
    assert started.is_set()
    assert engine.run(CHECK, 2)["steps"] == 2


def long_job_under_way(engine: EngineProcess) -> tuple[threading.Thread, list[BaseException]]:
    """A 20 s job started from another thread, returned once it has reported progress;
    the list receives the error it ends with."""
    result: list[BaseException] = []
    started = threading.Event()

    def long_job() -> None:
        try:
            engine.run(CHECK, 1000, 0.02, progress=lambda report: started.set())
        except IdfsrError as exc:
            result.append(exc)

    worker = threading.Thread(target=long_job)
    worker.start()
    assert started.wait(30)
    return worker, result


def test_a_killed_child_is_a_clear_error_and_the_next_job_starts_another(
        engine: EngineProcess) -> None:
    first = engine.run(CHECK, 1)["pid"]
    worker, result = long_job_under_way(engine)
    os.kill(first, signal.SIGKILL)
    worker.join(30)
    assert result and "ended unexpectedly" in str(result[0])
    assert engine.run(CHECK, 1)["pid"] not in (first, None)


def test_close_ends_a_running_job_and_the_child(engine: EngineProcess) -> None:
    pid = engine.run(CHECK, 1)["pid"]
    worker, result = long_job_under_way(engine)
    engine.close()
    worker.join(30)
    assert result and isinstance(result[0], JobCancelled)
    assert engine.pid is None and not running(pid)
    with pytest.raises(JobCancelled):
        engine.run(CHECK, 1)


def test_a_job_stops_when_the_app_that_asked_for_it_is_gone(tmp_path: Path) -> None:
    """The app killed mid-fit: its job process stops at the job's next check, not minutes
    later, and exits."""
    import subprocess
    import sys
    import time

    script = (
        "import sys\n"
        "from core.engine_process import EngineProcess\n"
        "if __name__ == '__main__':\n"
        "    engine = EngineProcess(sys.argv[1])\n"
        "    engine.run('core.engine_process:check_job', 1)\n"
        "    print(engine.pid, flush=True)\n"
        "    engine.run('core.engine_process:check_job', 100000, 0.01)\n"
    )
    app = subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "home")],
                           stdout=subprocess.PIPE, text=True,
                           cwd=Path(__file__).resolve().parents[2])
    assert app.stdout is not None
    child = int(app.stdout.readline())
    time.sleep(0.5)  # the long job is under way
    app.kill()
    app.wait()
    assert gone_within(child, 10), "the job process outlived its app by 10 s"

