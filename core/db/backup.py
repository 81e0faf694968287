"""Backups of the library DB, made with SQLite's online backup API.

A backup is written beside the database under a temporary name
(`library.db.partial-backup-…`), from one read snapshot of the source (other processes
may keep writing meanwhile), then verified: `PRAGMA integrity_check` on the copy, and
every table holding as many rows as the source did in that snapshot. Only then is it
flushed to disk and renamed to its final name, and only after that are older rolling
backups removed. So a backup killed half-way (SIGKILL, power cut) or stopped by a full
disk leaves no file under a backup's name, and every earlier backup as it was; the
half-written file is removed by the next backup (and by the privacy scrub).

Kinds: `auto` (rolling, made at the end of a session that changed people data, at most
once per interval; the newest N kept), `manual` (`idfsr library backup`; never rotated),
and the copies made before schema upgrades (labelled with the old revision).
"""

from __future__ import annotations

import errno
import logging
import os
import re
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from core.db.errors import READ_ERRORS, SQLITE_FULL, primary_code, sqlite_error
from core.db.files import SIDE_SUFFIXES, backups_of, partial_backups_of
from core.db.health import lenient_text
from core.errors import DatabaseError, IdfsrError
from core.jobs import CancelToken, Progress, ProgressCallback, no_progress

log = logging.getLogger(__name__)

PAGES_PER_STEP = 1024  # pages copied between progress reports and cancel checks
STAMP = "%Y%m%d-%H%M%SZ"  # UTC, in the names of the backups this module names


class BackupError(IdfsrError):
    """A backup could not be written or failed its verification; earlier ones are intact."""


@dataclass(frozen=True)
class BackupInfo:
    """One backup file, as its name describes it."""

    path: Path
    kind: str  # "auto" | "manual" | "upgrade"
    made_at: datetime  # UTC
    label: str  # "auto", "manual", or the schema revision it was made before upgrading from
    digest: str | None  # auto backups: the digest of the people decisions they hold
    size: int

    def to_dict(self) -> dict[str, object]:
        """Plain data for JSON output."""
        return {"path": str(self.path), "kind": self.kind, "made_at": self.made_at.isoformat(),
                "label": self.label, "size": self.size}


def backup_path(db: Path, kind: str, made_at: datetime, digest: str | None = None) -> Path:
    """Where a new `auto` or `manual` backup made at `made_at` goes."""
    stamp = made_at.astimezone(UTC).strftime(STAMP)
    return db.with_name(f"{db.name}.backup-{kind}-{stamp}" + (f"-{digest}" if digest else ""))


def _name_pattern(db: Path) -> re.Pattern[str]:
    return re.compile(rf"^{re.escape(db.name)}\.backup-(?P<label>.+?)-"
                      r"(?P<stamp>\d{8}-\d{6}Z?)(?:-(?P<extra>[0-9a-z]+))?$")


def parse_backup(db: Path, path: Path) -> BackupInfo | None:
    """What a backup's name says (None for a file that is not one of the DB's backups)."""
    found = _name_pattern(db).match(path.name)
    if found is None:
        return None
    label, stamp, extra = found["label"], found["stamp"], found["extra"]
    if stamp.endswith("Z"):
        made = datetime.strptime(stamp, STAMP).replace(tzinfo=UTC)
    else:  # before upgrades: local time (Database.backup)
        made = datetime.fromtimestamp(time.mktime(time.strptime(stamp, "%Y%m%d-%H%M%S")), UTC)
    kind = label if label in ("auto", "manual") else "upgrade"
    try:
        size = path.stat().st_size
    except OSError:
        size = 0
    return BackupInfo(path, kind, made, label, extra if kind == "auto" else None, size)


def list_backups(db: Path) -> list[BackupInfo]:
    """Every backup of the DB, newest first."""
    found = [info for p in backups_of(db) if (info := parse_backup(db, p)) is not None]
    return sorted(found, key=lambda b: (b.made_at, b.path.name), reverse=True)


def _table_counts(conn: sqlite3.Connection) -> dict[str, int]:
    names = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    return {n: int(conn.execute(f'SELECT count(*) FROM "{n}"').fetchone()[0]) for n in names}


def _open_target(path: Path) -> sqlite3.Connection:
    """The connection a backup is written through (a seam for the full-disk tests)."""
    return sqlite3.connect(path)


def verify_backup(path: Path, expected: dict[str, int] | None = None) -> None:
    """Raise BackupError unless the file passes SQLite's integrity check (and, when given,
    holds these row counts per table)."""
    try:
        conn = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)
        conn.text_factory = lenient_text
        try:
            rows = [str(r[0]) for r in conn.execute("PRAGMA integrity_check(5)")]
            counts = _table_counts(conn) if expected is not None else None
        finally:
            conn.close()
    except READ_ERRORS as exc:
        raise BackupError(f"the backup {path.name} cannot be read back: "
                          f"{sqlite_error(exc) or exc}") from exc
    if rows != ["ok"]:
        raise BackupError(f"the backup {path.name} failed SQLite's integrity check: {rows[0]}")
    if expected is not None and counts != expected:
        differ = sorted(t for t in set(expected) | set(counts or {})
                        if expected.get(t) != (counts or {}).get(t))
        raise BackupError(f"the backup {path.name} does not hold the rows of the database "
                          f"(tables {', '.join(differ[:5])} differ)")


def _fsync(path: Path, directory: bool = False) -> None:
    flags = os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0)
    try:
        fd = os.open(path, flags)
    except OSError:
        return  # Windows cannot open folders; its rename is durable enough
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_backup(
    db: Path,
    target: Path,
    *,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
    on_step: Callable[[int, int], None] | None = None,
    partial: Path | None = None,
) -> Path:
    """Copy the DB to `target` (which must not exist) through a verified temporary file
    (`partial`: its name, when not a backup's); return `target`. On any failure the
    temporary file is removed and nothing else changed.

    `on_step(remaining, total)` runs after each step of the copy (tests: to kill it there)."""
    if target.exists():
        raise BackupError(f"{target} exists already")
    if partial is None:
        cleanup_partials(db)
        partial = db.with_name(f"{db.name}.partial-backup-{target.name.split('.backup-')[-1]}")
    try:
        src = sqlite3.connect(f"{db.absolute().as_uri()}?mode=ro", uri=True, timeout=15)
        try:
            src.execute("BEGIN")  # one read snapshot: the counts and the copy agree
            expected = _table_counts(src)
            dst = _open_target(partial)
            try:
                def step(_status: int, remaining: int, total: int) -> None:
                    progress(Progress("backup", total - remaining, total,
                                      "backing up the library database"))
                    if on_step is not None:
                        on_step(remaining, total)
                    if cancel is not None:
                        cancel.raise_if_cancelled()

                src.backup(dst, pages=PAGES_PER_STEP, progress=step)
                # A backup is one self-contained file: no log beside it when it is read.
                dst.execute("PRAGMA journal_mode=DELETE")
            finally:
                dst.close()
            src.rollback()
        finally:
            src.close()
        verify_backup(partial, expected)
        _fsync(partial)
        os.replace(partial, target)
        _fsync(target.parent, directory=True)
    except BaseException as exc:
        for path in (partial, *(partial.with_name(partial.name + x) for x in SIDE_SUFFIXES)):
            path.unlink(missing_ok=True)
        if isinstance(exc, sqlite3.Error):
            reason = "the disk is full" if primary_code(exc) == SQLITE_FULL else f"SQLite: {exc}"
            raise BackupError(f"the backup could not be written ({reason}); the earlier "
                              "backups are as they were") from exc
        if isinstance(exc, OSError):
            why = "the disk is full" if exc.errno == errno.ENOSPC else exc.strerror or str(exc)
            raise BackupError(f"the backup could not be written ({why}); the "
                              "earlier backups are as they were") from exc
        raise
    return target


def cleanup_partials(db: Path) -> int:
    """Remove what interrupted backups left; how many files went."""
    gone = 0
    for path in partial_backups_of(db):
        try:
            path.unlink()
            gone += 1
        except OSError as exc:
            log.warning("could not remove the half-written backup %s: %s", path, exc)
    return gone


def rotate(db: Path, keep: int) -> list[Path]:
    """Keep the newest `keep` rolling backups (at least one), remove the older; what went."""
    rolling = [b for b in list_backups(db) if b.kind == "auto"]
    gone = []
    for old in rolling[max(1, keep):]:
        try:
            old.path.unlink()
            gone.append(old.path)
        except OSError as exc:
            log.warning("could not remove the old backup %s: %s", old.path, exc)
    return gone


def make_backup(
    db: Path,
    kind: str,
    *,
    now: datetime,
    digest: str | None = None,
    keep: int | None = None,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> BackupInfo:
    """A new verified backup of `kind` ("auto" or "manual") named after `now`; for `auto`,
    then the rotation to the newest `keep`."""
    if not db.exists():
        raise DatabaseError(f"there is no library database at {db} to back up")
    target = backup_path(db, kind, now, digest)
    n = 0
    while target.exists():  # two backups in one second: the second is named a second later
        n += 1
        target = backup_path(db, kind, now + timedelta(seconds=n), digest)
    write_backup(db, target, progress=progress, cancel=cancel)
    if kind == "auto" and keep is not None:
        rotate(db, keep)
    info = parse_backup(db, target)
    assert info is not None
    return info
