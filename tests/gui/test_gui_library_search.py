"""The Library page's search box: people by name (a click opens their page), photos by person,
folder and date; Ctrl+F puts the cursor in it from any page."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot
from sqlalchemy import update
from squares_backend import squares_photo

from core.context import AppContext
from core.db.models import Photo
from core.library.browse import PhotoFilter, filtered_photos, photo_faces
from core.people.edits import rename
from idfsr_desktop.main_window import MainWindow


def _shown(window: MainWindow) -> list[str]:
    model = window.library.model
    model.fetch_all()
    return sorted(Path(model.photo(r).path).name for r in range(model.rowCount()))


def _person_in(app: AppContext, path: Path) -> int:
    photo = next(p for p in filtered_photos(app, PhotoFilter()) if p.path == str(path))
    return next(f.person_id for f in photo_faces(app, photo.id) if f.person_id is not None)


def _search(qtbot: QtBot, window: MainWindow, text: str) -> None:
    box = window.library.search_box
    box.clear()
    qtbot.keyClicks(box, text)
    # The search runs once the typing pauses.
    qtbot.waitUntil(lambda: box.found is not None and box.found.text == text.strip(),
                    timeout=5_000)


def test_search_finds_people_and_photos_by_person_folder_and_date(
        qtbot: QtBot, people_window: MainWindow, app: AppContext,
        squares_library: Path) -> None:
    window = people_window
    library = window.library
    squares_photo(squares_library / "Paris trip" / "tower.jpg", [(5, 5, 30, (20, 20, 20))])
    window.index_action.trigger()
    qtbot.waitUntil(lambda: window.index_task is not None and not window.index_task.running,
                    timeout=60_000)
    red = _person_in(app, squares_library / "red_0.jpg")
    green = _person_in(app, squares_library / "green_0.jpg")
    rename(app, red, "Barack Obama")
    rename(app, green, "Michelle Obama")
    with app.db.session() as s:
        for name, when in (("red_0.jpg", datetime(2019, 3, 14, tzinfo=UTC)),
                           ("green_1.jpg", datetime(2019, 8, 1, tzinfo=UTC)),
                           ("blue_2.jpg", datetime(2018, 3, 3, tzinfo=UTC))):
            s.execute(update(Photo).where(Photo.path == str(squares_library / name))
                      .values(captured_at=when))
    library.refresh()  # the choices (names, folders) are read again in the background
    qtbot.waitUntil(lambda: library.filters.person_combo.findText("Barack Obama") >= 0,
                    timeout=10_000)
    window.show_page("library")

    _search(qtbot, window, "obama")
    assert [b.text() for b in library.search_people.buttons] == [
        "Barack Obama · 5 photos", "Michelle Obama · 5 photos"]
    assert library.search_people.isVisibleTo(library)
    assert _shown(window) == sorted([f"red_{i}.jpg" for i in range(4)]
                                    + [f"green_{i}.jpg" for i in range(4)] + ["group.jpg"])
    assert "shown" in library.counts_label.text()

    _search(qtbot, window, "barack")
    assert [b.text() for b in library.search_people.buttons] == ["Barack Obama · 5 photos"]
    assert _shown(window) == ["group.jpg", "red_0.jpg", "red_1.jpg", "red_2.jpg", "red_3.jpg"]

    _search(qtbot, window, "2019")
    assert not library.search_people.isVisibleTo(library)
    assert _shown(window) == ["green_1.jpg", "red_0.jpg"]
    assert library.timeline.headers() == ["2019", "August 2019", "March 2019"]
    _search(qtbot, window, "March 2019")
    assert _shown(window) == ["red_0.jpg"]
    _search(qtbot, window, "march")
    assert _shown(window) == ["blue_2.jpg", "red_0.jpg"]
    _search(qtbot, window, "michelle 2019")
    assert _shown(window) == ["green_1.jpg"]

    _search(qtbot, window, "paris")
    assert _shown(window) == ["tower.jpg"]

    _search(qtbot, window, "zebra")
    assert _shown(window) == [] and library.pages.currentWidget() is library.empty_state
    assert library.empty_state.title.text() == "Nothing matches “zebra”"

    # Escape empties the search: every photo again.
    qtbot.keyClick(library.search_box, Qt.Key.Key_Escape)
    assert library.search_box.text() == "" and len(_shown(window)) == 14

    # A person found opens their page.
    _search(qtbot, window, "michelle")
    qtbot.mouseClick(library.search_people.buttons[0], Qt.MouseButton.LeftButton)
    assert window.current_page() == "people"
    assert window.people.person_page.person is not None
    assert window.people.person_page.person.id == green


def test_ctrl_f_focuses_the_search_from_any_page(qtbot: QtBot, people_window: MainWindow
                                                 ) -> None:
    window = people_window
    window.show_page("people")
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5_000)
    window.library.search_box.setText("old words")
    qtbot.keyClick(QApplication.focusWidget() or window, Qt.Key.Key_F,
                   Qt.KeyboardModifier.ControlModifier)
    assert window.current_page() == "library"
    assert QApplication.focusWidget() is window.library.search_box
    assert window.library.search_box.selectedText() == "old words"  # typing replaces them
