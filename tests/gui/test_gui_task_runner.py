"""The background-task adapter: outcomes, throttled progress, cancelling and shutting down, on
the real thread pool (the tests above the inline executor's) and in the GUI thread."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QCoreApplication
from pytestqt.qtbot import QtBot

from core.errors import IdfsrError
from core.jobs import CancelToken, Progress, ProgressCallback
from idfsr_desktop.task_runner import InlineExecutor, TaskRunner


@pytest.fixture
def runner(qtbot: QtBot) -> Iterator[TaskRunner]:
    r = TaskRunner()
    yield r
    r.shutdown()


def test_finished_delivers_the_result_in_the_gui_thread(qtbot: QtBot, runner: TaskRunner) -> None:
    seen: list[tuple[object, bool]] = []

    def job(*, progress: ProgressCallback, cancel: CancelToken) -> dict[str, int]:
        return {"answer": 42}

    handle = runner.submit(job, title="Answering", on_finished=lambda r: seen.append(
        (r, threading.current_thread() is threading.main_thread())))
    assert not runner.is_idle()
    with qtbot.waitSignal(handle.ended, timeout=5000):
        pass
    assert seen == [({"answer": 42}, True)]
    assert not handle.running
    assert runner.is_idle()


def test_user_errors_fail_with_their_message(qtbot: QtBot, runner: TaskRunner) -> None:
    def job(*, progress: ProgressCallback, cancel: CancelToken) -> None:
        raise IdfsrError("the folder is gone")

    failures: list[str] = []
    handle = runner.submit(job, title="Failing", on_failed=failures.append)
    qtbot.waitUntil(lambda: not handle.running, timeout=5000)
    assert failures == ["the folder is gone"]
    assert handle.message == "the folder is gone"


def test_bugs_are_logged_with_traceback_and_shown_short(
    qtbot: QtBot, runner: TaskRunner, caplog: pytest.LogCaptureFixture
) -> None:
    def job(*, progress: ProgressCallback, cancel: CancelToken) -> None:
        raise ZeroDivisionError("division by zero")

    failures: list[str] = []
    with caplog.at_level(logging.ERROR, logger="idfsr_desktop.task_runner"):
        handle = runner.submit(job, title="Buggy", on_failed=failures.append)
        qtbot.waitUntil(lambda: not handle.running, timeout=5000)
    assert failures == ["unexpected error (ZeroDivisionError: division by zero); see the log"]
    record = next(r for r in caplog.records if r.name == "idfsr_desktop.task_runner")
    assert record.exc_info is not None and record.exc_info[0] is ZeroDivisionError


def test_progress_is_throttled_but_keeps_stage_changes_and_the_end(
    qtbot: QtBot, runner: TaskRunner
) -> None:
    def job(*, progress: ProgressCallback, cancel: CancelToken) -> int:
        progress(Progress("scanning", 0))
        for i in range(1, 20_001):
            progress(Progress("reading", i, 20_000))
        return 20_000

    reports: list[Progress] = []
    handle = runner.submit(job, title="Chatty", on_progress=reports.append)
    qtbot.waitUntil(lambda: not handle.running, timeout=10_000)
    assert reports[0].stage == "scanning"
    assert reports[-1] == Progress("reading", 20_000, 20_000)
    assert len(reports) < 200  # 20,001 reports in; a handful per 50 ms out


def test_cancel_stops_the_job_through_its_token(qtbot: QtBot, runner: TaskRunner) -> None:
    started = threading.Event()

    def job(*, progress: ProgressCallback, cancel: CancelToken) -> None:
        started.set()
        while True:
            cancel.raise_if_cancelled()
            threading.Event().wait(0.005)

    cancelled: list[bool] = []
    finished: list[object] = []
    handle = runner.submit(job, title="Endless", on_cancelled=lambda: cancelled.append(True),
                           on_finished=finished.append)
    assert started.wait(5)
    handle.cancel()
    qtbot.waitUntil(lambda: not handle.running, timeout=5000)
    assert cancelled == [True] and finished == []


def test_shutdown_cancels_running_tasks_and_waits(qtbot: QtBot) -> None:
    runner = TaskRunner()
    stopped = threading.Event()

    def job(*, progress: ProgressCallback, cancel: CancelToken) -> None:
        try:
            while True:
                cancel.raise_if_cancelled()
                threading.Event().wait(0.005)
        finally:
            stopped.set()

    handle = runner.submit(job, title="Endless")
    assert runner.shutdown(timeout_ms=5000) is True
    assert stopped.is_set() and handle.token.cancelled
    with pytest.raises(RuntimeError):
        runner.submit(job, title="Too late")


# ---- the inline executor: the same outcomes, no threads -------------------------------------


def test_inline_work_waits_for_drain_and_delivers_its_outcome_in_the_gui_thread(
        qtbot: QtBot) -> None:
    tasks = InlineExecutor(auto=False)
    runner = TaskRunner(executor=tasks)
    threads: list[threading.Thread] = []
    seen: list[int] = []

    def job(*, progress: ProgressCallback, cancel: CancelToken) -> int:
        threads.append(threading.current_thread())
        progress(Progress("counting", 1, 1))
        return 42

    reports: list[Progress] = []
    handle = runner.submit(job, title="Answering", on_finished=seen.append,
                           on_progress=reports.append)
    assert tasks.pending == 1 and handle.running and seen == []
    assert tasks.drain() == 1
    assert seen == [42] and reports == [Progress("counting", 1, 1)]
    assert threads == [threading.main_thread()]
    assert handle.state == "done" and runner.is_idle() and tasks.ran == 1


def test_inline_drain_runs_what_the_outcomes_start_and_reports_failures(qtbot: QtBot) -> None:
    tasks = InlineExecutor(auto=False)
    runner = TaskRunner(executor=tasks)
    order: list[str] = []

    def first(*, progress: ProgressCallback, cancel: CancelToken) -> str:
        return "first"

    def second(*, progress: ProgressCallback, cancel: CancelToken) -> str:
        raise IdfsrError("second broke")

    def chain(result: str) -> None:
        order.append(result)
        runner.submit(second, title="Second", on_failed=order.append)

    runner.submit(first, title="First", on_finished=chain)
    assert tasks.drain() == 2
    assert order == ["first", "second broke"]


def test_inline_work_runs_on_the_next_pass_of_the_event_loop_by_itself(qtbot: QtBot) -> None:
    tasks = InlineExecutor()
    runner = TaskRunner(executor=tasks)

    def job(*, progress: ProgressCallback, cancel: CancelToken) -> str:
        return "done"

    seen: list[str] = []
    runner.submit(job, title="Soon", on_finished=seen.append)
    assert seen == []
    QCoreApplication.processEvents()  # one pass of the event loop, as a running app makes
    assert seen == ["done"] and runner.is_idle()


def test_inline_shutdown_runs_pending_work_cancelled(qtbot: QtBot) -> None:
    tasks = InlineExecutor(auto=False)
    runner = TaskRunner(executor=tasks)

    def job(*, progress: ProgressCallback, cancel: CancelToken) -> None:
        cancel.raise_if_cancelled()

    cancelled: list[bool] = []
    handle = runner.submit(job, title="Late", on_cancelled=lambda: cancelled.append(True))
    assert runner.shutdown() is True
    assert cancelled == [True] and handle.state == "cancelled"


def test_task_handles_are_typed_by_what_their_job_returns(tmp_path: Path) -> None:
    """mypy sees TaskHandle[T]: a callback for another type is an error."""
    from mypy import api

    snippet = tmp_path / "typed_tasks.py"
    snippet.write_text(
        "from core.jobs import CancelToken, ProgressCallback\n"
        "from idfsr_desktop.task_runner import InlineExecutor, TaskRunner\n"
        "def job(*, progress: ProgressCallback, cancel: CancelToken) -> int:\n"
        "    return 1\n"
        "def takes_text(text: str) -> None: ...\n"
        "runner = TaskRunner()\n"
        "handle = runner.submit(job, title='x')\n"
        "reveal_type(handle)\n"
        "runner.submit(job, title='y', on_finished=takes_text)\n")
    out, _, status = api.run([str(snippet), "--no-error-summary", "--cache-dir",
                              str(tmp_path / "cache"), "--follow-imports", "silent"])
    assert 'Revealed type is "idfsr_desktop.task_runner.TaskHandle[int]"' in out
    assert ':9: error: Cannot infer value of type parameter "T" of "submit"' in out
    assert status == 1
