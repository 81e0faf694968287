"""The Jobs page: every listed task of the shared runner, with progress, time left, cancel and
the reason of a failure; helper tasks stay out of it."""

from __future__ import annotations

import threading
import time

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from core.errors import IdfsrError
from core.jobs import CancelToken, Progress, ProgressCallback
from idfsr_desktop.job_list_model import FractionRole, progress_words
from idfsr_desktop.main_window import MainWindow
from idfsr_desktop.task_runner import InlineExecutor


def slow_job(steps: int, step_s: float, started: threading.Event | None = None):
    def job(*, progress: ProgressCallback, cancel: CancelToken) -> int:
        if started is not None:
            started.set()
        for i in range(1, steps + 1):
            cancel.raise_if_cancelled()
            time.sleep(step_s)
            progress(Progress("steps", i, steps))
        return steps
    return job


def test_jobs_page_lists_work_with_progress_and_outcomes(qtbot: QtBot,
                                                         window: MainWindow,
                                                         tasks: InlineExecutor) -> None:
    jobs = window.jobs
    window.page_actions[3].trigger()  # Jobs
    assert window.pages.currentWidget() is jobs
    assert jobs.stack.currentWidget() is jobs.empty_state

    def broken(*, progress: ProgressCallback, cancel: CancelToken) -> None:
        raise IdfsrError("the folder /photos/2003 is not readable (permission denied)")

    done = window.runner.submit(slow_job(5, 0.01), title="Quick work")
    tasks.drain()
    assert not done.running
    # The status bar does not go on showing its last progress ("5 of 5") as if it ran.
    assert window.task_status.label.text() == "Quick work: done"
    failed = window.runner.submit(broken, title="Broken work")
    tasks.drain()
    assert not failed.running
    helper = window.runner.submit(slow_job(1, 0.0), title="Helper", listed=False)
    tasks.drain()
    assert not helper.running

    model = jobs.model
    assert jobs.stack.currentWidget() is jobs.view
    assert [h.title for h in model.handles()][:2] == ["Broken work", "Quick work"]
    assert "Helper" not in [h.title for h in model.handles()]
    quick = [h.title for h in model.handles()].index("Quick work")
    assert model.index(quick, 2).data().startswith("Done in ")
    assert model.index(quick, 1).data(FractionRole) == 1.0
    assert model.index(0, 2).data() == \
        "Failed: the folder /photos/2003 is not readable (permission denied)"
    jobs.select_row(0)
    assert "Broken work failed." in jobs.details.text()
    assert "permission denied" in jobs.details.text()
    assert not jobs.cancel_button.isEnabled()

    qtbot.mouseClick(jobs.clear_button, Qt.MouseButton.LeftButton)
    assert all(h.running for h in model.handles())


@pytest.mark.threaded  # watches the task while it runs
def test_cancel_a_job_from_the_jobs_page(qtbot: QtBot, window: MainWindow) -> None:
    jobs = window.jobs
    window.page_actions[3].trigger()  # Jobs
    started = threading.Event()
    handle = window.runner.submit(slow_job(400, 0.02, started), title="Long work")
    assert started.wait(10)
    qtbot.waitUntil(lambda: handle.last_progress is not None, timeout=10_000)
    assert window.jobs_button.text() == "Jobs (1 running)"
    jobs.select_row(0)
    assert jobs.model.index(0, 1).data().startswith("Steps: ")
    assert jobs.model.index(0, 2).data().startswith("Running")
    assert jobs.cancel_button.isEnabled()
    qtbot.mouseClick(jobs.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not handle.running, timeout=10_000)
    assert handle.state == "cancelled"
    assert jobs.model.index(0, 2).data().startswith("Cancelled after ")
    assert "Long work</b> was cancelled" in jobs.details.text()
    qtbot.waitUntil(lambda: window.jobs_button.text() == "Jobs")


@pytest.mark.threaded  # watches the task while it runs
def test_time_left_appears_once_the_pace_is_known(qtbot: QtBot, window: MainWindow) -> None:
    handle = window.runner.submit(slow_job(60, 0.05), title="Paced work")
    row_status = window.jobs.model.index(0, 2)
    qtbot.waitUntil(lambda: "left" in (row_status.data() or ""), timeout=15_000)
    assert row_status.data().startswith("Running · about ")
    handle.cancel()
    qtbot.waitUntil(lambda: not handle.running, timeout=10_000)


def test_progress_words() -> None:
    assert progress_words(None) == ""
    assert progress_words(Progress("faces", 3, 10)) == "Faces: 3 of 10"
    assert progress_words(Progress("people", 0, None, "matching new faces")) == \
        "People: matching new faces"
