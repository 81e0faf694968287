"""The settings dialog: library folders through core, models folder, face backend, device and
output folder saved to the settings file."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from PySide6.QtWidgets import QDialogButtonBox
from pytestqt.qtbot import QtBot

from core.context import AppContext
from core.library.service import add_root, list_photos, list_roots
from core.restore.report import PhotoResult
from idfsr_desktop.main_window import MainWindow
from idfsr_desktop.restore_controller import QueuedPhoto
from idfsr_desktop.settings_dialog import SettingsDialog
from idfsr_desktop.task_runner import InlineExecutor


def test_settings_are_applied_and_saved(qtbot: QtBot, app: AppContext, tmp_path: Path,
                                        make_photos) -> None:
    dialog = SettingsDialog(app)
    qtbot.addWidget(dialog)
    models, outputs = tmp_path / "shared-models", tmp_path / "restored"
    dialog.models_field.edit.setText(str(models))
    dialog.output_field.edit.setText(str(outputs))
    dialog.backend_combo.setCurrentIndex(dialog.backend_combo.findData("embedded"))
    dialog.device_combo.setCurrentIndex(dialog.device_combo.findData("cpu"))
    folder = make_photos("holiday", 2)
    dialog.add_folder(str(folder))
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()

    change = dialog.change
    assert change is not None and change.added_folders == [str(folder.resolve())]
    assert change.face_backend_changed and change.device_changed and change.models_dir_changed
    assert [r.path for r in list_roots(app)] == [str(folder.resolve())]
    assert app.paths.models == models
    saved = json.loads(app.paths.settings_file.read_text())
    assert saved["face_backend"] == "embedded" and saved["device"] == "cpu"
    assert Path(saved["models_dir"]) == models and Path(saved["output_dir"]) == outputs


def test_choosing_another_recognizer_is_a_backend_change(qtbot: QtBot, app: AppContext) -> None:
    dialog = SettingsDialog(app)
    qtbot.addWidget(dialog)
    assert dialog.recognizer_combo.currentData() == "dlib-resnet-v1"  # the default
    dialog.recognizer_combo.setCurrentIndex(dialog.recognizer_combo.findData("mobileface-v1"))
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    assert dialog.change is not None and dialog.change.face_backend_changed
    saved = json.loads(app.paths.settings_file.read_text())
    assert saved["faces"]["recognizer"] == "mobileface-v1"


def test_a_refused_folder_keeps_the_dialog_open_with_the_reason(
    qtbot: QtBot, app: AppContext, tmp_path: Path
) -> None:
    dialog = SettingsDialog(app)
    qtbot.addWidget(dialog)
    dialog.show()
    inside = app.paths.cache / "photos"
    inside.mkdir(parents=True)
    dialog.add_folder(str(inside))
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    assert dialog.isVisible() and dialog.change is None
    assert "app's own data folder" in dialog.error_label.text()
    assert list_roots(app) == []


def test_removing_a_folder_from_the_window_forgets_its_photos(
    qtbot: QtBot, app: AppContext, make_photos, tasks: InlineExecutor
) -> None:
    keep, drop = make_photos("keep", 2), make_photos("drop", 3)
    add_root(app, keep)
    add_root(app, drop)
    window = MainWindow(app, tasks=tasks)
    qtbot.addWidget(window)
    window.show()
    window.index_action.trigger()
    tasks.drain()
    assert window.index_task is not None and not window.index_task.running
    assert len(list_photos(app)) == 5
    dialog = window.open_settings()
    assert dialog.removal_note.isHidden()
    dialog.remove_folder(str(drop.resolve()))
    assert not dialog.removal_note.isHidden()
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    assert dialog.change is not None and dialog.change.photos_removed == 3
    assert [r.path for r in list_roots(app)] == [str(keep.resolve())]
    tasks.drain()
    assert window.library.model.rowCount() == 2
    window.close()


def test_restore_defaults_and_the_work_folder(qtbot: QtBot, window: MainWindow,
                                              app: AppContext, tasks: InlineExecutor) -> None:
    # An old unexported result, a recent one, and one the Restore page shows.
    work = window.restorer.work_folder()
    work.mkdir(parents=True)
    for name in ("old-restored.png", "recent-restored.png", "shown-restored.png"):
        (work / name).write_bytes(b"x" * 2000)
    long_ago = time.time() - 40 * 86_400
    os.utime(work / "old-restored.png", (long_ago, long_ago))
    window.restorer.prune_old_work()  # as at start: 14 days by default
    qtbot.waitUntil(lambda: not (work / "old-restored.png").exists(), timeout=10_000)
    assert (work / "recent-restored.png").exists()

    shown = QueuedPhoto(work / "shown.png")
    shown.result = PhotoResult(str(work / "shown.png"), "restored",
                               output=str(work / "shown-restored.png"))
    window.restorer.photos.append(shown)
    dialog = window.open_settings()
    tab = dialog.restoring
    tasks.drain()
    assert tab.usage_label.text() == "4.0 KB in 2 files"
    assert tab.knobs.steps.value() == 25 and tab.keep_days.value() == 14
    tab.knobs.steps.setValue(12)
    tab.knobs.candidates.setValue(6)
    tab.knobs.scale.setValue(3.0)
    tab.keep_days.setValue(0)
    tab.clear_button.click()
    tasks.drain()
    assert "freed" in tab.usage_label.text()
    assert tab.usage_label.text() == "2.0 KB in 1 file (2.0 KB freed)"
    assert sorted(p.name for p in work.iterdir()) == ["shown-restored.png"]
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()

    assert dialog.change is not None and dialog.change.restore_defaults_changed
    saved = json.loads(app.paths.settings_file.read_text())["restore"]
    assert (saved["steps"], saved["candidates"], saved["scale"], saved["keep_work_days"]) == (
        12, 6, 3.0, 0)
    options = window.restore.options.options()  # the Restore page starts from them now
    assert (options.steps, options.candidates, options.scale) == (12, 6, 3.0)
    with AppContext.open(app.paths.home) as again:
        assert again.settings.restore.steps == 12
        assert window.restorer.prune_old_work() is None  # 0 days: never pruned
