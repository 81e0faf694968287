"""Cancelling a long indexing run from the status bar: responsive, clearly cancelled, resumable."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from pytestqt.qtbot import QtBot

from core.context import AppContext
from core.library.service import list_photos
from idfsr_desktop.main_window import MainWindow

COUNT = 300  # as many as the `many_photos` fixture makes


@pytest.mark.threaded  # watches the task while it runs
def test_cancel_during_indexing_then_rerun(
    qtbot: QtBot, window: MainWindow, app: AppContext, many_photos: Path
) -> None:
    app.settings.index.workers = 1  # slow enough to be caught in the middle on any machine
    ticks: list[float] = []
    heartbeat = QTimer()
    heartbeat.setInterval(20)
    heartbeat.timeout.connect(lambda: ticks.append(time.monotonic()))
    heartbeat.start()

    window.add_folder(str(many_photos))
    handle = window.index_task
    assert handle is not None
    status = window.task_status
    qtbot.waitUntil(lambda: status.label.text().startswith("Indexing photos: ")
                    and " of 300" in status.label.text(), timeout=20_000)
    # Let it get going, so the heartbeat below spans real work.
    qtbot.waitUntil(lambda: handle.last_progress is not None and handle.last_progress.done >= 30,
                    timeout=20_000)
    assert status.cancel_button.isVisible() and status.bar.isVisible()
    assert status.bar.maximum() == COUNT

    cancelled: list[bool] = []
    handle.cancelled.connect(lambda: cancelled.append(True))
    qtbot.mouseClick(status.cancel_button, Qt.MouseButton.LeftButton)
    assert not status.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: not handle.running, timeout=20_000)
    heartbeat.stop()

    assert cancelled == [True]
    assert status.label.text().startswith("Indexing photos: cancelled. Indexing stopped after")
    assert not status.cancel_button.isVisible() and not status.bar.isVisible()
    assert window.index_action.isEnabled()
    kept = len(list_photos(app))
    assert 0 < kept < COUNT  # what was read is kept, the rest was not
    assert window.library.model.rowCount() == kept
    # The event loop kept turning while indexing ran.
    gaps = [b - a for a, b in zip(ticks, ticks[1:], strict=False)]
    assert len(ticks) > 10 and max(gaps) < 1.0

    window.index_action.trigger()
    # The rest of the 300 photos, faces included: about a minute on a busy 2-core machine.
    qtbot.waitUntil(lambda: window.index_task is not None and not window.index_task.running,
                    timeout=180_000)
    assert len(list_photos(app)) == COUNT
    window.library.model.fetch_all()
    assert window.library.model.rowCount() == COUNT
    assert status.label.text().startswith("Library up to date: 300 photos seen")
