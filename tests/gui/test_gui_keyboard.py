"""The keyboard and assistive technology: Tab walks every control of a page in order and
leaves it (no trap), and every control that takes focus has a name to be read out."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLabel,
    QStackedWidget,
    QWidget,
)
from pytestqt.qtbot import QtBot

from core.context import AppContext
from idfsr_desktop.main_window import MainWindow


def _indexed(qtbot: QtBot, window: MainWindow, folder: Path) -> None:
    window.add_folder(str(folder))
    qtbot.waitUntil(lambda: window.index_task is not None and not window.index_task.running,
                    timeout=60_000)
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)


def _walk(qtbot: QtBot, start: QWidget, key: Qt.Key, presses: int) -> list[QWidget]:
    """The widgets focus visits from `start` on `presses` presses of `key`."""
    start.setFocus(Qt.FocusReason.OtherFocusReason)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is start, timeout=2_000)
    visited = []
    for _ in range(presses):
        focus = QApplication.focusWidget()
        assert focus is not None
        qtbot.keyClick(focus, key)
        visited.append(QApplication.focusWidget())
    return visited


def test_tab_walks_the_library_page_in_order_and_leaves_it(
        qtbot: QtBot, window: MainWindow, app: AppContext, make_photos) -> None:
    app.settings.faces.enabled = False
    _indexed(qtbot, window, make_photos("keys", 4))
    library, filters = window.library, window.library.filters
    page = [library.search_box, library.order_combo, filters.folder_combo, filters.from_edit,
            filters.to_edit, filters.faces_combo, filters.person_combo, filters.status_combo,
            library.view]

    forward = _walk(qtbot, window.sidebar, Qt.Key.Key_Tab, len(page) + 3)
    assert forward[:len(page)] == page  # Clear is disabled: nothing to clear
    assert window.sidebar in forward[len(page):]  # round the window and back: no trap

    backward = _walk(qtbot, library.view, Qt.Key.Key_Backtab, len(page) + 3)
    assert backward[:len(page) - 1] == page[-2::-1]
    assert window.sidebar in backward[len(page) - 1:]

    # With a filter set, Clear joins the walk after the filters.
    filters.faces_combo.setCurrentText("Without faces")
    walk = _walk(qtbot, filters.status_combo, Qt.Key.Key_Tab, 2)
    assert walk == [filters.clear_button, library.view]


def _named(widget: QWidget, buddies: set[int]) -> bool:
    if widget.accessibleName().strip() or id(widget) in buddies:
        return True
    return isinstance(widget, QAbstractButton) and bool(widget.text().replace("&", "").strip())


def unnamed_controls(page: QWidget) -> list[str]:
    """The controls under `page` that Tab reaches but that have no name to read out: no
    accessible name, no label whose buddy they are, no text of their own."""
    window = page.window()
    buddies = {id(label.buddy()) for label in window.findChildren(QLabel)
               if label.buddy() is not None}
    missing = []
    for widget in [page, *page.findChildren(QWidget)]:
        if not widget.focusPolicy() & Qt.FocusPolicy.TabFocus or widget.window() is not window:
            continue  # not a control, or in a popup (a combo box's list)
        parent = widget.parentWidget()
        if isinstance(parent, QAbstractSpinBox | QComboBox) or widget.focusProxy() is not None:
            continue  # the inner editor of a named control
        if widget.isHidden() and not isinstance(parent, QStackedWidget):
            continue  # hidden by the page (a button without a use now), not just a page away
        if not _named(widget, buddies):
            missing.append(f"{type(widget).__name__} in {type(parent).__name__} "
                           f"({widget.toolTip() or widget.objectName() or 'no tip'})")
    return missing


def test_every_control_has_a_name(qtbot: QtBot, window: MainWindow, app: AppContext,
                                  make_photos) -> None:
    # The first-run page, before the library has a folder.
    assert unnamed_controls(window.first_run) == []
    app.settings.faces.enabled = False
    _indexed(qtbot, window, make_photos("names", 3))
    window.library.search_box.setText("photo")
    window.library.search_box.search_now()
    # The People pages are left out for now (being reworked); the Restore page is in.
    for page in (window.sidebar, window.library, window.restore, window.jobs,
                 window.statusBar()):
        assert unnamed_controls(page) == [], type(page).__name__


def test_tab_leaves_every_page(qtbot: QtBot, people_window: MainWindow) -> None:
    window = people_window
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    for name in ("library", "people", "restore", "jobs"):
        window.show_page(name)
        page = window.pages.currentWidget()
        forward = _walk(qtbot, window.sidebar, Qt.Key.Key_Tab, 40)
        inside = [w for w in forward if w is not None and page.isAncestorOf(w)]
        assert inside, name  # the page has controls Tab reaches
        assert window.sidebar in forward, name  # …and Tab comes round again
        backward = _walk(qtbot, window.sidebar, Qt.Key.Key_Backtab, 40)
        assert window.sidebar in backward and any(page.isAncestorOf(w) for w in backward), name
