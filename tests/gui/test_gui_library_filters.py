"""The Library page's filter bar: it wraps to fit a narrow window (every control whole,
visible and not covered), and its filters are remembered for the next session."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PySide6.QtCore import QDate, QPoint, QRect
from PySide6.QtGui import QRegion
from PySide6.QtWidgets import QApplication, QLabel, QMessageBox, QWidget
from pytestqt.qtbot import QtBot
from sqlalchemy import update

from core.context import AppContext
from core.db.models import Photo
from core.faces.service import list_faces
from core.library.service import add_root
from idfsr_desktop.library_filter_widget import NO_DATE, SETTINGS_GROUP, LibraryFilterWidget
from idfsr_desktop.main_window import MainWindow
from idfsr_desktop.window_settings import window_settings


def _controls(bar: LibraryFilterWidget) -> list[QWidget]:
    labels = [label for label in bar.findChildren(QLabel) if label.buddy() is not None]
    return [bar.folder_combo, bar.from_edit, bar.to_edit, bar.faces_combo, bar.person_combo,
            bar.status_combo, bar.clear_button, *labels]


def _rect_in(widget: QWidget, ancestor: QWidget) -> QRect:
    return QRect(widget.mapTo(ancestor, QPoint(0, 0)), widget.size())


@pytest.mark.parametrize("width", [800, 0])  # 0: the window's narrowest
def test_filter_bar_fits_a_narrow_window(qtbot: QtBot, app: AppContext,
                                         make_photos: Callable[..., Path], width: int) -> None:
    add_root(app, make_photos("photos", 3))
    win = MainWindow(app)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    width = width or win.minimumSizeHint().width()
    assert width <= 800  # the window itself can be that narrow (every page allows it)
    win.resize(width, 600)
    qtbot.waitUntil(lambda: win.width() == width)
    library, bar = win.library, win.library.filters
    qtbot.waitUntil(lambda: bar.y() + bar.height() <= library.pages.y() - library.header.y())
    assert bar.height() > bar.folder_combo.height() * 3 // 2  # it did wrap

    controls = _controls(bar)
    assert len(controls) == 12  # seven controls, five labels
    visible = bar.visibleRegion()
    rects = []
    for control in controls:
        assert control.isVisible(), control
        rect = _rect_in(control, bar)
        assert (QRegion(rect) - visible).isEmpty(), (control, rect, bar.rect())
        # Nothing covers it: a click on its middle reaches it.
        hit = win.childAt(control.mapTo(win, control.rect().center()))
        assert hit is control or control.isAncestorOf(hit), (control, hit)
        rects.append(rect)
    for i, first in enumerate(rects):
        for second in rects[i + 1:]:
            assert not first.intersects(second), (first, second)
    # The grid starts below the bar, inside the page.
    header = _rect_in(library.header, library)
    assert library.rect().contains(header)
    assert _rect_in(library.pages, library).top() > header.bottom()
    win.close()


def _set_dates(app: AppContext, folder: Path, years: dict[str, int]) -> None:
    with app.db.session() as s:
        for name, year in years.items():
            s.execute(update(Photo).where(Photo.path == str(folder / name))
                      .values(captured_at=datetime(year, 6, 1, tzinfo=UTC)))


def _reopen(qtbot: QtBot, app: AppContext) -> MainWindow:
    win = MainWindow(app)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    filters = win.library.filters
    qtbot.waitUntil(lambda: filters.person_combo.count() == 4, timeout=10_000)  # choices in
    return win


def _shown(win: MainWindow) -> list[str]:
    model = win.library.model
    model.fetch_all()
    return sorted(Path(model.photo(r).path).name for r in range(model.rowCount()))


def test_filters_are_remembered_for_the_next_session(
        qtbot: QtBot, people_window: MainWindow, app: AppContext,
        squares_library: Path) -> None:
    _set_dates(app, squares_library, {"red_0.jpg": 1975, "group.jpg": 1982, "blue_0.jpg": 1990})
    filters = people_window.library.filters
    qtbot.waitUntil(lambda: filters.person_combo.count() == 4, timeout=10_000)
    red_id = list_faces(app, photo=squares_library / "red_0.jpg")[0].person_id
    assert red_id is not None

    filters.folder_combo.setCurrentIndex(filters.folder_combo.findData(str(squares_library)))
    filters.from_edit.setDate(QDate(1970, 1, 1))
    filters.faces_combo.setCurrentText("With faces")
    filters.person_combo.setCurrentIndex(filters.person_combo.findData(red_id))
    assert _shown(people_window) == ["group.jpg", "red_0.jpg"]
    people_window.close()

    again = _reopen(qtbot, app)
    filters = again.library.filters
    qtbot.waitUntil(lambda: filters.person_combo.currentData() == red_id, timeout=10_000)
    assert filters.folder_combo.currentData() == str(squares_library)
    assert filters.from_edit.date() == QDate(1970, 1, 1) and filters.to_edit.date() == NO_DATE
    assert filters.faces_combo.currentData() is True and filters.status_combo.currentIndex() == 0
    assert filters.clear_button.isEnabled()
    assert _shown(again) == ["group.jpg", "red_0.jpg"]
    assert again.library.counts_label.text().endswith("· 2 shown")
    again.close()

    # The person and the folder are gone by the next session: both fall back to "any",
    # quietly; the other filters stay, and the fallback is what is remembered from then on.
    settings = window_settings(app)
    settings.setValue(f"{SETTINGS_GROUP}/person", "99999")
    settings.setValue(f"{SETTINGS_GROUP}/folder", str(squares_library / "gone"))
    settings.sync()
    third = _reopen(qtbot, app)
    filters = third.library.filters
    qtbot.waitUntil(lambda: third.library.counts_label.text().endswith("· 3 shown"),
                    timeout=10_000)
    assert filters.person_combo.currentIndex() == 0 and filters.folder_combo.currentIndex() == 0
    assert filters.from_edit.date() == QDate(1970, 1, 1)
    assert _shown(third) == ["blue_0.jpg", "group.jpg", "red_0.jpg"]
    assert not [w for w in QApplication.topLevelWidgets()
                if isinstance(w, QMessageBox) and w.isVisible()]
    settings = window_settings(app)
    assert settings.value(f"{SETTINGS_GROUP}/person") == ""
    assert settings.value(f"{SETTINGS_GROUP}/folder") == ""
    third.close()
