"""The Library page over a real library: adding, indexing, thumbnails and the status filter."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QFileDialog, QMessageBox
from pytestqt.qtbot import QtBot

from core.context import AppContext
from core.library.service import add_root, list_photos
from core.library.thumbnails import thumbnail_file
from idfsr_desktop.main_window import MainWindow
from idfsr_desktop.photo_list_model import PhotoRole, StatusRole, ThumbnailUnavailableRole
from idfsr_desktop.task_runner import InlineExecutor

INDEX_TIMEOUT_MS = 30_000


def wait_for_indexing(qtbot: QtBot, window: MainWindow) -> None:
    """Until the window's indexing run has ended."""
    qtbot.waitUntil(lambda: window.index_task is not None and not window.index_task.running,
                    timeout=INDEX_TIMEOUT_MS)


def test_add_folder_action_adds_and_indexes(
    qtbot: QtBot, window: MainWindow, app: AppContext, make_photos, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = make_photos("holiday", 5)
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(folder))
    window.add_folder_action.trigger()
    wait_for_indexing(qtbot, window)

    assert len(list_photos(app)) == 5
    assert window.library.model.rowCount() == 5
    assert window.library.pages.currentWidget() is window.library.view
    assert window.library.counts_label.text() == "5 photos in 1 folder"
    assert window.task_status.label.text().startswith("Library up to date: 5 photos seen")
    assert window.index_action.isEnabled()


def test_index_now_action_indexes_a_folder_added_elsewhere(
    qtbot: QtBot, window: MainWindow, app: AppContext, make_photos
) -> None:
    folder = make_photos("family", 4)
    add_root(app, folder)  # e.g. by the CLI while the window is open
    window.index_action.trigger()
    assert not window.index_action.isEnabled()  # one indexing run at a time
    wait_for_indexing(qtbot, window)

    names = sorted(Path(p.path).name for p in list_photos(app))
    assert names == [f"photo_{i:04d}.jpg" for i in range(4)]
    model = window.library.model
    assert model.rowCount() == 4
    assert [model.index(r).data() for r in range(4)] == names


def test_thumbnails_load_lazily_for_the_rows_on_screen(
    qtbot: QtBot, window: MainWindow, app: AppContext, make_photos, tasks: InlineExecutor
) -> None:
    app.settings.index.thumbnails_on_index = False  # the cache starts empty: made on demand
    window.resize(800, 600)
    folder = make_photos("thumbs", 80, size=(400, 300))
    window.add_folder(str(folder))
    wait_for_indexing(qtbot, window)
    model = window.library.model
    assert model.rowCount() == 80
    loader = window.library.thumbnails
    first, last = model.index(0), model.index(79)
    first_thumb = thumbnail_file(app.paths.thumbnails, first.data(PhotoRole).content_hash)
    last_thumb = thumbnail_file(app.paths.thumbnails, last.data(PhotoRole).content_hash)

    # Only the view asks for thumbnails here (peeking at the cache asks for nothing).
    # The thumbnail loader has a pool of its own: that wait stays.
    qtbot.waitUntil(lambda: loader.cached(first.data(PhotoRole)) is not None, timeout=10_000)
    tasks.drain()
    qtbot.waitUntil(window.is_idle, timeout=10_000)  # the rest of the screen's thumbnails
    assert first_thumb.exists()
    assert not last_thumb.exists()  # off screen: nothing done for it yet
    assert loader.cached(last.data(PhotoRole)) is None

    window.library.view.scrollTo(window.library.view_index(79))
    qtbot.waitUntil(lambda: loader.cached(last.data(PhotoRole)) is not None, timeout=10_000)
    assert last_thumb.exists()
    pixmap = last.data(Qt.ItemDataRole.DecorationRole)
    assert isinstance(pixmap, QPixmap) and not pixmap.isNull()
    # Fitted to the grid's box, keeping the 4:3 aspect ratio.
    assert pixmap.width() == model.thumbnail_size.width()
    assert abs(pixmap.height() - pixmap.width() * 3 / 4) <= 1


def test_unreadable_and_missing_filters(
    qtbot: QtBot, window: MainWindow, app: AppContext, make_photos
) -> None:
    folder = make_photos("mixed", 3)
    (folder / "empty.jpg").write_bytes(b"")
    window.add_folder(str(folder))
    wait_for_indexing(qtbot, window)
    library = window.library
    assert library.model.rowCount() == 4
    assert "1 unreadable" in library.counts_label.text()

    library.filter_combo.setCurrentText("Unreadable")
    assert library.status_filter == "error"
    model = library.model
    assert model.rowCount() == 1
    index = model.index(0)
    assert index.data() == "empty.jpg"
    assert index.data(StatusRole) == "error"
    assert index.data(ThumbnailUnavailableRole) is True
    reason = next(p.error for p in list_photos(app, status="error"))
    assert reason and reason in index.data(Qt.ItemDataRole.ToolTipRole)
    assert index.data(Qt.ItemDataRole.DecorationRole) is None

    library.filter_combo.setCurrentText("Missing")
    assert model.rowCount() == 0
    assert library.pages.currentWidget() is library.empty_state
    assert library.empty_state.title.text() == "No missing photos"

    (folder / "photo_0001.jpg").unlink()
    window.index_action.trigger()
    wait_for_indexing(qtbot, window)
    assert model.rowCount() == 1
    assert model.index(0).data() == "photo_0001.jpg"
    assert "Missing" in model.index(0).data(Qt.ItemDataRole.ToolTipRole)
    assert library.pages.currentWidget() is library.view

    library.filter_combo.setCurrentText("All")
    assert model.rowCount() == 4


def test_adding_a_bad_folder_says_why_without_blocking(
    qtbot: QtBot, window: MainWindow, tmp_path: Path
) -> None:
    assert window.add_folder(str(tmp_path / "no-such-folder")) is False
    qtbot.waitUntil(lambda: any(b.isVisible() for b in window.findChildren(QMessageBox)))
    box = next(b for b in window.findChildren(QMessageBox) if b.isVisible())
    assert "no such folder" in box.text()
    assert window.index_task is None
    box.close()
