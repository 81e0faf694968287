"""Deleting from the library DB so that the bytes are gone from the files too.

A plain DELETE leaves the old rows readable in freed pages, in the WAL and in the
backups (rolling, manual, before schema upgrades). For privacy deletes (forget a person,
wipe face data) we therefore: delete with `PRAGMA secure_delete` (SQLite overwrites the
freed content with zeros), checkpoint and truncate the WAL, apply the same delete to every
backup, and remove what could still hold the deleted data beside them: the automatic
export of the people decisions (written again from the live DB when the session ends) and
half-written backups. Damaged databases a repair set aside are not touched (they cannot
be read reliably); `idfsr library check` lists them. What the file system itself may keep
of old blocks (SSD wear levelling, copy-on-write snapshots) is beyond what an application
can promise.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.orm import Session

from core.db.database import Database
from core.db.files import backups_of, export_file, partial_backups_of, rebuild_decisions_file

log = logging.getLogger(__name__)


@contextmanager
def secure_session(db: Database) -> Iterator[Session]:
    """A session (one transaction, committed on success) whose deletes overwrite what
    they free. The pragma is per connection: set on one, reset after the commit."""
    with db.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA secure_delete=ON")
        conn.commit()  # closes SQLAlchemy's implicit transaction; the session opens its own
        try:
            with Session(bind=conn, expire_on_commit=False) as s, s.begin():
                yield s
        finally:
            conn.exec_driver_sql("PRAGMA secure_delete=OFF")
            conn.commit()


def truncate_wal(db: Database) -> bool:
    """Copy the WAL into the DB and empty it; False if another connection kept it busy."""
    with db.engine.connect() as conn:
        busy, _, _ = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
    wal = db.path.with_name(f"{db.path.name}-wal")
    return not busy and (not wal.exists() or wal.stat().st_size == 0)


def backups(db: Database) -> list[Path]:
    """Every backup of the DB (core.db.files)."""
    return backups_of(db.path)


def _remove_derived_copies(db: Database) -> None:
    """The decisions export (and its temporary files, and the copy an unfinished rebuild
    would re-apply) and half-written backups."""
    export = export_file(db.path)
    for path in [export, *export.parent.glob(f".{export.name}.*"),
                 rebuild_decisions_file(db.path), *partial_backups_of(db.path)]:
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("could not remove %s: %s", path, exc)


BackupScrub = Callable[[sqlite3.Connection, set[str]], None]


def scrub_backups(db: Database, scrub: BackupScrub) -> list[Path]:
    """Run `scrub(conn, table_names)` on every backup, with secure delete and foreign keys
    on (so deletes cascade as in the live DB); return the backups changed. The export and
    half-written backups go."""
    _remove_derived_copies(db)
    done = []
    for path in backups(db):
        try:
            conn = sqlite3.connect(path)
        except sqlite3.Error as exc:
            log.warning("could not open the backup %s to scrub it: %s", path, exc)
            continue
        try:
            conn.execute("PRAGMA secure_delete=ON")
            conn.execute("PRAGMA foreign_keys=ON")
            tables = {r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")}
            with conn:  # one transaction
                scrub(conn, tables)
            conn.execute("VACUUM")  # rewrites the file: no freed page keeps anything
            done.append(path)
        except sqlite3.Error as exc:  # a damaged backup: say so, scrub the others
            log.warning("could not scrub the backup %s: %s", path, exc)
        finally:
            conn.close()
    return done
