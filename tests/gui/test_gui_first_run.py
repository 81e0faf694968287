"""First run: folders or the demo library, the models and the device, and a model pack that is
downloaded only after the user has read and accepted its licence."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

import core.models.download as download_mod
from core.context import AppContext
from core.jobs import CancelToken, ProgressCallback
from core.library.service import list_photos, list_roots
from core.models.catalog import INSIGHTFACE_LICENCE, PackSpec
from core.models.download import InstallReport
from core.people.edits import rename
from core.people.service import list_people, resolve_person
from core.resources import demo_library_path
from idfsr_desktop.main_window import MainWindow
from idfsr_desktop.pack_licence_dialog import PackLicenceDialog
from idfsr_desktop.task_runner import InlineExecutor


def test_model_and_device_status(no_bundled_model: Path, qtbot: QtBot, window: MainWindow,
                                 tasks: InlineExecutor
                                 ) -> None:
    models = window.first_run.models
    tasks.drain()
    assert models.report is not None
    assert models.faces_value.text().startswith("Embedded models")
    assert models.restoration_value.text().startswith("Not installed yet")
    device = models.report.device
    assert device.kind in {"cpu", "cuda", "mps"}
    assert models.device_value.text().startswith(device.name)
    assert models.offer_button.isVisible()
    assert "non-commercial" in models.offer_label.text() and "MB" in models.offer_label.text()


def test_a_pack_is_downloaded_only_after_its_licence_is_accepted(
    qtbot: QtBot, window: MainWindow, app: AppContext, monkeypatch: pytest.MonkeyPatch,
    tasks: InlineExecutor
) -> None:
    installs: list[str] = []

    def fake_install(models: Path, spec: PackSpec, *, progress: ProgressCallback,
                     cancel: CancelToken) -> InstallReport:
        installs.append(spec.name)
        return InstallReport(spec.name, models / "insightface" / spec.name, bytes=1)

    monkeypatch.setattr(download_mod, "install_pack", fake_install)
    models = window.first_run.models
    tasks.drain()
    assert models.report is not None

    qtbot.mouseClick(models.offer_button, Qt.MouseButton.LeftButton)
    dialog = window.findChild(PackLicenceDialog)
    assert dialog is not None
    qtbot.waitUntil(dialog.isVisible)
    assert dialog.licence.toPlainText() == INSIGHTFACE_LICENCE
    assert not dialog.download_button.isEnabled()
    dialog.accept()  # Enter without ticking the box: refused
    assert dialog.isVisible() and installs == []
    dialog.reject()
    qtbot.waitUntil(lambda: not dialog.isVisible())
    assert installs == []

    qtbot.mouseClick(models.offer_button, Qt.MouseButton.LeftButton)
    dialog = next(d for d in window.findChildren(PackLicenceDialog) if d.isVisible())
    dialog.accept_box.setChecked(True)
    assert dialog.download_button.isEnabled()
    qtbot.mouseClick(dialog.download_button, Qt.MouseButton.LeftButton)
    tasks.drain()
    assert installs == ["buffalo_l"]
    assert window.task_status.label.text().startswith("Installed buffalo_l")
    assert window.jobs.model.handle(0).title == "Downloading buffalo_l"


def test_choose_several_folders_then_index(qtbot: QtBot, window: MainWindow, app: AppContext,
                                           make_photos, tasks: InlineExecutor) -> None:
    first = window.first_run
    one, two = make_photos("one", 2), make_photos("two", 3)
    first.add_folder(str(one))
    first.add_folder(str(two))
    first.add_folder(str(two))  # once only
    assert first.folders() == [str(one), str(two)]
    assert first.start_button.text() == "Index These Folders"
    first.folder_list.setCurrentRow(0)
    qtbot.mouseClick(first.remove_button, Qt.MouseButton.LeftButton)
    first.add_folder(str(one))
    qtbot.mouseClick(first.start_button, Qt.MouseButton.LeftButton)
    assert window.root.currentWidget() is window.main_area
    tasks.drain()
    assert window.index_task is not None and not window.index_task.running
    assert sorted(r.path for r in list_roots(app)) == sorted([str(one), str(two)])
    assert len(list_photos(app)) == 5


def test_open_the_demo_library(qtbot: QtBot, window: MainWindow, app: AppContext,
                               tasks: InlineExecutor) -> None:
    qtbot.mouseClick(window.first_run.demo_button, Qt.MouseButton.LeftButton)
    assert window.root.currentWidget() is window.main_area
    tasks.drain()
    assert window.index_task is not None and not window.index_task.running
    assert [r.path for r in list_roots(app)] == [str(demo_library_path().resolve())]
    assert window.library.model.rowCount() == len(list(demo_library_path().rglob("*.jpg")))
    # Its people are named after their portrait folders, as `idfsr demo` names them.
    folders = sorted(p.name.replace("_", " ").title()
                     for p in (demo_library_path() / "portraits").iterdir())
    tasks.drain()
    assert sorted(p.name for p in list_people(app) if p.name) == folders
    assert window.is_idle()
    assert window.task_status.label.text().startswith("Demo people named after their folders")

    # Indexing again later leaves the user's names alone.
    first = next(p for p in list_people(app) if p.name)
    rename(app, first.id, "Grandpa")
    window.start_indexing()
    tasks.drain()
    assert not window.index_task.running
    assert window.is_idle()
    assert resolve_person(app, "Grandpa") == first.id
