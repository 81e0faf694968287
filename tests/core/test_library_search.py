"""Searching the library by words: people by name, photos by person, folder and date; and the
timeline order of the grid."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from sqlalchemy import update
from squares_backend import SquaresBackend, squares_photo

from core.context import AppContext
from core.db.models import Photo
from core.faces.backends import FACE_BACKEND
from core.library.browse import (
    PhotoFilter,
    PhotoOrder,
    filtered_photos,
    new_photos,
    order_key,
    photos_query,
    timeline_month,
)
from core.library.search import DateSpan, month_of, parse_search, search_words
from core.library.service import add_root
from core.people.edits import rename
from core.people.search import search_library
from core.people.service import PersonInfo
from core.tasks.indexing import index_everything

RED, GREEN = (220, 40, 40), (40, 220, 40)


def _person(pid: int, name: str | None) -> PersonInfo:
    return PersonInfo(pid, name, False, 3, 0, None)


def test_words_join_a_month_with_its_year() -> None:
    assert search_words("  Obama, March 2019 ") == ["obama", "march 2019"]
    assert search_words("2019 mar trip") == ["mar 2019", "trip"]
    assert search_words("march") == ["march"]
    assert month_of("sept") == 9 and month_of("ma") is None and month_of("mayo") is None


def test_dates_are_read_from_years_months_and_days() -> None:
    terms = parse_search("2019", [], []).terms
    assert terms[0].span == DateSpan(date(2019, 1, 1), date(2020, 1, 1))
    assert parse_search("December 2019", [], []).terms[0].span == DateSpan(
        date(2019, 12, 1), date(2020, 1, 1))
    assert parse_search("2020-02", [], []).terms[0].span == DateSpan(
        date(2020, 2, 1), date(2020, 3, 1))
    assert parse_search("2020-02-29", [], []).terms[0].span == DateSpan(
        date(2020, 2, 29), date(2020, 3, 1))
    assert parse_search("2019-02-30", [], []).terms[0].span is None  # no such day
    march = parse_search("march", [], []).terms[0]
    assert march.month == 3 and march.span is None and march.is_date
    assert not parse_search("1234", [], []).terms[0].is_date  # not a plausible year


def test_people_are_found_by_every_word_that_is_not_only_a_date() -> None:
    people = [_person(1, "Barack Obama"), _person(2, "Michelle Obama"), _person(3, None),
              _person(4, "Mark Twain")]
    assert [p.id for p in parse_search("obama", people, []).people] == [1, 2]
    assert [p.id for p in parse_search("barack obama", people, []).people] == [1]
    assert [p.id for p in parse_search("OBAMA march 2019", people, []).people] == [1, 2]
    assert [p.id for p in parse_search("obama march", people, []).people] == [1, 2]
    assert [p.id for p in parse_search("mar", people, []).people] == [4]  # and March photos
    assert parse_search("2019", people, []).people == ()
    assert parse_search("obama nobody", people, []).people == ()
    assert parse_search("", people, []).terms == ()


def test_folder_words_match_the_folders_below_a_root_only(tmp_path: Path) -> None:
    root = str(tmp_path / "Pictures")
    folders = [root, f"{root}/2019/Paris trip", f"{root}/2019/Paris trip/day 2",
               f"{root}/family"]
    assert parse_search("paris", [], folders).terms[0].folders == (f"{root}/2019/Paris trip",)
    # A folder that holds only subfolders still matches; its subfolders are not repeated.
    assert parse_search("2019", [], folders).terms[0].folders == (f"{root}/2019",)
    assert parse_search("pictures", [], folders).terms[0].folders == (root,)
    above = tmp_path.name.casefold()  # the folders above the root are not the library's
    assert parse_search(above, [], folders).terms[0].folders == ()


def _library(app: AppContext, tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    dated = {"red_a.jpg": datetime(2019, 3, 10, 12, tzinfo=UTC),
             "red_b.jpg": datetime(2019, 7, 4, 12, tzinfo=UTC),
             "green_a.jpg": datetime(2018, 3, 20, 12, tzinfo=UTC),
             "group.jpg": datetime(2019, 3, 30, 12, tzinfo=UTC)}
    squares_photo(root / "home" / "red_a.jpg", [(20, 20, 72, RED)])
    squares_photo(root / "home" / "red_b.jpg", [(25, 20, 72, RED)])
    squares_photo(root / "home" / "green_a.jpg", [(30, 20, 72, GREEN)])
    squares_photo(root / "Paris trip" / "group.jpg", [(10, 10, 72, RED), (150, 40, 72, GREEN)])
    squares_photo(root / "Paris trip" / "undated.jpg", [(30, 24, 72, GREEN)])
    add_root(app, root)
    app.models.put(FACE_BACKEND, SquaresBackend())
    index_everything(app)
    with app.db.session() as s:
        for path in root.rglob("*.jpg"):
            s.execute(update(Photo).where(Photo.path == str(path))
                      .values(captured_at=dated.get(path.name)))
    return root


def _names(app: AppContext, text: str, order: PhotoOrder = PhotoOrder.PATH) -> list[str]:
    found = search_library(app, text)
    return [Path(p.path).name for p in filtered_photos(app, PhotoFilter(search=found.terms),
                                                       order=order)]


def test_search_finds_photos_by_person_folder_and_date(app: AppContext, tmp_path: Path) -> None:
    root = _library(app, tmp_path)
    red = next(f for f in _faces_of(app, root / "home" / "red_a.jpg"))
    green = next(f for f in _faces_of(app, root / "home" / "green_a.jpg"))
    rename(app, red, "Barack Obama")
    rename(app, green, "Michelle Obama")

    found = search_library(app, "barack")
    assert [p.name for p in found.people] == ["Barack Obama"]
    assert _names(app, "barack") == ["group.jpg", "red_a.jpg", "red_b.jpg"]  # "P" < "h"
    assert _names(app, "Obama", PhotoOrder.NEWEST) == [
        "red_b.jpg", "group.jpg", "red_a.jpg", "green_a.jpg", "undated.jpg"]
    assert _names(app, "2019", PhotoOrder.NEWEST) == ["red_b.jpg", "group.jpg", "red_a.jpg"]
    assert _names(app, "march 2019", PhotoOrder.NEWEST) == ["group.jpg", "red_a.jpg"]
    assert _names(app, "march", PhotoOrder.OLDEST) == ["green_a.jpg", "red_a.jpg", "group.jpg"]
    assert _names(app, "paris") == ["group.jpg", "undated.jpg"]
    assert _names(app, "paris michelle") == ["group.jpg", "undated.jpg"]
    assert _names(app, "paris barack") == ["group.jpg"]
    assert _names(app, "michelle 2018") == ["green_a.jpg"]
    assert _names(app, "zebra") == []
    assert search_library(app, "zebra").people == ()


def _faces_of(app: AppContext, path: Path) -> list[int]:
    from core.library.browse import photo_faces

    photo = next(p for p in filtered_photos(app, PhotoFilter()) if p.path == str(path))
    return [f.person_id for f in photo_faces(app, photo.id) if f.person_id is not None]


def test_the_timeline_lists_newest_first_and_undated_last(app: AppContext,
                                                          tmp_path: Path) -> None:
    _library(app, tmp_path)
    newest = filtered_photos(app, PhotoFilter(), order=PhotoOrder.NEWEST)
    assert [Path(p.path).name for p in newest] == [
        "red_b.jpg", "group.jpg", "red_a.jpg", "green_a.jpg", "undated.jpg"]
    assert [timeline_month(p) for p in newest] == [(2019, 7), (2019, 3), (2019, 3), (2018, 3),
                                                   None]
    oldest = filtered_photos(app, PhotoFilter(), order=PhotoOrder.OLDEST, offset=3, limit=5)
    assert [Path(p.path).name for p in oldest] == ["red_b.jpg", "undated.jpg"]


def test_new_photos_are_those_indexed_since_and_sort_in_place(app: AppContext,
                                                             tmp_path: Path) -> None:
    root = _library(app, tmp_path)
    newest = filtered_photos(app, PhotoFilter(), order=PhotoOrder.NEWEST)
    assert new_photos(app, PhotoFilter(), 0)[1] == max(p.id for p in newest)
    _, last = new_photos(app, PhotoFilter(), 0)
    assert new_photos(app, PhotoFilter(), last) == ([], last)

    squares_photo(root / "home" / "later.jpg", [(40, 20, 72, RED)])
    squares_photo(root / "Paris trip" / "later.jpg", [(40, 24, 72, GREEN)])
    index_everything(app)
    added, now = new_photos(app, PhotoFilter(folder=str(root / "home")), last,
                            PhotoOrder.NEWEST)
    assert [p.path for p in added] == [str(root / "home" / "later.jpg")] and now == last + 2
    for order in PhotoOrder:
        listed = filtered_photos(app, PhotoFilter(), order=order)
        assert sorted(listed, key=lambda p, o=order: order_key(p, o)) == listed


def _many_photos(app: AppContext, count: int) -> None:
    """`count` photo rows straight in the DB: dates with ties (a burst in one second) and
    one in five undated, paths not in date order."""
    stamp = "2020-01-01 00:00:00.000000"
    rows = [(i, f"/p/{(i * 37) % count:04d}.jpg".encode(), None if i % 5 == 0 else
             f"20{10 + i % 7}-0{1 + i % 3}-01 10:00:00.000000", stamp)
            for i in range(1, count + 1)]
    with app.db.engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO library_roots (id, path, added_at) "
                             "VALUES (1, ?, ?)", (b"/p", stamp))
        conn.exec_driver_sql(
            "INSERT INTO photos (id, root_id, path, size, mtime_ns, orientation, captured_at, "
            "status, first_seen_at, indexed_at) VALUES (?, 1, ?, 1, 1, 1, ?, 'ok', ?, ?)",
            [(i, path, when, stamp, stamp) for i, path, when, stamp in rows])


def test_a_deep_timeline_window_walks_an_index_in_the_timeline_order(app: AppContext) -> None:
    _many_photos(app, 300)
    for order in (PhotoOrder.NEWEST, PhotoOrder.OLDEST):
        every = filtered_photos(app, PhotoFilter(), order=order)
        assert every == sorted(every, key=lambda p, o=order: order_key(p, o))
        assert every[-1].captured_at is None and every[0].captured_at is not None
        window = filtered_photos(app, PhotoFilter(), order=order, offset=250, limit=20)
        assert window == every[250:270]
        q = photos_query(PhotoFilter(), order, offset=250, limit=20)
        sql = str(q.compile(app.db.engine, compile_kwargs={"literal_binds": True}))
        with app.db.engine.connect() as conn:
            plan = " ".join(r[-1] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql))
        assert "USING INDEX ix_photos_timeline" in plan and "TEMP B-TREE" not in plan, plan
