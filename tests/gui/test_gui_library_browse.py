"""The Library page's filters (folder, dates, faces, person) and the photo viewer (faces boxed
and named, previous/next through the filtered grid, restore from there)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from PySide6.QtCore import QDate, Qt
from pytestqt.qtbot import QtBot
from sqlalchemy import update
from squares_backend import squares_photo

from core.context import AppContext
from core.db.models import Photo
from core.people.edits import rename
from idfsr_desktop.library_filter_widget import NO_DATE
from idfsr_desktop.main_window import MainWindow
from idfsr_desktop.task_runner import InlineExecutor


def _names(window: MainWindow) -> list[str]:
    model = window.library.model
    model.fetch_all()
    return [Path(model.photo(r).path).name for r in range(model.rowCount())]


def test_filters_and_viewer(qtbot: QtBot, people_window: MainWindow, app: AppContext,
                            squares_library: Path, tasks: InlineExecutor) -> None:
    window = people_window
    library, filters = window.library, window.library.filters
    window.show_page("library")
    assert len(_names(window)) == 13 and not filters.clear_button.isEnabled()
    # The choices are read in the background once the library is in.
    tasks.drain()
    assert filters.person_combo.count() == 4
    assert filters.folder_combo.findData(str(squares_library)) == 1

    # A photo without faces in a subfolder, and dates on two photos.
    squares_photo(squares_library / "scans" / "blank.jpg", [(5, 5, 30, (20, 20, 20))])
    window.index_action.trigger()
    tasks.drain()
    assert window.index_task is not None and not window.index_task.running
    assert filters.folder_combo.count() == 3
    with app.db.session() as s:
        for name, year in (("red_0.jpg", 1975), ("group.jpg", 1982)):
            s.execute(update(Photo).where(Photo.path == str(squares_library / name))
                      .values(captured_at=datetime(year, 6, 1, tzinfo=UTC)))

    filters.folder_combo.setCurrentIndex(filters.folder_combo.findData(
        str(squares_library / "scans")))
    assert _names(window) == ["blank.jpg"] and filters.clear_button.isEnabled()
    assert library.counts_label.text().endswith("photos in 1 folder · 1 shown")
    filters.folder_combo.setCurrentIndex(0)
    filters.faces_combo.setCurrentText("Without faces")
    assert _names(window) == ["blank.jpg"]
    filters.faces_combo.setCurrentText("With faces")
    assert len(_names(window)) == 13
    filters.from_edit.setDate(QDate(1970, 1, 1))
    filters.to_edit.setDate(QDate(1979, 12, 31))
    assert _names(window) == ["red_0.jpg"]
    filters.to_edit.setDate(NO_DATE)
    assert _names(window) == ["group.jpg", "red_0.jpg"]
    filters.from_edit.setDate(QDate(2030, 1, 1))
    assert _names(window) == [] and library.pages.currentWidget() is library.empty_state
    assert library.empty_state.title.text() == "No photos match the filters"
    filters.clear()
    assert len(_names(window)) == 14 and not filters.clear_button.isEnabled()

    # The person of the group photo's left face, named; the filter follows the name.
    group = next(r for r in range(library.model.rowCount())
                 if library.model.photo(r).path.endswith("group.jpg"))
    viewer = library.open_viewer(library.model.index(group))
    assert viewer is not None and viewer.isVisible()
    tasks.drain()
    assert viewer.loaded is not None
    marks = viewer.view.marks
    assert len(marks) == 2 and all(m.label == "Unnamed" for m in marks)  # never an id
    red = viewer.loaded.faces[0].person_id
    assert red is not None and marks[0].box[0] < marks[1].box[0]
    assert "2 faces" in viewer.detail_label.text() and "1982-06-01" in viewer.detail_label.text()
    rename(app, red, "Ruth")
    library.refresh()
    tasks.drain()
    assert filters.person_combo.findText("Ruth") >= 0
    filters.person_combo.setCurrentIndex(filters.person_combo.findText("Ruth"))
    assert _names(window) == ["group.jpg", "red_0.jpg", "red_1.jpg", "red_2.jpg", "red_3.jpg"]

    # The viewer walks the filtered grid; the grid follows.
    viewer = library.open_viewer(library.model.index(0))
    assert viewer is not None and "1 of 5" in viewer.name_label.text()
    tasks.drain()
    assert viewer.loaded is not None
    assert [m.label for m in viewer.view.marks] == ["Ruth", "Unnamed"]
    assert not viewer.previous_button.isEnabled()
    qtbot.keyClick(viewer, Qt.Key.Key_Right)
    assert viewer.row == 1 and library.view.currentIndex() == library.view_index(1)
    tasks.drain()
    assert viewer.loaded is not None
    assert [m.label for m in viewer.view.marks] == ["Ruth"]
    assert viewer.windowTitle() == "red_0.jpg" and "2 of 5" in viewer.name_label.text()
    for _ in range(5):
        viewer.show_next()
    assert viewer.row == 4 and not viewer.next_button.isEnabled()
    viewer.show_previous()
    assert viewer.row == 3

    viewer.restore_button.click()  # to the Restore page, the viewer closes
    assert window.current_page() == "restore" and not viewer.isVisible()
    assert [p.path.name for p in window.restorer.photos] == ["red_2.jpg"]
