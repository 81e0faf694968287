"""The settings dialog: library folders through core, models folder, face backend, device and
output folder saved to the settings file."""

from __future__ import annotations

import json
from pathlib import Path

from PySide6.QtWidgets import QDialogButtonBox
from pytestqt.qtbot import QtBot

from core.context import AppContext
from core.library.service import add_root, list_photos, list_roots
from idfsr_desktop.main_window import MainWindow
from idfsr_desktop.settings_dialog import SettingsDialog


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
    qtbot: QtBot, app: AppContext, make_photos
) -> None:
    keep, drop = make_photos("keep", 2), make_photos("drop", 3)
    add_root(app, keep)
    add_root(app, drop)
    window = MainWindow(app)
    qtbot.addWidget(window)
    window.show()
    window.index_action.trigger()
    qtbot.waitUntil(lambda: window.index_task is not None and not window.index_task.running,
                    timeout=60_000)
    assert len(list_photos(app)) == 5
    dialog = window.open_settings()
    assert dialog.removal_note.isHidden()
    dialog.remove_folder(str(drop.resolve()))
    assert not dialog.removal_note.isHidden()
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    assert dialog.change is not None and dialog.change.photos_removed == 3
    assert [r.path for r in list_roots(app)] == [str(keep.resolve())]
    qtbot.waitUntil(lambda: window.library.model.rowCount() == 2)
    window.close()
