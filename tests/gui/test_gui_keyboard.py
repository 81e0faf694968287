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
from core.people.service import list_people
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


def tab_controls(page: QWidget) -> list[QWidget]:
    """The controls on show under `page` that Tab should stop at."""
    return [w for w in page.findChildren(QWidget)
            if w.isVisible() and w.isEnabled() and w.focusPolicy() & Qt.FocusPolicy.TabFocus
            and w.focusProxy() is None
            and not isinstance(w.parentWidget(), QAbstractSpinBox | QComboBox)]


def test_every_control_has_a_name(qtbot: QtBot, window: MainWindow, app: AppContext,
                                  make_photos) -> None:
    # The first-run page, before the library has a folder.
    assert unnamed_controls(window.first_run) == []
    app.settings.faces.enabled = False
    _indexed(qtbot, window, make_photos("names", 3))
    window.library.search_box.setText("photo")
    window.library.search_box.search_now()
    for page in (window.sidebar, window.library, window.restore, window.jobs,
                 window.statusBar()):
        assert unnamed_controls(page) == [], type(page).__name__
    settings = window.open_settings()
    assert unnamed_controls(settings) == []
    settings.reject()


def test_every_people_control_has_a_name(qtbot: QtBot, people_window: MainWindow,
                                         app: AppContext) -> None:
    window = people_window
    people = window.people
    window.show_page("people")
    assert unnamed_controls(people.overview) == []
    people.show_unassigned()
    assert unnamed_controls(people.unassigned) == []
    person = list_people(app)[0]
    assert people.show_person(person.id)
    qtbot.waitUntil(window.is_idle, timeout=20_000)
    page = people.person_page
    for faces in (False, True):  # both tabs
        page.show_faces_view(faces)
        assert unnamed_controls(page) == [], faces
    viewer = page.open_photo(0)
    assert viewer is not None
    qtbot.waitUntil(lambda: viewer.loaded is not None and bool(viewer.view.marks))
    assert unnamed_controls(viewer) == []
    menu = viewer.open_face_menu(1)
    assert menu is not None and menu.name_edit.accessibleName()
    menu.close()
    viewer.close()


def test_tab_leaves_every_page(qtbot: QtBot, people_window: MainWindow,
                               app: AppContext) -> None:
    window = people_window
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    people = window.people
    person = list_people(app)[0].id
    pages = {"library": lambda: None, "people": people.show_overview,
             "unassigned": people.show_unassigned,
             "person photos": lambda: (people.show_person(person),
                                       people.person_page.show_faces_view(False)),
             "person faces": lambda: (people.show_person(person),
                                      people.person_page.show_faces_view(True)),
             "restore": lambda: None, "jobs": lambda: None}
    for name, show in pages.items():
        window.show_page(name if name in ("library", "restore", "jobs") else "people")
        show()
        page = window.pages.currentWidget()
        forward = _walk(qtbot, window.sidebar, Qt.Key.Key_Tab, 50)
        inside = [w for w in forward if w is not None and page.isAncestorOf(w)]
        assert inside, name  # the page has controls Tab reaches
        missed = [f"{type(w).__name__} {w.accessibleName() or w.toolTip()}"
                  for w in tab_controls(page) if w not in forward]
        assert missed == [], name  # …every one of them
        assert window.sidebar in forward, name  # …and Tab comes round again
        backward = _walk(qtbot, window.sidebar, Qt.Key.Key_Backtab, 40)
        assert window.sidebar in backward and any(page.isAncestorOf(w) for w in backward), name


def _cycle(qtbot: QtBot, dialog: QWidget, start: QWidget) -> list[QWidget]:
    """The widgets Tab visits in a dialog from `start` until it comes back to `start`."""
    visited = _walk(qtbot, start, Qt.Key.Key_Tab, 30)
    assert start in visited, "Tab never comes back: a trap"
    return visited[:visited.index(start) + 1]


def test_the_photo_viewer_names_a_face_without_a_mouse(
        qtbot: QtBot, people_window: MainWindow, app: AppContext) -> None:
    window = people_window
    person = list_people(app)[0]
    window.show_page("people")
    assert window.people.show_person(person.id)
    qtbot.waitUntil(window.is_idle, timeout=20_000)
    viewer = window.people.person_page.open_photo(0)
    assert viewer is not None
    qtbot.waitUntil(lambda: viewer.loaded is not None and bool(viewer.view.marks))
    viewer.activateWindow()
    qtbot.waitUntil(viewer.isActiveWindow, timeout=5_000)

    # Tab goes round every control of the viewer and back, the photo among them.
    cycle = _cycle(qtbot, viewer, viewer.next_button)
    controls = [viewer.view, viewer.show_faces_box, viewer.add_face_button,
                viewer.restore_button, viewer.previous_button]
    assert all(c in cycle for c in controls if c.isEnabled()), cycle
    # The photo tells a screen reader its faces and the keys that name them.
    faces = len(viewer.view.marks)
    assert f"{faces} face" in viewer.view.accessibleDescription()
    assert "1" in viewer.view.accessibleDescription()

    # On the photo, the number of a face opens its naming menu, focus in the name field.
    viewer.view.setFocus(Qt.FocusReason.TabFocusReason)
    qtbot.waitUntil(lambda: QApplication.focusWidget() is viewer.view, timeout=2_000)
    qtbot.keyClick(viewer.view, Qt.Key.Key_1)
    qtbot.waitUntil(lambda: viewer.menu is not None and viewer.menu.isVisible())
    menu = viewer.menu
    assert menu is not None
    qtbot.waitUntil(lambda: QApplication.focusWidget() is menu.name_edit, timeout=2_000)
    face = menu.face
    qtbot.keyClicks(menu.name_edit, "Ada")
    qtbot.keyClick(menu.name_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: any(p.name == "Ada" and p.id == face.person_id
                                for p in list_people(app)))
    viewer.close()


def test_tab_goes_round_the_settings_dialog(qtbot: QtBot, window: MainWindow) -> None:
    dialog = window.open_settings()
    qtbot.waitExposed(dialog)
    dialog.activateWindow()
    qtbot.waitUntil(dialog.isActiveWindow, timeout=5_000)
    start = dialog.focusWidget() or dialog.nextInFocusChain()
    cycle = _cycle(qtbot, dialog, start)
    assert len(cycle) > 3 and all(dialog.isAncestorOf(w) for w in cycle)
    dialog.reject()
