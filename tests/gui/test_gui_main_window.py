"""The main window: first run, pages, menus and shortcuts, remembered geometry and page."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QDialog, QMenu
from pytestqt.qtbot import QtBot

from core.context import AppContext
from core.library.service import add_root
from idfsr_desktop.main_window import MainWindow
from idfsr_desktop.model_status_widget import ModelStatusWidget
from idfsr_desktop.pack_licence_dialog import PackLicenceDialog
from idfsr_desktop.window_settings import SETTINGS_FILE


def test_empty_home_shows_the_first_run_page(window: MainWindow) -> None:
    assert window.root.currentWidget() is window.first_run
    assert not window.sidebar.isVisible()
    first = window.first_run
    assert first.demo_button.isVisible() and first.add_button.isVisible()
    assert not first.start_button.isEnabled()  # no folder chosen yet


def test_library_empty_state_when_its_folders_hold_nothing(
    qtbot: QtBot, app: AppContext, tmp_path: Path
) -> None:
    (tmp_path / "empty").mkdir()
    add_root(app, tmp_path / "empty")
    win = MainWindow(app)
    qtbot.addWidget(win)
    win.show()
    assert win.root.currentWidget() is win.main_area
    library = win.library
    assert library.pages.currentWidget() is library.empty_state
    assert library.empty_state.title.text() == "No photos found"
    win.close()


def test_sidebar_pages_and_view_shortcuts(qtbot: QtBot, app: AppContext, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    add_root(app, tmp_path / "empty")
    win = MainWindow(app)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    assert [win.sidebar.item(i).text() for i in range(win.sidebar.count())] == \
        ["Library", "People", "Restore", "Jobs"]
    assert win.pages.currentWidget() is win.library
    pages = (win.library, win.people, win.restore, win.jobs)
    for action, page in zip(win.page_actions, pages, strict=True):
        action.trigger()
        assert win.pages.currentWidget() is page
    assert [a.shortcut() for a in win.page_actions] == \
        [QKeySequence(f"Ctrl+{n}") for n in (1, 2, 3, 4)]
    win.show_page("people")
    win.close()

    again = MainWindow(app)  # the page shown last is shown again
    qtbot.addWidget(again)
    assert again.current_page() == "people"
    again.close()


def test_menus_actions_and_shortcuts(window: MainWindow) -> None:
    menus = {a.text().replace("&", ""): a.menu() for a in window.menuBar().actions()}
    assert list(menus) == ["File", "Edit", "View", "People", "Help"]
    file_menu = menus["File"]
    assert isinstance(file_menu, QMenu)
    file_actions = [a.text().replace("&", "") for a in file_menu.actions() if a.text()]
    assert file_actions == ["Add Folder…", "Open Demo Library", "Restore Photos…", "Index Now",
                            "Rescan All Photos", "Settings…", "Quit"]
    assert window.add_folder_action.shortcut() == QKeySequence("Ctrl+O")
    assert window.quit_action.shortcut() == QKeySequence("Ctrl+Q")
    assert window.undo_action.shortcut() == QKeySequence("Ctrl+Z")
    assert window.rename_action.shortcut() == QKeySequence("F2")
    assert not window.settings_action.shortcut().isEmpty()
    assert window.index_action.isEnabled()
    assert not window.undo_action.isEnabled()  # nothing to undo on a new library


def test_models_and_device_shows_the_status_and_offers_the_pack_with_its_licence(
        qtbot: QtBot, window: MainWindow) -> None:
    window.models_action.trigger()  # Help ▸ Models and Device…
    dialog = next(d for d in window.findChildren(QDialog)
                  if d.windowTitle() == "Models and Device")
    qtbot.waitUntil(dialog.isVisible)
    status = dialog.findChild(ModelStatusWidget)
    assert status is not None
    qtbot.waitUntil(lambda: status.report is not None, timeout=60_000)
    assert status.device_value.text() != "Checking…"
    assert window.findChild(PackLicenceDialog) is None
    qtbot.mouseClick(status.offer_button, Qt.MouseButton.LeftButton)
    licence = window.findChild(PackLicenceDialog)
    assert licence is not None and not licence.download_button.isEnabled()
    licence.reject()
    dialog.reject()
    qtbot.waitUntil(lambda: not dialog.isVisible())


def test_geometry_persists_across_windows_on_the_same_home(
    qtbot: QtBot, app: AppContext, tmp_path: Path
) -> None:
    first = MainWindow(app)
    qtbot.addWidget(first)
    first.show()
    qtbot.waitExposed(first)
    # Not the default size, inside the screen (offscreen: 800 × 600, less when scaled), and
    # not below the window's minimum.
    screen, least = first.screen().availableGeometry(), first.minimumSizeHint()
    size = (max(least.width(), screen.width() * 4 // 5 - 7),
            max(least.height(), screen.height() * 4 // 5 - 9))
    first.resize(*size)
    qtbot.waitUntil(lambda: (first.width(), first.height()) == size)
    first.close()

    settings_file = app.paths.config / SETTINGS_FILE
    assert settings_file.is_file()
    assert not (tmp_path / "xdg-config" / "IDFSR").exists()  # the real user config is untouched

    second = MainWindow(app)
    qtbot.addWidget(second)
    second.show()
    qtbot.waitExposed(second)
    assert (second.width(), second.height()) == size
    second.close()


def test_the_indexing_line_names_face_work_only_when_there_was_some() -> None:
    from core.faces.scan import FaceScanReport
    from core.library.indexer import IndexReport
    from core.tasks.indexing import FullIndexReport
    from idfsr_desktop.library_jobs import report_text

    idle = FullIndexReport(IndexReport(seen=17, unchanged=17, seconds=0.04),
                           FaceScanReport(up_to_date=17))
    assert report_text(idle) == "Library up to date: 17 photos seen, nothing new (0.0 s)."
    busy = FullIndexReport(IndexReport(seen=20, new=3, errors=1, seconds=1.0),
                           FaceScanReport(photos=3, faces=5, seconds=2.0))
    assert report_text(busy) == ("Library up to date: 20 photos seen, 3 new or changed, "
                                 "1 unreadable, 5 faces found in 3 photos (3.0 s).")


def test_the_window_keeps_its_startup_objects_out_of_full_collections(qtbot: QtBot,
                                                                      app: AppContext) -> None:
    import gc

    window = MainWindow(app)
    qtbot.addWidget(window)
    assert gc.get_freeze_count() > 10_000  # modules, Qt wrappers, the window itself
    window.shutdown()
    assert gc.get_freeze_count() == 0  # collectable again once the window is done
