"""Faces named where they are seen: the viewer's clickable faces and drawn boxes, a person's
photos newest first, ignoring strangers, undo texts by name. Checked in the DB."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path, PurePath

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QMenu
from pytestqt.qtbot import QtBot
from sqlalchemy import select, update
from squares_backend import squares_photo

from core.context import AppContext
from core.db.models import Face, FaceEmbedding, FaceRejection, Photo
from core.faces.service import list_faces
from core.people.service import get_person, list_people, unassigned_faces
from idfsr_desktop.face_name_menu import FaceNameMenu
from idfsr_desktop.main_window import MainWindow
from idfsr_desktop.photo_viewer_dialog import PhotoViewerDialog

DIM_RED = (58, 12, 12)  # under the squares detector's brightness bar: a face it misses
WHITE = (235, 235, 235)
SQUARE_PEOPLE = {"red": (220, 40, 40), "green": (40, 220, 40), "blue": (60, 60, 230)}  # conftest


@pytest.fixture
def squares_library(tmp_path: Path) -> Path:
    """The shared squares library (see conftest), plus a photo with a face the detector misses
    and two tiny white passers-by."""
    folder = tmp_path / "squares"
    for i in range(4):
        for name, colour in SQUARE_PEOPLE.items():
            squares_photo(folder / f"{name}_{i}.jpg", [(20 + 5 * i, 20 + 3 * i, 72, colour)])
    squares_photo(folder / "group.jpg", [(10, 10, 72, SQUARE_PEOPLE["red"]),
                                         (150, 40, 72, SQUARE_PEOPLE["green"])])
    squares_photo(folder / "street.jpg", [(40, 60, 70, DIM_RED), (250, 30, 7, WHITE),
                                          (280, 200, 6, WHITE)])
    return folder


def person_of(app: AppContext, face_id: int) -> int | None:
    return next(f.person_id for f in list_faces(app) if f.id == face_id)


def photo_id(app: AppContext, name: str) -> int:
    with app.db.session() as s:
        return next(p.id for p in s.scalars(select(Photo)) if PurePath(p.path).name == name)


def red_person(app: AppContext) -> int:
    return next(f.person_id for f in list_faces(app)
                if PurePath(f.photo_path).name == "red_0.jpg" and f.person_id is not None)


def open_person(qtbot: QtBot, window: MainWindow, person_id: int) -> None:
    window.page_actions[1].trigger()
    assert window.people.show_person(person_id)
    qtbot.waitUntil(window.is_idle, timeout=20_000)


def face_menu(qtbot: QtBot, viewer: PhotoViewerDialog, number: int) -> FaceNameMenu:
    """Click face `number` of the viewer's photo; the naming menu that opens."""
    view = viewer.view
    mark = next(m for m in view.marks if m.number == number)
    qtbot.mouseClick(view, Qt.MouseButton.LeftButton,
                     pos=view.mark_rect(mark).center().toPoint())
    assert viewer.menu is not None
    qtbot.waitUntil(viewer.menu.isVisible)
    return viewer.menu


def test_person_page_shows_photos_newest_first_and_a_face_opens_its_photo(
        qtbot: QtBot, people_window: MainWindow, app: AppContext) -> None:
    window = people_window
    red = red_person(app)
    dates = {"red_2.jpg": 2019, "group.jpg": 2021, "red_0.jpg": 2005, "red_3.jpg": 2012}
    with app.db.session() as s:
        for name, year in dates.items():
            s.execute(update(Photo).where(Photo.id == photo_id(app, name))
                      .values(captured_at=datetime(year, 6, 1, tzinfo=UTC)))
    open_person(qtbot, window, red)
    page = window.people.person_page
    assert page.tabs.tabText(page.tabs.currentIndex()) == "Photos"
    assert page.views.currentWidget() is page.photo_view and page.photo_view.isVisible()
    names = [PurePath(page.photos.photo(r).path).name for r in range(page.photos.rowCount())]
    assert names == ["group.jpg", "red_2.jpg", "red_3.jpg", "red_0.jpg", "red_1.jpg"]
    # A photo's thumbnail arrives through the thumbnail loader.
    qtbot.waitUntil(lambda: page.photo_thumbnails.cached(page.photos.photo(0)) is not None,
                    timeout=10_000)

    # The faces are the second view; any face opens its whole photo.
    page.tabs.setCurrentIndex(1)
    assert page.face_view.isVisible() and page.action_buttons[page.move_action].isVisible()
    face = next(f for f in list_faces(app) if PurePath(f.photo_path).name == "red_3.jpg")
    page.select_faces([face.id])
    assert page.open_photo_action.isEnabled()
    page.open_photo_action.trigger()
    viewer = page.viewer
    assert viewer is not None and viewer.isVisible()
    assert viewer.photo() is not None and viewer.photo().id == face.photo_id
    qtbot.waitUntil(lambda: viewer.loaded is not None)
    viewer.close()


def test_name_a_face_by_clicking_it_then_not_this_person_and_undo(
        qtbot: QtBot, people_window: MainWindow, app: AppContext) -> None:
    window = people_window
    red = red_person(app)
    open_person(qtbot, window, red)
    page = window.people.person_page
    page.photo_view.setCurrentIndex(page.photos.index(0))
    viewer = page.open_photo(0)
    assert viewer is not None
    qtbot.waitUntil(lambda: viewer.loaded is not None and bool(viewer.view.marks))
    assert viewer.view.marks[0].label == "Unnamed"  # no "#id" anywhere

    # A face of an unnamed person: typing a name names the person.
    menu = face_menu(qtbot, viewer, 1)
    face = menu.face
    assert face.person_id == red
    face_photo = viewer.loaded.photo_id
    qtbot.keyClicks(menu.name_edit, "Mark Zuckerberg")
    qtbot.keyClick(menu.name_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: get_person(app, red).name == "Mark Zuckerberg")
    qtbot.waitUntil(lambda: viewer.view.marks[0].label == "Mark Zuckerberg")
    window._update_undo()
    assert window.undo_action.text() == "&Undo naming Mark Zuckerberg"
    window.editor.rename(red, "Mark")
    window._update_undo()
    assert window.undo_action.text() == "&Undo rename of Mark Zuckerberg"
    assert "#" not in window.undo_action.text()

    # "Not this person" from the same menu: the face leaves Mark for good.
    menu = face_menu(qtbot, viewer, 1)
    assert menu.not_action is not None and menu.not_action.text() == "Not Mark"
    qtbot.mouseClick(menu, Qt.MouseButton.LeftButton,
                     pos=menu.actionGeometry(menu.not_action).center())
    qtbot.waitUntil(lambda: person_of(app, face.face_id) is None)
    assert not menu.isVisible()
    with app.db.session() as s:
        assert s.get(FaceRejection, (face.face_id, red)) is not None
    qtbot.waitUntil(lambda: viewer.view.marks[0].label == "?")
    qtbot.waitUntil(lambda: page.details_label.text().startswith("4 faces"))  # page re-read
    assert viewer.photo() is not None and viewer.photo().id == face_photo  # still this one
    window._update_undo()
    assert window.undo_action.text() == "&Undo “not Mark” for 1 face"

    # Pick an existing person from the menu for the now unknown face (by keyboard: its number).
    qtbot.keyClick(viewer.view, Qt.Key.Key_1)
    qtbot.waitUntil(lambda: viewer.menu is not None and viewer.menu.isVisible())
    menu = viewer.menu
    assert menu.face.face_id == face.face_id
    assert red in menu.person_actions
    menu.person_actions[red].trigger()
    qtbot.waitUntil(lambda: person_of(app, face.face_id) == red)
    window.editor.undo()
    qtbot.waitUntil(lambda: person_of(app, face.face_id) is None)
    assert page.photos.rowCount() == 5
    viewer.close()  # the photos grid catches up: group.jpg is no longer one of Mark's
    qtbot.waitUntil(lambda: page.photos.rowCount() == 4)


def test_draw_a_missed_face_name_it_and_find_it_on_the_person_page(
        qtbot: QtBot, people_window: MainWindow, app: AppContext) -> None:
    window = people_window
    window.editor.rename(red_person(app), "Alice")
    street = photo_id(app, "street.jpg")
    before = {f.id for f in list_faces(app) if f.photo_id == street}
    assert len(before) == 2  # the two passers-by; the dim face was missed
    library = window.library
    library.model.fetch_all()
    row = next(r for r in range(library.model.rowCount())
               if library.model.photo(r).id == street)
    viewer = library.open_viewer(library.model.index(row))
    assert viewer is not None and viewer.editor is window.editor
    qtbot.waitUntil(lambda: viewer.loaded is not None and len(viewer.view.marks) == 2)

    view = viewer.view
    qtbot.mouseClick(viewer.add_face_button, Qt.MouseButton.LeftButton)
    assert view.drawing
    rect = view.photo_rect()
    scale = rect.width() / view.before.width()

    def at(x: float, y: float) -> QPoint:
        return QPoint(round(rect.left() + x * scale), round(rect.top() + y * scale))

    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=at(36, 56))
    qtbot.mouseMove(view, at(80, 100))
    qtbot.mouseMove(view, at(114, 134))
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=at(114, 134))
    qtbot.waitUntil(lambda: len(list_faces(app, photo=PurePath(viewer.photo().path))) == 3,
                    timeout=10_000)
    added = next(f for f in list_faces(app) if f.photo_id == street and f.id not in before)
    assert added.detector == "manual" and not view.drawing
    assert added.box[0] == pytest.approx(36, abs=2) and added.box[3] == pytest.approx(134, abs=2)
    with app.db.session() as s:
        assert s.scalar(select(FaceEmbedding.model_id)
                        .where(FaceEmbedding.face_id == added.id)) == "squares-v1"
    # It shows at once, and its naming menu opens by itself.
    qtbot.waitUntil(lambda: len(view.marks) == 3)
    qtbot.waitUntil(lambda: viewer.menu is not None and viewer.menu.isVisible())
    menu = viewer.menu
    assert menu is not None and menu.face.face_id == added.id
    # Clustered like any face: the dim red square looks like Alice's red ones.
    assert person_of(app, added.id) == red_person(app)
    assert added.id not in {f.id for f in unassigned_faces(app)}
    qtbot.keyClicks(menu.name_edit, "Dimitri")
    qtbot.keyClick(menu.name_edit, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: any(p.name == "Dimitri" for p in list_people(app)))
    dimitri = next(p for p in list_people(app) if p.name == "Dimitri")
    assert person_of(app, added.id) == dimitri.id
    open_person(qtbot, window, dimitri.id)
    page = window.people.person_page
    assert [f.id for f in page.faces.faces(range(page.faces.rowCount()))] == [added.id]
    assert page.photos.rowCount() == 1 and page.photos.photo(0).id == street

    # Drawn by mistake: only a drawn face offers to be removed, and then it is gone.
    detected = viewer.open_face_menu(2)
    assert detected is not None and detected.remove_action is None
    detected.close()
    number = next(n for n, f in enumerate(viewer.loaded.faces, 1) if f.face_id == added.id)
    menu = viewer.open_face_menu(number)
    assert menu is not None and menu.remove_action is not None
    menu.remove_action.trigger()
    qtbot.waitUntil(lambda: len(view.marks) == 2)
    assert added.id not in {f.id for f in list_faces(app)}
    viewer.close()


def test_ignore_strangers_hides_the_tiny_ones_and_undo_brings_them_back(
        qtbot: QtBot, people_window: MainWindow, app: AppContext) -> None:
    window = people_window
    blue = next(f.id for f in list_faces(app) if PurePath(f.photo_path).name == "blue_0.jpg")
    window.editor.unassign([blue])  # a clear face of nobody: it stays, and comes first
    window.page_actions[1].trigger()
    window.people.show_unassigned()
    page = window.people.unassigned
    tiny = {f.id for f in list_faces(app) if f.size_px < 10}
    assert len(tiny) == 2
    shown = [f.id for f in page.faces.faces(range(page.faces.rowCount()))]
    assert shown[0] == blue and set(shown[1:]) == tiny  # the tiny, blurred ones last
    qtbot.mouseClick(page.ignore_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: [f.id for f in page.faces.faces(
        range(page.faces.rowCount()))] == [blue])
    with app.db.session() as s:
        assert s.scalar(select(Face.id).where(Face.id.in_(tiny))) is not None  # kept, hidden
    window._update_undo()
    assert window.undo_action.text() == "&Undo ignoring 2 strangers"
    window.undo_action.trigger()
    qtbot.waitUntil(lambda: tiny <= {f.id for f in page.faces.faces(
        range(page.faces.rowCount()))})


def test_the_menu_of_an_unknown_face_offers_names_not_ids(
        qtbot: QtBot, people_window: MainWindow, app: AppContext) -> None:
    window = people_window
    red = red_person(app)
    window.editor.rename(red, "Alice")
    street = photo_id(app, "street.jpg")
    library = window.library
    library.model.fetch_all()
    row = next(r for r in range(library.model.rowCount())
               if library.model.photo(r).id == street)
    viewer = library.open_viewer(library.model.index(row))
    assert viewer is not None
    qtbot.waitUntil(lambda: viewer.loaded is not None and len(viewer.view.marks) == 2)
    menu = viewer.open_face_menu(1)
    assert isinstance(menu, QMenu)
    texts = [a.text() for a in menu.actions() if a.text()]
    assert "Alice" in texts and not any("#" in t for t in texts)
    assert menu.not_action is None  # nobody's face: nobody to be "not"
    menu.close()
    viewer.close()
