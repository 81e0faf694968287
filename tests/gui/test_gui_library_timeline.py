"""The Library grid as a timeline: year and month headers, newest first, the scroll position kept
over a refresh, and the grid filling in while indexing runs."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PySide6.QtCore import QDate, QSize, Qt
from pytestqt.qtbot import QtBot
from sqlalchemy import update

import core.library.indexer as indexer
import idfsr_desktop.library_widget as library_widget
from core.context import AppContext
from core.db.models import Photo
from core.jobs import Progress
from core.library.browse import PhotoOrder, order_key
from idfsr_desktop.main_window import MainWindow
from idfsr_desktop.timeline_model import HeaderRole

INDEX_TIMEOUT_MS = 60_000


def _index(qtbot: QtBot, window: MainWindow, folder: Path) -> None:
    window.add_folder(str(folder))
    qtbot.waitUntil(lambda: window.index_task is not None and not window.index_task.running,
                    timeout=INDEX_TIMEOUT_MS)


def _date(folder: Path, dates: dict[int, datetime | None], app: AppContext) -> None:
    """Capture dates by photo number (make_photos names them photo_0000.jpg, …)."""
    with app.db.session() as s:
        for number, when in dates.items():
            s.execute(update(Photo).where(Photo.path == str(folder / f"photo_{number:04d}.jpg"))
                      .values(captured_at=when))


def _rows(window: MainWindow) -> list[str]:
    """The grid top to bottom: headers as '# text', photos by number."""
    timeline = window.library.timeline
    out = []
    for row in range(timeline.rowCount()):
        index = timeline.index(row)
        text = index.data()
        out.append(f"# {text}" if index.data(HeaderRole) else text[len("photo_"):-len(".jpg")])
    return out


def test_photos_are_grouped_under_years_and_months_newest_first(
        qtbot: QtBot, window: MainWindow, app: AppContext, make_photos) -> None:
    app.settings.faces.enabled = False
    folder = make_photos("dated", 6)
    _index(qtbot, window, folder)
    _date(folder, {0: datetime(2019, 3, 2, 10, tzinfo=UTC), 1: datetime(2019, 3, 20, tzinfo=UTC),
                   2: datetime(2019, 7, 4, tzinfo=UTC), 3: datetime(2018, 12, 24, tzinfo=UTC),
                   4: None, 5: None}, app)
    library = window.library
    library.refresh()

    assert _rows(window) == ["# 2019", "# July 2019", "0002", "# March 2019", "0001", "0000",
                             "# 2018", "# December 2018", "0003", "# No date", "0004", "0005"]
    assert library.model.rowCount() == 6  # the viewer walks photos only
    # Headers are not photos: not selectable, and Select All takes the photos alone.
    timeline = library.timeline
    assert not timeline.flags(timeline.index(0)) and timeline.flags(timeline.index(2))
    library.view.selectAll()
    assert len(library.selected_paths()) == 6

    # A header spans the row; the photos under it start a new row.
    view = library.view
    qtbot.waitUntil(lambda: view.visualRect(timeline.index(2)).isValid(), timeout=5_000)
    header = view.visualRect(timeline.index(1))
    assert header.width() >= view.viewport().width() * 0.9
    photo = view.visualRect(timeline.index(2))
    assert photo.top() >= header.bottom() and photo.left() < header.width() // 4
    march = view.visualRect(timeline.index(3))
    assert march.top() >= photo.bottom()  # "March" did not join July's row

    # The keys walk photos only: Down from July goes past "March 2019" to its first photo.
    view.setCurrentIndex(timeline.index(2))
    qtbot.keyClick(view, Qt.Key.Key_Down)
    assert view.currentIndex().row() == 4
    qtbot.keyClick(view, Qt.Key.Key_End)
    assert view.currentIndex().row() == 11
    qtbot.keyClick(view, Qt.Key.Key_Home)
    assert view.currentIndex().row() == 2

    library.order_combo.setCurrentIndex(library.order_combo.findData(PhotoOrder.OLDEST))
    assert timeline.headers() == ["2018", "December 2018", "2019", "March 2019", "July 2019",
                                  "No date"]
    assert _rows(window)[-3:] == ["# No date", "0004", "0005"]


def test_the_scroll_position_stays_when_the_grid_refreshes(
        qtbot: QtBot, window: MainWindow, app: AppContext, make_photos) -> None:
    app.settings.faces.enabled = False
    window.resize(800, 600)
    folder = make_photos("many", 90)
    _index(qtbot, window, folder)
    _date(folder, {i: datetime(2000 + i // 10, 1 + i % 12, 1, tzinfo=UTC) for i in range(90)},
          app)
    library = window.library
    library.refresh()
    bar = library.view.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 1000, timeout=5_000)
    bar.setValue(bar.maximum() // 2)
    middle = bar.value()
    resets: list[int] = []
    library.timeline.modelReset.connect(lambda: resets.append(1))

    library.refresh()  # after indexing, adding a folder…
    qtbot.wait(200)  # the view lays out again in batches
    assert bar.value() == middle

    # A filter that lets the same photos through leaves the grid as it was.
    filters = library.filters
    qtbot.waitUntil(lambda: filters.folder_combo.count() == 2, timeout=10_000)
    filters.folder_combo.setCurrentIndex(1)  # the one folder: every photo
    qtbot.wait(200)
    assert bar.value() == middle and resets == []

    # A photo indexed meanwhile joins its month without moving the view.
    _date(folder, {0: datetime(2030, 1, 1, tzinfo=UTC)}, app)
    library.refresh()
    qtbot.wait(200)
    assert _rows(window)[:3] == ["# 2030", "# January 2030", "0000"]
    assert resets == [] and bar.value() == middle

    filters.from_edit.setDate(QDate(2005, 1, 1))  # other photos: from the top
    assert resets == [1]
    qtbot.waitUntil(lambda: bar.value() == 0, timeout=5_000)


@pytest.mark.threaded  # watches the grid while indexing runs
def test_the_grid_fills_in_while_indexing(qtbot: QtBot, window: MainWindow, app: AppContext,
                                         make_photos, monkeypatch: pytest.MonkeyPatch) -> None:
    app.settings.faces.enabled = False
    app.settings.index.workers = 3
    folder = make_photos("incoming", 40)
    # Small commits and slow reads, so that the run lasts through several progress reports;
    # reads of uneven length, so that photos come in out of path order and go in between.
    monkeypatch.setattr(indexer, "COMMIT_EVERY", 4)
    read = indexer._read_photo
    pauses = random.Random(7)

    def slow_read(*args: object) -> object:
        time.sleep(0.02 + 0.08 * pauses.random())
        return read(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(indexer, "_read_photo", slow_read)
    monkeypatch.setattr(library_widget, "GROWTH_INTERVAL_S", 0.0)
    library = window.library
    resets: list[int] = []
    library.timeline.modelReset.connect(lambda: resets.append(1))

    seen: list[int] = []
    window.add_folder(str(folder))
    task = window.index_task
    assert task is not None

    in_order: list[bool] = []

    def count(report: Progress) -> None:
        if report.stage == "indexing":
            model = library.model
            seen.append(model.rowCount())
            rows = [model.photo(r) for r in range(model.rowCount())]
            in_order.append(rows == sorted(rows, key=lambda p: order_key(p, model.order)))

    task.progress.connect(count)
    qtbot.waitUntil(lambda: not task.running, timeout=INDEX_TIMEOUT_MS)

    partial = [n for n in seen if 0 < n < 40]
    assert len(set(partial)) >= 3, seen  # the grid grew in steps while photos were read
    assert seen == sorted(seen) and all(in_order)  # each photo went in at its place
    assert library.model.rowCount() == 40
    assert library.pages.currentWidget() is library.view
    assert resets == []  # rows were inserted, the view never started over
    timeline = library.timeline
    photo_rows = [r for r in range(timeline.rowCount()) if not timeline.is_header(r)]
    assert [timeline.source_row(r) for r in photo_rows] == list(range(40))
    assert timeline.headers() == ["No date"]


def test_landscape_photos_sit_close_under_their_month(
        qtbot: QtBot, window: MainWindow, app: AppContext, make_photos) -> None:
    app.settings.faces.enabled = False
    folder = make_photos("landscape", 2)  # 4:3, as most cameras take them
    _index(qtbot, window, folder)
    _date(folder, {0: datetime(2019, 3, 2, tzinfo=UTC), 1: datetime(2019, 3, 3, tzinfo=UTC)},
          app)
    library = window.library
    library.refresh()
    view, timeline, delegate = library.view, library.timeline, library.delegate
    assert _rows(window)[:3] == ["# 2019", "# March 2019", "0001"]
    qtbot.waitUntil(lambda: view.visualRect(timeline.index(2)).isValid(), timeout=5_000)
    metrics = view.fontMetrics()
    pad = delegate.padding(metrics)
    box = delegate.thumbnail_rect(delegate.cell_rect(view.visualRect(timeline.index(2)),
                                                     metrics), metrics)
    # The picture fills its box, which starts a padding under the month's header.
    picture = delegate.pixmap_rect(box, QSize(96, 72))
    month = view.visualRect(timeline.index(1))
    assert picture.width() == delegate.thumb_size
    assert 0 <= picture.top() - month.bottom() <= pad + 1
    # A portrait photo stands in the same box at its full height, centred.
    portrait = delegate.pixmap_rect(box, QSize(72, 96))
    assert portrait.top() == box.top() and portrait.bottom() == box.bottom()
    assert box.left() < portrait.left() and portrait.right() < box.right()
