"""The fuzz corpus (tests/core/test_fuzz_corpus.py) dropped on the app: every damaged or odd
file is queued, looked at and given a plain status and message; no exception escapes
into Qt, no traceback reaches the user, and the window goes on working."""

from __future__ import annotations

import os
from pathlib import Path

from fuzz_corpus import build
from pytestqt.qtbot import QtBot
from qt_drag import drop
from squares_backend import SquaresBackend

from core.context import AppContext
from core.faces.backends import FACE_BACKEND
from idfsr_desktop.main_window import MainWindow
from idfsr_desktop.task_runner import InlineExecutor

SETTLED = {"ready", "no_faces", "error"}


def test_the_corpus_dropped_on_the_restore_page(qtbot: QtBot, window: MainWindow,
                                                app: AppContext, tmp_path: Path,
                                                tasks: InlineExecutor) -> None:
    app.models.put(FACE_BACKEND, SquaresBackend())  # the engine's handling, not a detector's
    files, damaged = build(tmp_path / "dropped ünï")
    # Every format, good and damaged; the odd (non-UTF-8) names included.
    chosen = [Path(os.fsdecode(p)) for i, p in enumerate(sorted(files)) if i % 5 == 0]
    assert len(chosen) >= 40 and damaged
    page = window.restore
    window.show_page("restore")
    assert drop(page, chosen)
    controller = page.controller
    missing = set(chosen) - {p.path for p in controller.photos}
    assert not missing, missing
    tasks.drain()
    assert all(p.status in SETTLED for p in controller.photos)
    errors = [p for p in controller.photos if p.status == "error"]
    assert errors, "the corpus has files that cannot be read"
    for photo in errors:
        assert photo.message and "Traceback" not in photo.message, photo.path
        assert "\n" not in photo.message.strip(), photo.message
    # The page still takes work: the same drop again adds nothing twice.
    assert drop(window, chosen[:3])
    assert len(controller.photos) == len(chosen)
