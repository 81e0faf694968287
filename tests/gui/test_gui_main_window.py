"""The main window: empty state, menus and remembered geometry."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QMenu
from pytestqt.qtbot import QtBot

from core.context import AppContext
from idfsr_desktop.main_window import SETTINGS_FILE, MainWindow


def test_empty_home_shows_the_empty_state(window: MainWindow) -> None:
    library = window.library
    assert library.pages.currentWidget() is library.empty_state
    assert library.empty_state.title.text() == "Your library is empty"
    assert library.empty_state.primary.isVisible()
    assert library.empty_state.primary.text() == "Add a folder…"
    assert library.empty_state.secondary.isVisible()
    assert library.empty_state.secondary.text() == "Open the demo library"
    assert not library.header.isVisible()
    assert library.model.rowCount() == 0


def test_sidebar_has_only_the_library_page(window: MainWindow) -> None:
    assert [window.sidebar.item(i).text() for i in range(window.sidebar.count())] == ["Library"]
    assert window.pages.currentWidget() is window.library


def test_file_menu_actions_and_shortcuts(window: MainWindow) -> None:
    menus = {a.text().replace("&", ""): a.menu() for a in window.menuBar().actions()}
    assert list(menus) == ["File", "Help"]
    file_menu = menus["File"]
    assert isinstance(file_menu, QMenu)
    file_actions = [a.text().replace("&", "") for a in file_menu.actions() if a.text()]
    assert file_actions == ["Add Folder…", "Index Now", "Rescan All Photos", "Quit"]
    assert window.add_folder_action.shortcut() == QKeySequence("Ctrl+O")
    assert window.quit_action.shortcut() == QKeySequence("Ctrl+Q")
    assert window.index_action.isEnabled()


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
