"""Work in a child process: results, progress, cancel, errors, a dead child, close."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest
from process_support import gone_within, running

from core.child_process import ChildJobFailed, ChildProcess, ChildProcessEnded, InProcess, check_job
from core.errors import IdfsrError, JobCancelled, LibraryError
from core.jobs import CancelToken, Progress

CHECK = check_job


@pytest.fixture
def engine(tmp_path: Path):
    engine = ChildProcess(tmp_path / "home")
    yield engine
    engine.close()


def test_a_job_runs_in_the_child_with_progress_and_keeps_the_child(engine: ChildProcess,
                                                                   tmp_path: Path) -> None:
    seen: list[Progress] = []
    out = engine.run(CHECK, 4, progress=seen.append)
    assert out["pid"] != os.getpid() and out["pid"] == engine.pid
    assert Path(out["home"]) == (tmp_path / "home").absolute()
    assert [(p.done, p.total) for p in seen] == [(1, 4), (2, 4), (3, 4), (4, 4)]
    again = engine.run(CHECK, 1)  # the next job: same child, models stay loaded
    assert again["pid"] == out["pid"]


def test_errors_come_back_as_the_same_type_and_the_child_goes_on(engine: ChildProcess) -> None:
    with pytest.raises(LibraryError, match="that folder is gone"):
        engine.run(CHECK, 1, fail="that folder is gone")
    assert engine.run(CHECK, 1)["steps"] == 1
    with pytest.raises(ChildJobFailed, match=r"worker process \(ValueError: invalid literal"):
        engine.call(int, "not a number")  # not one of ours: a clear message, not a hang
    assert engine.call(int, "12") == 12


def test_what_cannot_cross_is_refused_at_once_with_the_reason(engine: ChildProcess) -> None:
    with pytest.raises(TypeError, match="cannot run in a child process"):
        engine.run(lambda ctx, **_: 1)
    with pytest.raises(TypeError, match="cannot run in a child process"):
        engine.call(len, threading.Lock())
    assert engine.pid is None  # nothing was started for them


def test_cancel_stops_the_job_and_not_the_next(engine: ChildProcess) -> None:
    cancel = CancelToken()
    started = threading.Event()

    def progress(report: Progress) -> None:
        started.set()
        cancel.cancel()

    with pytest.raises(JobCancelled):
        engine.run(CHECK, 500, 0.02, progress=progress, cancel=cancel)
    assert started.is_set()
    assert engine.run(CHECK, 2)["steps"] == 2


def long_job_under_way(engine: ChildProcess) -> tuple[threading.Thread, list[BaseException]]:
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
        engine: ChildProcess) -> None:
    first = engine.run(CHECK, 1)["pid"]
    worker, result = long_job_under_way(engine)
    os.kill(first, signal.SIGKILL)
    worker.join(30)
    assert result and isinstance(result[0], ChildProcessEnded)
    assert "ended unexpectedly (exit code -9)" in str(result[0])
    assert engine.run(CHECK, 1)["pid"] not in (first, None)


def test_a_crash_in_the_child_is_a_clear_error(engine: ChildProcess) -> None:
    with pytest.raises(ChildProcessEnded, match=r"ended unexpectedly \(exit code 3\)"):
        engine.call(os._exit, 3)  # as a segfaulting extension or the OOM killer would
    assert engine.call(os.getpid) not in (os.getpid(), None)


def test_stop_ends_the_child_and_the_next_call_starts_another(engine: ChildProcess) -> None:
    pid = engine.call(os.getpid)
    engine.stop()
    assert engine.pid is None and not running(pid)
    assert engine.call(os.getpid) not in (pid, None)


def test_in_process_runs_the_same_job_with_the_same_contract(tmp_path: Path) -> None:
    from core.context import AppContext

    seen: list[Progress] = []
    with AppContext.open(tmp_path / "home") as ctx:
        out = InProcess(ctx).run(CHECK, 2, progress=seen.append)
        assert out["pid"] == os.getpid() and [p.done for p in seen] == [1, 2]
        cancel = CancelToken()
        cancel.cancel()
        with pytest.raises(JobCancelled):
            InProcess(ctx).run(CHECK, 2, cancel=cancel)


def test_close_ends_a_running_job_and_the_child(engine: ChildProcess) -> None:
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
        "from core.child_process import ChildProcess, check_job\n"
        "if __name__ == '__main__':\n"
        "    engine = ChildProcess(sys.argv[1])\n"
        "    engine.run(check_job, 1)\n"
        "    print(engine.pid, flush=True)\n"
        "    engine.run(check_job, 100000, 0.01)\n"
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



def test_a_job_waiting_behind_another_says_so_and_can_be_cancelled(
        engine: ChildProcess) -> None:
    worker, result = long_job_under_way(engine)
    seen: list[Progress] = []
    cancel = CancelToken()

    def progress(report: Progress) -> None:
        seen.append(report)
        cancel.cancel()  # the user gives up on the queued job

    with pytest.raises(JobCancelled):
        engine.run(CHECK, 1, progress=progress, cancel=cancel)
    assert [p.stage for p in seen] == ["waiting"]
    assert worker.is_alive()  # the running job goes on
    engine.close()
    worker.join(30)
    assert result and isinstance(result[0], JobCancelled)


def test_the_app_exits_at_once_after_its_child_died_with_a_large_request_unread(
        tmp_path: Path) -> None:
    """A request larger than the pipe's buffer, sent to a child that died before reading it,
    must not hold the app's exit (multiprocessing joins a queue's feeder thread at exit)."""
    import subprocess
    import sys

    script = (
        "import os, signal, sys, threading\n"
        "from core.child_process import ChildProcess, ChildProcessEnded\n"
        "if __name__ == '__main__':\n"
        "    engine = ChildProcess(sys.argv[1])\n"
        "    engine.call(len, b'')\n"
        "    pid = engine.pid\n"
        "    os.kill(pid, signal.SIGSTOP)  # alive, but reads nothing more\n"
        "    threading.Timer(0.5, os.kill, (pid, signal.SIGKILL)).start()\n"
        "    try:\n"
        "        engine.call(len, b'x' * (4 << 20))\n"
        "    except ChildProcessEnded:\n"
        "        print('ended', flush=True)\n"
    )
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "home")],
                          capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ended"
