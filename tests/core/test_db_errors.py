"""Every database error the user can meet (another process holding the lock, a read-only
folder or file, a full disk) is one line in plain words and exit 1 from every command,
never a traceback; the same typed errors reach the app (tests/gui)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from damage_support import run_idfsr
from decisions_support import make_square_photos

from core.context import AppContext
from core.db import database as database_mod
from core.db.errors import explain
from core.errors import DatabaseBusy, DatabaseDamaged, DatabaseFull, DatabaseReadOnly

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A home with a library of a few photos (not yet indexed), closed."""
    photos = make_square_photos(tmp_path / "photos")
    with AppContext.open(tmp_path / "home") as ctx:
        from core.library.service import add_root

        add_root(ctx, photos)
    return tmp_path / "home"


def _one_line(err: str) -> str:
    """The one error line (a long command may have printed progress lines before it)."""
    lines = err.strip().splitlines()
    errors = [line for line in lines if line.startswith("error")]
    assert errors == lines[-1:] and "Traceback" not in err, err
    return errors[0]


def test_busy_another_process_holds_the_lock(home: Path, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(database_mod, "BUSY_TIMEOUT_MS", 300)
    holder = sqlite3.connect(home / "data" / "library.db", isolation_level=None)
    holder.execute("PRAGMA journal_mode=WAL")
    holder.execute("BEGIN IMMEDIATE")  # another process in the middle of a long write
    holder.execute("UPDATE library_roots SET last_scan_at = NULL")
    try:
        (tmp_path / "more").mkdir()
        code, _, err = run_idfsr(home, "library", "add", str(tmp_path / "more"))
        assert code == 1
        assert _one_line(err).startswith("error: the library database ")
        assert "is busy: another IDFSR process" in err and "try again" in err
        code, out, _ = run_idfsr(home, "library", "status")  # reading still works
        assert code == 0 and "photos: 0" in out
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def _pages(db: Path) -> int:
    conn = sqlite3.connect(db)
    try:
        return int(conn.execute("PRAGMA page_count").fetchone()[0])
    finally:
        conn.close()


def test_a_full_disk_stops_indexing_with_one_line(home: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    limit = _pages(home / "data" / "library.db")
    real = database_mod._on_connect

    def full_disk(dbapi_conn: Any, record: Any) -> None:
        real(dbapi_conn, record)
        dbapi_conn.execute(f"PRAGMA max_page_count = {limit}")  # SQLite: "disk is full"

    monkeypatch.setattr(database_mod, "_on_connect", full_disk)
    code, out, err = run_idfsr(home, "index", "--no-faces")
    assert code == 1, out
    line = _one_line(err)
    assert line.startswith("error: the disk holding the library database ")
    assert "is full: the last change was not saved" in line and "free some space" in line
    monkeypatch.setattr(database_mod, "_on_connect", real)
    code, out, _ = run_idfsr(home, "index", "--no-faces")  # space again: it carries on
    assert code == 0 and "21 photos" in out


@contextmanager
def read_only(*paths: Path) -> Iterator[None]:
    """Make files and folders read-only, for root too (chattr +i), and back again."""
    if os.geteuid() == 0:
        if shutil.which("chattr") is None:
            pytest.skip("root cannot be kept from writing here (no chattr)")
        done = subprocess.run(["chattr", "+i", *map(str, paths)], capture_output=True)
        if done.returncode:
            pytest.skip(f"chattr +i is refused here: {done.stderr.decode().strip()}")
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", *map(str, paths)], check=True)
        return
    modes = {p: p.stat().st_mode for p in paths}
    for p in paths:
        p.chmod(0o555 if p.is_dir() else 0o444)
    try:
        yield
    finally:
        for p, mode in modes.items():
            p.chmod(mode)


def test_a_read_only_database_file(home: Path, tmp_path: Path) -> None:
    db = home / "data" / "library.db"
    (tmp_path / "more").mkdir()
    with read_only(db):
        code, out, _ = run_idfsr(home, "library", "status")
        assert code == 0 and "photos: 0" in out  # reading works
        code, _, err = run_idfsr(home, "library", "add", str(tmp_path / "more"))
        assert code == 1
        line = _one_line(err)
        assert "cannot be written: the file or its folder is read-only" in line


def test_a_read_only_folder(home: Path) -> None:
    data = home / "data"
    for side in data.glob("library.db-*"):
        side.unlink()
    with read_only(data):
        for args in (["library", "status"], ["people", "list"], ["index"]):
            code, _, err = run_idfsr(home, *args)
            assert code == 1, args
            line = _one_line(err)
            assert "is read-only" in line and str(data) in line, line


def test_a_home_that_cannot_be_made(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    with read_only(locked):
        code, _, err = run_idfsr(locked / "home", "library", "status")
    assert code == 1 and _one_line(err).startswith("error: cannot create the app's folders")


def test_explain_names_each_condition(tmp_path: Path) -> None:
    cases = {"database is locked": DatabaseBusy, "database or disk is full": DatabaseFull,
             "attempt to write a readonly database": DatabaseReadOnly,
             "database disk image is malformed": DatabaseDamaged,
             "file is not a database": DatabaseDamaged}
    for text, kind in cases.items():
        typed = explain(sqlite3.OperationalError(text), tmp_path / "library.db")
        assert isinstance(typed, kind), text
        assert "\n" not in str(typed) and str(tmp_path) in str(typed)
    assert explain(sqlite3.OperationalError("no such table: x")) is None  # a bug stays a bug
    assert explain(ValueError("x")) is None


def test_a_real_process_gets_one_line_too(home: Path) -> None:
    """The entry point as installed, in its own process, on a damaged library."""
    db = home / "data" / "library.db"
    with db.open("r+b") as fh:
        fh.write(bytes(100))
    done = subprocess.run([sys.executable, "-c", "from core.cli import entry; entry()",
                           "--home", str(home), "people", "list"],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert _one_line(done.stderr).startswith(
        f"error: the library database {db} is damaged: library.db is not a database any more")


def test_a_row_whose_text_rotted_is_damage_found_in_use(home: Path) -> None:
    """Bytes changed inside a row (bit rot) pass every SQLite check; reading that row is
    one line, and the next start refuses the database too, until it is repaired."""
    from core.db.files import damage_mark, damaged_of
    from core.db.health import check_database

    code, out, _ = run_idfsr(home, "index", "--no-faces")
    assert code == 0 and "21 photos" in out
    db = home / "data" / "library.db"
    conn = sqlite3.connect(db)
    conn.execute("UPDATE photos SET format = CAST(x'ff41c3' AS TEXT) WHERE id = 3")
    conn.commit()
    conn.close()
    assert check_database(db, full=True).state == "ok"  # SQLite sees nothing wrong
    code, _, err = run_idfsr(home, "library", "list")
    assert code == 1
    line = _one_line(err)
    assert "is damaged (SQLite: Could not decode to UTF-8 column 'format' (its bytes are " \
           "not text))" in line and "idfsr library repair" in line and "\\x" not in line
    assert damage_mark(db).exists()
    found = check_database(db)
    assert found.damaged and found.problem == "found_in_use"
    code, _, err = run_idfsr(home, "library", "status")  # refused at open now
    assert code == 1 and "could not be read while IDFSR was using it" in _one_line(err)
    code, out, err = run_idfsr(home, "library", "repair", "--salvage", "--yes")
    assert code == 0, err
    assert "1 rows were unreadable" in out
    assert not damage_mark(db).exists() and len(damaged_of(db)) == 1
    code, out, _ = run_idfsr(home, "library", "list")  # the lost row was indexed again
    assert code == 0 and len([ln for ln in out.splitlines() if ".jpg" in ln]) == 21
