"""Backups of the library DB: made with SQLite's online backup API, verified, rotated (with
a fake clock), and an interrupted one (SIGKILL, a full disk) leaves the earlier intact."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from decisions_support import build_library, file_digest

from core.context import AppContext
from core.db import backup as backup_mod
from core.db.backup import (
    BackupError,
    list_backups,
    make_backup,
    rotate,
    verify_backup,
    write_backup,
)
from core.db.files import export_file, partial_backups_of
from core.people import edits
from core.people.decisions_file import read_decisions
from core.safekeeping import end_session, open_session

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A library home with people decisions, closed (its first backup made on closing)."""
    build_library(tmp_path / "home", tmp_path / "photos")
    return tmp_path / "home"


def _session(home: Path, clock: FakeClock, action=None) -> None:  # noqa: ANN001
    ctx = open_session(home)
    ctx.clock = clock
    try:
        if action is not None:
            action(ctx)
    finally:
        ctx.close()


def _auto(home: Path) -> list[backup_mod.BackupInfo]:
    return [b for b in list_backups(home / "data" / "library.db") if b.kind == "auto"]


def test_a_backup_is_a_verified_copy_of_every_row(home: Path) -> None:
    db = home / "data" / "library.db"
    info = make_backup(db, "manual", now=T0)
    assert info.path.name == "library.db.backup-manual-20250301-090000Z"
    assert (info.kind, info.made_at) == ("manual", T0)
    verify_backup(info.path)
    src, dst = sqlite3.connect(db), sqlite3.connect(info.path)
    try:
        for table in ("photos", "faces", "persons", "face_persons", "face_rejections"):
            q = f"SELECT * FROM {table} ORDER BY rowid"
            assert src.execute(q).fetchall() == dst.execute(q).fetchall(), table
    finally:
        src.close()
        dst.close()
    assert not partial_backups_of(db)


def test_verification_refuses_a_damaged_or_incomplete_copy(home: Path, tmp_path: Path) -> None:
    db = home / "data" / "library.db"
    copy = make_backup(db, "manual", now=T0).path
    counts = {"persons": 999}
    with pytest.raises(BackupError, match="does not hold the rows"):
        verify_backup(copy, counts)
    with copy.open("r+b") as fh:
        fh.seek(4096 * 5)
        fh.write(b"\x5a" * 4096)
    with pytest.raises(BackupError, match="integrity check|cannot be read"):
        verify_backup(copy)


def test_a_damaged_database_is_never_backed_up(home: Path) -> None:
    db = home / "data" / "library.db"
    with db.open("r+b") as fh:
        fh.seek(4096 * 4)
        fh.write(b"\x5a" * 4096)
    before = file_digest(db)
    with pytest.raises(BackupError, match="earlier backups are as they were"):
        make_backup(db, "manual", now=T0)
    assert [b.kind for b in list_backups(db)] == ["auto"]  # only the one made before
    assert not partial_backups_of(db) and file_digest(db) == before


def test_rolling_backups_follow_people_changes_at_most_daily_and_rotate(home: Path) -> None:
    clock = FakeClock(T0)
    # The session that built the library made the first backup (real time): start afresh.
    for b in _auto(home):
        b.path.unlink()
    _session(home, clock)  # a library with decisions and no backup yet: one now
    first = _auto(home)
    assert [b.made_at for b in first] == [T0]
    export = read_decisions(export_file(home / "data" / "library.db"))
    assert first[0].digest is not None and first[0].path.name.endswith(first[0].digest)

    clock.now = T0 + timedelta(hours=2)
    _session(home, clock, lambda c: edits.rename(c, _id(c, "Bob"), "Robert"))
    assert len(_auto(home)) == 1  # changed, but the last backup is not a day old
    assert read_decisions(export_file(home / "data" / "library.db")) != export  # exported

    clock.now = T0 + timedelta(hours=30)
    _session(home, clock)  # no change in this session, but since the newest backup: one now
    assert [b.made_at for b in _auto(home)] == [T0 + timedelta(hours=30), T0]

    clock.now = T0 + timedelta(days=5)
    _session(home, clock)  # nothing changed since: no backup, however long it has been
    assert len(_auto(home)) == 2

    names = ["Rob", "Bobby", "Roberto", "Bert", "Bob"]
    for day, name in enumerate(names, start=6):  # a change a day, kept: the newest 5
        clock.now = T0 + timedelta(days=day)
        _session(home, clock, lambda c, n=name: edits.rename(c, _id_named(c, "Bob"), n))
    kept = _auto(home)
    assert [b.made_at for b in kept] == [T0 + timedelta(days=d) for d in (10, 9, 8, 7, 6)]
    for b in kept:  # every one verified when written; they still pass
        verify_backup(b.path)
    assert len({b.digest for b in kept}) == 5


def _id(ctx: AppContext, name: str) -> int:
    from core.people.service import resolve_person

    return resolve_person(ctx, name)


def _id_named(ctx: AppContext, _old: str) -> int:
    """Bob, whatever he is called today (the split-off Carol is not him)."""
    from core.people.service import list_people

    return next(p.id for p in list_people(ctx) if p.name not in ("Alice", "Carol", None))


def test_settings_turn_backups_off_and_choose_how_many(home: Path) -> None:
    clock = FakeClock(T0)
    for b in _auto(home):
        b.path.unlink()
    ctx = open_session(home)
    ctx.clock = clock
    ctx.settings.backups.enabled = False
    ctx.close()
    assert _auto(home) == []
    db = home / "data" / "library.db"
    for day in range(4):
        make_backup(db, "auto", now=T0 + timedelta(days=day), digest=f"{day:08x}")
    make_backup(db, "manual", now=T0)
    assert [p.name[-8:] for p in rotate(db, 2)] == ["00000001", "00000000"]
    assert [b.kind for b in list_backups(db)] == ["auto", "auto", "manual"]


def test_a_full_disk_stops_a_backup_and_keeps_the_earlier(home: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    db = home / "data" / "library.db"
    earlier = {b.path: file_digest(b.path) for b in list_backups(db)}
    assert earlier

    def full_disk(path: Path) -> sqlite3.Connection:
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA max_page_count = 4")  # SQLite's own "database or disk is full"
        return conn

    monkeypatch.setattr(backup_mod, "_open_target", full_disk)
    with pytest.raises(BackupError, match="disk is full"):
        make_backup(db, "auto", now=T0, digest="12345678", keep=1)
    assert {b.path: file_digest(b.path) for b in list_backups(db)} == earlier
    assert not partial_backups_of(db)
    # At the end of a session it is a warning, never a failure of the session.
    for b in _auto(home):
        b.path.unlink()
    ctx = open_session(home)
    ctx.clock = FakeClock(T0)
    report = end_session(ctx)
    ctx.db.close()
    assert report.backup is None and "disk is full" in report.warnings[0]


CHILD = """
import sys, time
from pathlib import Path
from core.db import backup
db, target = Path(sys.argv[1]), Path(sys.argv[2])
backup.PAGES_PER_STEP = 8
def step(remaining, total):
    if remaining < total // 2:
        print("half way", flush=True)
        time.sleep(60)
backup.write_backup(db, target, on_step=step)
"""


def _blob_database(tmp_path: Path) -> Path:
    """A 1.8 MB database, large enough for a backup to be caught half way."""
    db = tmp_path / "library.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE t (v BLOB)")
    conn.executemany("INSERT INTO t VALUES (randomblob(3000))", [()] * 600)
    conn.commit()
    conn.close()
    return db


def test_a_backup_killed_half_way_leaves_the_earlier_intact(tmp_path: Path) -> None:
    db = _blob_database(tmp_path)
    earlier = make_backup(db, "auto", now=T0, digest="aaaaaaaa", keep=2).path
    before = file_digest(earlier)
    target = tmp_path / "library.db.backup-auto-20250302-090000Z-bbbbbbbb"
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(db), str(target)], cwd=ROOT,
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "half way"
        assert partial_backups_of(db)  # the copy is under way, under its temporary name
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert not target.exists()
    assert [b.path for b in list_backups(db)] == [earlier] and file_digest(earlier) == before
    verify_backup(earlier)
    # The next backup clears what the killed one left, and is whole.
    info = make_backup(db, "auto", now=T0 + timedelta(days=1), digest="cccccccc", keep=2)
    assert not partial_backups_of(db)
    verify_backup(info.path, {"t": 600})


FULL_CHILD = """
import resource, signal, sys
from datetime import UTC, datetime
from pathlib import Path
from core.db.backup import BackupError, make_backup
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails, as on a full disk
resource.setrlimit(resource.RLIMIT_FSIZE, (300_000, 300_000))
try:
    make_backup(Path(sys.argv[1]), "auto", now=datetime.now(UTC), digest="dddddddd", keep=1)
except BackupError as exc:
    print(exc)
    sys.exit(1)
"""


def test_a_disk_that_takes_no_more_bytes_keeps_the_earlier(tmp_path: Path) -> None:
    """The operating system refuses the writes (a file size limit, as a full disk would)."""
    db = _blob_database(tmp_path)
    earlier = make_backup(db, "auto", now=T0, digest="aaaaaaaa").path
    before = file_digest(earlier)
    done = subprocess.run([sys.executable, "-c", FULL_CHILD, str(db)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1, done.stderr
    assert "could not be written" in done.stdout and "earlier backups" in done.stdout
    assert [b.path for b in list_backups(db)] == [earlier] and file_digest(earlier) == before
    assert not partial_backups_of(db)


def test_write_backup_refuses_to_overwrite(home: Path) -> None:
    db = home / "data" / "library.db"
    target = make_backup(db, "manual", now=T0).path
    before = file_digest(target)
    with pytest.raises(BackupError, match="exists already"):
        write_backup(db, target)
    assert file_digest(target) == before


def test_forgetting_someone_scrubs_the_rolling_backups_and_the_export(home: Path) -> None:
    from core.people.forget import forget_person
    from core.people.service import resolve_person

    db = home / "data" / "library.db"
    export = export_file(db)
    assert _auto(home) and all(b"Alice" in b.path.read_bytes() for b in _auto(home))
    assert b"Alice" in export.read_bytes()
    with open_session(home) as ctx:
        report = forget_person(ctx, resolve_person(ctx, "Alice"))
        assert report.backups_scrubbed == [str(b.path) for b in _auto(home)]
        assert not export.exists()  # gone at once; written again from the live DB at the end
    holders = [p.name for p in home.rglob("*") if p.is_file() and b"Alice" in p.read_bytes()]
    assert holders == []
    data = read_decisions(export)
    assert {p["name"] for p in data["people"]} == {"Bob", "Carol", None}
    for b in _auto(home):
        verify_backup(b.path)
