"""The People page driven like a user: cards, inline rename, drag-to-merge, a person's faces
(split, not this person, move, unassign, cover), unassigned faces, hide and undo. Every
result is checked in the DB."""

from __future__ import annotations

from pathlib import Path, PurePath

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent, QPixmap
from PySide6.QtWidgets import QApplication, QLineEdit, QListView, QMessageBox, QPushButton
from pytestqt.qtbot import QtBot
from squares_backend import SquaresBackend

from core.context import AppContext
from core.db.models import FaceRejection
from core.faces.backends import FACE_BACKEND
from core.faces.service import list_faces
from core.people.service import get_person, list_people, unassigned_faces
from idfsr_desktop.main_window import MainWindow
from idfsr_desktop.person_list_model import PersonRole
from idfsr_desktop.task_runner import InlineExecutor


def faces_of(app: AppContext, colour: str) -> list[int]:
    """The ids of the faces of one colour (a squares "person"), in photo order: its own photos,
    and its square in the group photo (red on the left, green on the right)."""
    out = []
    for face in list_faces(app):
        name = PurePath(face.photo_path).name
        in_group = name == "group.jpg" and (
            (colour == "red" and face.box[0] < 100) or (colour == "green" and face.box[0] > 100))
        if name.startswith(colour) or in_group:
            out.append(face.id)
    return out


def person_of(app: AppContext, face_id: int) -> int | None:
    return next(f.person_id for f in list_faces(app) if f.id == face_id)


def the_person(app: AppContext, colour: str) -> int:
    found = {person_of(app, f) for f in faces_of(app, colour)}
    assert len(found) == 1 and None not in found, found
    return found.pop()  # type: ignore[return-value]


def card_row(window: MainWindow, person_id: int) -> int:
    row = window.people.model.row_of(person_id)
    assert row is not None
    return row


def open_people(qtbot: QtBot, window: MainWindow) -> None:
    window.activateWindow()  # window shortcuts (Ctrl+Z) go to the active window
    qtbot.waitActive(window)
    window.page_actions[1].trigger()
    assert window.pages.currentWidget() is window.people
    qtbot.waitUntil(window.is_idle, timeout=20_000)


def click(qtbot: QtBot, button: QPushButton) -> None:
    assert button.isVisible() and button.isEnabled(), button.text()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def message_box(qtbot: QtBot, window: MainWindow) -> QMessageBox:
    qtbot.waitUntil(lambda: any(b.isVisible() for b in window.findChildren(QMessageBox)))
    return next(b for b in window.findChildren(QMessageBox) if b.isVisible())


def press_undo(qtbot: QtBot, window: MainWindow) -> None:
    """Ctrl+Z, as the keyboard sends it (offscreen, a closed dialog leaves no window active)."""
    window.activateWindow()
    qtbot.waitActive(window)
    qtbot.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)


def drop_card_on(view: QListView, source_row: int, target_row: int) -> None:
    """What a mouse drag of one card onto another delivers to the view."""
    model = view.model()
    mime = model.mimeData([model.index(source_row, 0)])
    target = view.visualRect(model.index(target_row, 0)).center()
    viewport = view.viewport()
    move = Qt.DropAction.MoveAction
    left, none = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(target, move, mime, left, none)
    QApplication.sendEvent(viewport, enter)
    over = QDragMoveEvent(target, move, mime, left, none)
    QApplication.sendEvent(viewport, over)
    assert over.isAccepted(), "the card under the cursor should accept the drop"
    QApplication.sendEvent(viewport, QDropEvent(QPointF(target), move, mime, left, none))


# ---- the tests -------------------------------------------------------------------------------


def test_indexing_makes_one_card_per_person_with_cover_faces(
    qtbot: QtBot, people_window: MainWindow, app: AppContext
) -> None:
    window = people_window
    open_people(qtbot, window)
    overview = window.people.overview
    model = window.people.model
    assert model.rowCount() == 3 == len(list_people(app))
    assert overview.counts_label.text() == "3 people · 14 faces"
    assert overview.stack.currentWidget() is overview.view
    red = the_person(app, "red")
    row = card_row(window, red)
    assert model.person(row).photos == 5
    qtbot.waitUntil(lambda: isinstance(model.index(row).data(Qt.ItemDataRole.DecorationRole),
                                       QPixmap), timeout=10_000)
    assert "5 faces in 5 photos" in model.index(row).data(Qt.ItemDataRole.ToolTipRole)


def test_inline_rename_is_saved(qtbot: QtBot, people_window: MainWindow,
                                app: AppContext, tasks: InlineExecutor) -> None:
    window = people_window
    open_people(qtbot, window)
    view = window.people.overview.view
    red = the_person(app, "red")
    index = window.people.model.index(card_row(window, red))
    view.setCurrentIndex(index)
    window.rename_action.trigger()  # F2
    editor = view.findChild(QLineEdit)
    assert editor is not None and editor.isVisible()
    editor.selectAll()
    qtbot.keyClicks(editor, "Alice")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    tasks.drain()
    assert get_person(app, red).name == "Alice"
    assert window.people.model.index(card_row(window, red)).data() == "Alice"
    assert window.undo_action.isEnabled()
    assert "Alice" in window.undo_action.text()


def test_drag_a_card_onto_another_merges_after_confirmation(
    qtbot: QtBot, people_window: MainWindow, app: AppContext, tasks: InlineExecutor
) -> None:
    window = people_window
    open_people(qtbot, window)
    view = window.people.overview.view
    red, green = the_person(app, "red"), the_person(app, "green")
    window.editor.rename(red, "Alice")
    tasks.drain()
    assert window.people.model.index(card_row(window, red)).data() == "Alice"

    # Cancelled: nothing changes.
    drop_card_on(view, card_row(window, green), card_row(window, red))
    box = message_box(qtbot, window)
    assert box.text() == "Merge “Unnamed person” into “Alice”?"
    click(qtbot, box.button(QMessageBox.StandardButton.Cancel))
    assert len(list_people(app)) == 3

    drop_card_on(view, card_row(window, green), card_row(window, red))
    box = message_box(qtbot, window)
    merge = next(b for b in box.buttons() if b.text() == "Merge")
    click(qtbot, merge)
    tasks.drain()
    assert window.people.model.rowCount() == 2
    assert len(list_people(app)) == 2
    assert {person_of(app, f) for f in faces_of(app, "green")} == {red}
    merged = get_person(app, red)
    assert (merged.faces, merged.photos) == (10, 9)  # both are in the group photo

    # Undo brings the green person back. (Offscreen, a closed window-modal dialog leaves the
    # window unable to take shortcuts, so the keyboard path is tested where no dialog was.)
    window.undo_action.trigger()
    tasks.drain()
    assert window.people.model.rowCount() == 3
    assert {person_of(app, f) for f in faces_of(app, "green")} == {green}


def test_a_card_dropped_on_itself_asks_nothing(qtbot: QtBot, people_window: MainWindow,
                                               app: AppContext) -> None:
    window = people_window
    open_people(qtbot, window)
    model = window.people.model
    red_row = card_row(window, the_person(app, "red"))
    mime = model.mimeData([model.index(red_row)])
    assert not model.canDropMimeData(mime, Qt.DropAction.MoveAction, -1, -1,
                                     model.index(red_row))
    assert not model.canDropMimeData(mime, Qt.DropAction.MoveAction, 0, 0,
                                     model.index(-1))  # between cards


def test_person_page_split_not_this_person_and_undo(
    qtbot: QtBot, people_window: MainWindow, app: AppContext, tasks: InlineExecutor
) -> None:
    window = people_window
    open_people(qtbot, window)
    red = the_person(app, "red")
    view = window.people.overview.view
    index = window.people.model.index(card_row(window, red))
    view.setCurrentIndex(index)
    qtbot.keyClick(view, Qt.Key.Key_Return)  # open the person
    page = window.people.person_page
    assert window.people.stack.currentWidget() is page
    assert page.person is not None and page.person.id == red
    assert page.faces.rowCount() == 5
    buttons = page.action_buttons
    assert not buttons[page.split_action].isEnabled()  # nothing selected yet

    # Two faces are someone else: a new person.
    chosen = faces_of(app, "red")[:2]
    page.select_faces(chosen)
    assert page.selection_label.text() == "2 selected"
    click(qtbot, buttons[page.split_action])
    tasks.drain()
    assert page.faces.rowCount() == 3
    new = person_of(app, chosen[0])
    assert new not in (None, red) and person_of(app, chosen[1]) == new
    assert len(list_people(app)) == 4

    # Undo (Ctrl+Z) puts them back.
    press_undo(qtbot, window)
    tasks.drain()
    assert page.faces.rowCount() == 5
    assert {person_of(app, f) for f in chosen} == {red}
    assert len(list_people(app)) == 3

    # Not this person: the face leaves, and may never come back to this person.
    window.editor.rename(red, "Alice")
    one = faces_of(app, "red")[3]
    tasks.drain()
    assert buttons[page.reject_action].text() == "Not Alice"
    page.select_faces([one])
    click(qtbot, buttons[page.reject_action])
    tasks.drain()
    assert page.faces.rowCount() == 4
    assert person_of(app, one) is None
    with app.db.session() as s:
        assert s.get(FaceRejection, (one, red)) is not None

    press_undo(qtbot, window)
    tasks.drain()
    assert page.faces.rowCount() == 5
    assert person_of(app, one) == red
    with app.db.session() as s:
        assert s.get(FaceRejection, (one, red)) is None


def test_move_faces_to_someone_else_unassign_and_set_cover(
    qtbot: QtBot, people_window: MainWindow, app: AppContext, tasks: InlineExecutor
) -> None:
    window = people_window
    open_people(qtbot, window)
    red, blue = the_person(app, "red"), the_person(app, "blue")
    window.editor.rename(blue, "Bob")
    assert window.people.show_person(red)
    page = window.people.person_page
    first, second, third = faces_of(app, "red")[:3]

    page.select_faces([first])
    click(qtbot, page.action_buttons[page.move_action])
    picker = window.people.picker
    assert picker is not None
    qtbot.waitUntil(picker.isVisible)
    shown = {picker.proxy.index(r, 0).data(PersonRole).id for r in range(picker.proxy.rowCount())}
    assert red not in shown and blue in shown
    qtbot.keyClicks(picker.filter_edit, "bo")
    assert picker.proxy.rowCount() == 1 and picker.chosen_id == blue
    picker.accept()
    tasks.drain()
    assert person_of(app, first) == blue
    assert page.faces.rowCount() == 4

    page.select_faces([second])
    click(qtbot, page.action_buttons[page.unassign_action])
    tasks.drain()
    assert person_of(app, second) is None
    assert second in {f.id for f in unassigned_faces(app)}

    page.select_faces([third])
    click(qtbot, page.action_buttons[page.cover_action])
    tasks.drain()
    assert get_person(app, red).cover_face_id == third
    assert page.faces.cover_face_id == third


def test_unassigned_faces_become_a_new_person(qtbot: QtBot, people_window: MainWindow,
                                              app: AppContext, tasks: InlineExecutor) -> None:
    window = people_window
    open_people(qtbot, window)
    blue_faces = faces_of(app, "blue")
    window.editor.unassign(blue_faces[:2])
    overview = window.people.overview
    tasks.drain()
    assert overview.unassigned_button.text() == "Unassigned Faces (2)"
    click(qtbot, overview.unassigned_button)
    unassigned = window.people.unassigned
    assert window.people.stack.currentWidget() is unassigned
    assert unassigned.faces.rowCount() == 2
    unassigned.select_faces(blue_faces[:2])
    click(qtbot, unassigned.new_button)
    new = person_of(app, blue_faces[0])
    assert new is not None and person_of(app, blue_faces[1]) == new
    # The new person opens, ready to be named.
    page = window.people.person_page
    tasks.drain()
    assert window.people.stack.currentWidget() is page
    page.name_edit.setFocus()
    qtbot.keyClicks(page.name_edit, "Carol")
    qtbot.keyClick(page.name_edit, Qt.Key.Key_Return)
    tasks.drain()
    assert get_person(app, new).name == "Carol"


def test_hide_and_show_hidden(qtbot: QtBot, people_window: MainWindow,
                              app: AppContext, tasks: InlineExecutor) -> None:
    window = people_window
    open_people(qtbot, window)
    overview = window.people.overview
    green = the_person(app, "green")
    overview.view.setCurrentIndex(window.people.model.index(card_row(window, green)))
    window.hide_action.trigger()
    tasks.drain()
    assert window.people.model.rowCount() == 2
    assert get_person(app, green).hidden
    overview.show_hidden_box.setChecked(True)
    assert window.people.model.rowCount() == 3
    assert "1 hidden" in overview.counts_label.text()
    window.undo_action.trigger()
    tasks.drain()
    assert not get_person(app, green).hidden


def test_regroup_people_from_the_menu_keeps_names_and_says_how_it_went(
        qtbot: QtBot, people_window: MainWindow, app: AppContext) -> None:
    window = people_window
    open_people(qtbot, window)
    red = the_person(app, "red")
    window.editor.rename(red, "Alice")
    qtbot.waitUntil(lambda: get_person(app, red).name == "Alice")
    window.recluster_action.trigger()
    assert not window.recluster_action.isEnabled()  # one regrouping at a time
    handle = window.people_actions.recluster_task
    assert handle is not None and window.people_actions.start_recluster() is handle
    qtbot.waitUntil(lambda: not handle.running, timeout=30_000)
    qtbot.waitUntil(window.recluster_action.isEnabled)
    assert window.task_status.label.text().startswith("People regrouped: 14 of 14 faces")
    assert len(list_people(app)) == 3 == window.people.model.rowCount()
    assert get_person(app, red).name == "Alice"  # the user's decision survived


def test_back_from_a_person_merged_away(qtbot: QtBot, people_window: MainWindow,
                                        app: AppContext, tasks: InlineExecutor) -> None:
    window = people_window
    open_people(qtbot, window)
    red, green = the_person(app, "red"), the_person(app, "green")
    assert window.people.show_person(green)
    window.editor.merge(red, [green])
    tasks.drain()
    assert window.people.stack.currentWidget() is window.people.overview
    assert window.people.model.rowCount() == 2


def test_refused_edits_say_why_without_blocking(qtbot: QtBot, people_window: MainWindow,
                                                app: AppContext, tmp_path: Path) -> None:
    window = people_window
    assert window.editor.merge(the_person(app, "red"), []) is False
    box = message_box(qtbot, window)
    assert box.windowTitle() == "Cannot merge" and "other person" in box.text()
    box.close()


def test_first_run_choose_a_folder_and_index(
    qtbot: QtBot, window: MainWindow, app: AppContext, squares_library: Path, tasks: InlineExecutor
) -> None:
    app.models.put(FACE_BACKEND, SquaresBackend())
    first = window.first_run
    assert window.root.currentWidget() is first
    first.add_folder(str(squares_library))
    assert first.folders() == [str(squares_library)]
    assert first.start_button.text() == "Index This Folder"
    click(qtbot, first.start_button)
    assert window.root.currentWidget() is window.main_area
    assert window.pages.currentWidget() is window.library
    tasks.drain()
    assert window.index_task is not None and not window.index_task.running
    assert window.library.model.rowCount() == 13
    assert len(list_people(app)) == 3
    open_people(qtbot, window)
    assert window.people.model.rowCount() == 3

