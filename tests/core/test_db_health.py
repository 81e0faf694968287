"""The check of the library DB: read-only, at every open; what it finds, in plain words; a
damaged database is refused before anything is written to it."""

from __future__ import annotations

import shutil
import sqlite3
import time
from pathlib import Path

import pytest
from damage_support import log_of, unrelated_db
from decisions_support import build_library, file_digest
from tests_support import make_jpeg

from core.context import AppContext
from core.db.database import Database
from core.db.health import check_database, inspect_log
from core.errors import DatabaseDamaged

PAGE = 4096


@pytest.fixture(scope="module")
def library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A closed library home with people decisions (its DB at rest, no log beside it)."""
    root = tmp_path_factory.mktemp("health")
    build_library(root / "home", root / "photos")
    return root / "home" / "data" / "library.db"


@pytest.fixture
def db(library: Path, tmp_path: Path) -> Path:
    """A copy of the library DB to damage."""
    target = tmp_path / "data" / "library.db"
    target.parent.mkdir()
    shutil.copyfile(library, target)
    return target


def test_a_sound_database_passes_both_checks(db: Path) -> None:
    quick = check_database(db)
    assert (quick.state, quick.problem, quick.full) == ("ok", "", False)
    full = check_database(db, full=True)
    assert (full.state, full.full) == ("ok", True)
    assert not quick.damaged and quick.seconds < 1.0 and quick.size == db.stat().st_size


def test_nothing_there_or_an_empty_file_is_a_new_library(tmp_path: Path) -> None:
    missing = tmp_path / "library.db"
    assert check_database(missing).state == "new"
    missing.write_bytes(b"")
    assert (check_database(missing).state, check_database(missing).problem) == ("new", "empty")
    Database.open(missing).close()  # becomes a library
    assert check_database(missing).state == "ok"


def test_an_emptied_file_where_backups_exist_is_damage(db: Path) -> None:
    shutil.copyfile(db, db.with_name("library.db.backup-manual-20250101-000000Z"))
    db.write_bytes(b"")
    found = check_database(db)
    assert (found.state, found.problem) == ("damaged", "empty")
    assert "0 bytes" in found.summary and "backups" in found.summary


def test_a_file_cut_short_says_how_much_is_left(db: Path) -> None:
    with db.open("r+b") as fh:
        fh.truncate(60 * 1024)
    found = check_database(db)
    assert (found.state, found.problem) == ("damaged", "truncated")
    assert "60 KB of the" in found.summary and "cut short" in found.summary
    assert found.details  # SQLite's own words come along


def test_an_overwritten_page_is_found(db: Path) -> None:
    with db.open("r+b") as fh:
        fh.seek(8 * PAGE)
        fh.write(bytes(range(256)) * 16)
    found = check_database(db)
    assert (found.state, found.problem) == ("damaged", "malformed")
    assert "cannot be read reliably" in found.summary


def test_a_zeroed_header_and_a_photo_in_its_place(db: Path, tmp_path: Path) -> None:
    with db.open("r+b") as fh:
        fh.write(bytes(100))
    found = check_database(db)
    assert (found.state, found.problem) == ("damaged", "not_a_database")
    assert "its first bytes are zeros" in found.summary
    make_jpeg(tmp_path / "holiday.jpg", seed=3)
    shutil.copyfile(tmp_path / "holiday.jpg", db)
    found = check_database(db)
    assert found.problem == "not_a_database" and "it is a JPEG image" in found.summary


def test_a_garbled_header_behind_sqlites_own_name(db: Path) -> None:
    """The file still starts as SQLite's do, but its page size is no page size."""
    with db.open("r+b") as fh:
        fh.seek(16)
        fh.write(b"\x00\x03")
    found = check_database(db)
    assert (found.state, found.problem) == ("damaged", "not_a_database")
    assert "its first page, which says what tables it holds" in found.summary
    assert "first bytes" not in found.summary


def test_another_programs_database_is_not_a_library(tmp_path: Path) -> None:
    other = unrelated_db(tmp_path / "work")
    found = check_database(other)
    assert (found.state, found.problem) == ("damaged", "not_a_library")
    assert "notes" in found.summary


def test_a_log_from_another_database_is_not_applied(db: Path, library: Path,
                                                     tmp_path: Path) -> None:
    """A log that passes every SQLite check once applied (it deletes everyone), caught
    because it came without the index SQLite writes beside its own logs."""
    other = tmp_path / "other.db"
    shutil.copyfile(library, other)
    wal, _ = log_of(other, ["DELETE FROM face_persons", "DELETE FROM face_rejections",
                            "DELETE FROM persons"], tmp_path / "work")
    db.with_name("library.db-wal").write_bytes(wal)
    before = (file_digest(db), file_digest(db.with_name("library.db-wal")))
    found = check_database(db)
    assert (found.state, found.problem) == ("damaged", "foreign_log")
    assert "does not belong with it" in found.summary
    assert "itself is sound" in found.details[0]
    with pytest.raises(DatabaseDamaged):
        Database.open(db)
    assert (file_digest(db), file_digest(db.with_name("library.db-wal"))) == before
    assert not db.with_name("library.db-shm").exists()  # not even an index was made
    # What SQLite alone makes of the pair: a sound file with nobody in it.
    mix = tmp_path / "mix.db"
    shutil.copyfile(db, mix)
    mix.with_name("mix.db-wal").write_bytes(wal)
    conn = sqlite3.connect(f"{mix.as_uri()}?mode=ro", uri=True)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("SELECT count(*) FROM persons").fetchone() == (0,)
    finally:
        conn.close()


def test_our_own_log_left_by_a_crash_is_applied(db: Path, tmp_path: Path) -> None:
    wal, shm = log_of(db, ["UPDATE persons SET name = 'After the crash' WHERE name = 'Bob'"],
                      tmp_path / "work")
    db.with_name("library.db-wal").write_bytes(wal)
    db.with_name("library.db-shm").write_bytes(shm)
    log = inspect_log(db)
    assert log.committed and log.matched
    assert check_database(db).state == "ok"
    database = Database.open(db)
    try:
        with database.engine.connect() as conn:
            names = {r[0] for r in conn.exec_driver_sql("SELECT name FROM persons")}
        assert "After the crash" in names and "Bob" not in names
    finally:
        database.close()


def test_log_inspection_stops_at_a_torn_frame(db: Path, tmp_path: Path) -> None:
    wal, shm = log_of(db, ["UPDATE persons SET hidden = 1"], tmp_path / "work")
    side = db.with_name("library.db-wal")
    side.write_bytes(wal[:32 + 24 + 100])  # the first frame half-written: nothing to apply
    assert not inspect_log(db).committed
    side.write_bytes(b"\x00" * 4096)  # not a log at all
    assert not inspect_log(db).committed and check_database(db).state == "ok"
    side.write_bytes(wal)
    assert inspect_log(db).committed and not inspect_log(db).matched


def test_full_check_finds_rows_that_lost_their_parents(db: Path) -> None:
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA foreign_keys=OFF")
    conn.execute("DELETE FROM photos WHERE id = (SELECT min(photo_id) FROM faces)")
    conn.commit()
    conn.close()
    assert check_database(db).state == "ok"  # the quick check reads pages, not meaning
    found = check_database(db, full=True)
    assert (found.state, found.problem) == ("damaged", "broken_links")
    assert any(d.startswith("faces:") for d in found.details)


def test_opening_a_damaged_library_writes_nothing_and_says_why(tmp_path: Path,
                                                                 library: Path) -> None:
    home = tmp_path / "home"
    db = home / "data" / "library.db"
    db.parent.mkdir(parents=True)
    shutil.copyfile(library, db)
    with db.open("r+b") as fh:
        fh.truncate(60 * 1024)
    before = file_digest(db)
    with pytest.raises(DatabaseDamaged) as err:
        AppContext.open(home)
    message = str(err.value)
    assert "\n" not in message and "is damaged: library.db has been cut short" in message
    assert "idfsr library repair" in message and "the damaged file is kept" in message
    assert err.value.diagnosis is not None and err.value.diagnosis.problem == "truncated"
    assert file_digest(db) == before
    assert not db.with_name("library.db-wal").exists() or \
        db.with_name("library.db-wal").stat().st_size == 0


def test_damage_met_while_open_stops_every_later_write(tmp_path: Path, library: Path) -> None:
    """The file is damaged under a running app: the first read that meets it fails with a
    plain message, and from then on the app refuses to touch the file at all."""
    home = tmp_path / "home"
    (home / "data").mkdir(parents=True)
    shutil.copyfile(library, home / "data" / "library.db")
    ctx = AppContext.open(home)
    try:
        from core.people.service import list_people

        assert list_people(ctx)
        with ctx.db.engine.connect() as conn:
            page = conn.exec_driver_sql(
                "SELECT rootpage FROM sqlite_master WHERE name = 'persons'").scalar()
        ctx.db.engine.dispose()  # no page cached: the next read goes to the disk
        db = ctx.paths.db_file
        with db.open("r+b") as fh:  # garbage over the persons' page, nothing else
            fh.seek((page - 1) * PAGE)
            fh.write(b"\xa5" * PAGE)
        with pytest.raises(DatabaseDamaged, match="is damaged"):
            list_people(ctx)
        assert ctx.db.damage is not None
        before = file_digest(db), file_digest(db.with_name("library.db-wal"))
        # A write that would not even touch the damaged page is refused too.
        with pytest.raises(DatabaseDamaged, match="is damaged"), ctx.db.session() as s:
            s.connection().exec_driver_sql("UPDATE library_roots SET last_scan_at = NULL")
        with pytest.raises(DatabaseDamaged), ctx.db.engine.begin() as conn:
            conn.exec_driver_sql("PRAGMA user_version = 7")
        assert (file_digest(db), file_digest(db.with_name("library.db-wal"))) == before
    finally:
        ctx.db.engine.dispose()


def test_check_at_open_is_quick(db: Path) -> None:
    started = time.perf_counter()
    for _ in range(20):
        assert check_database(db).state == "ok"
    assert (time.perf_counter() - started) / 20 < 0.05


def test_a_relative_path_and_an_odd_name_are_checked(db: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    odd = tmp_path / "odd ?#% name" / "library.db"
    odd.parent.mkdir()
    shutil.copyfile(db, odd)
    monkeypatch.chdir(odd.parent)
    assert check_database(Path("library.db")).state == "ok"
    with odd.open("r+b") as fh:
        fh.truncate(8192)
    assert check_database(Path("library.db")).problem == "truncated"
