"""Opening the library DB: SQLite in WAL mode with foreign keys, upgraded by Alembic.

Before any upgrade of an existing database a consistent copy is written next to it
(`library.db.backup-<revision>-<time>`), through SQLite's online backup API so that the
WAL's pages are included.

Every open first checks the file read-only (core.db.health): a damaged database is
refused (DatabaseDamaged, saying what is wrong) before anything is written to it. Every
error SQLite raises later about the machine (busy, read-only, disk full, damaged) comes out
as one typed IdfsrError in plain words (core.db.errors); after a sign of damage, the
database refuses every further transaction, so a damaged file is never written.

Upgrades are safe against concurrency and crashes. Several processes opening one home
at once (the GUI and a CLI command, two commands) take turns on an OS file lock next to
the DB (`library.db.lock`), and whoever comes second finds the schema already at head.
All revisions run in one real SQLite transaction (`BEGIN IMMEDIATE`: Python's sqlite3
would otherwise commit each CREATE/ALTER on its own), with foreign keys off while
tables are rebuilt and checked before the commit, as SQLite's documentation prescribes:
a process killed mid-upgrade leaves the DB exactly at its old revision.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import URL
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from core.db.backup import write_backup
from core.db.errors import BUSY_TIMEOUT_MS, REPAIR_HINT, explain, sqlite_words
from core.db.files import damage_mark
from core.db.health import Diagnosis, check_database
from core.db.lock import file_lock
from core.errors import DatabaseDamaged, DatabaseError
from core.resources import package_data_path

log = logging.getLogger(__name__)

# How long a process waits for another one's schema upgrade (a big library's table
# rebuild can take minutes on a slow disk).
UPGRADE_WAIT_S = 600.0


def _set_wal(cur: Any) -> None:
    """Switch to WAL, waiting out other processes. The busy timeout does not cover every
    path of this switch: SQLite may answer "database is locked" at once while another
    process opens or converts the same fresh file, so retry until the timeout."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    delay = 0.01
    while True:
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.25)


def _on_connect(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # First, so that every statement below waits for a busy DB instead of failing:
    # switching a new DB to WAL takes a lock that a second process may meet.
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    _set_wal(cur)
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")  # durable at checkpoints; WAL keeps it consistent
    cur.close()


def _on_migration_connect(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # BEGIN is ours (below), so DDL is transactional too
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    _set_wal(cur)
    # Off while tables are rebuilt (dropping a parent table must not cascade to its
    # children); the migration env runs `PRAGMA foreign_key_check` before committing.
    cur.execute("PRAGMA foreign_keys=OFF")
    cur.close()


def _migration_engine(path: Path) -> Engine:
    """An engine whose transactions are real SQLite transactions, DDL included."""
    engine = create_engine(URL.create("sqlite", database=str(path)), poolclass=NullPool)
    event.listen(engine, "connect", _on_migration_connect)
    event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
    return engine


def migrations_dir() -> Path:
    """The Alembic migrations shipped inside the package.

    Alembic reads env.py and the revisions as source files, so they ship as data files,
    in the frozen app too.
    """
    folder = package_data_path("core.db", "migrations")
    if folder is None or not (folder / "env.py").is_file():
        raise DatabaseError(f"the database migrations are missing ({folder}); reinstall the app")
    return folder


def alembic_config(engine: Engine | None = None) -> Config:
    """An Alembic config over the migrations shipped inside the package."""
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    if engine is not None:
        cfg.attributes["engine"] = engine
    return cfg


def head_revision() -> str:
    """The newest schema revision this version of the app knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def leave_damage_mark(path: Path, what: str) -> None:
    """Note beside the database that damage was met in it while in use, so that the next
    check at open refuses it too (a damaged row may pass every SQLite check)."""
    try:
        note = {"found_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "what": what}
        damage_mark(path).write_text(json.dumps(note), encoding="utf-8")
    except OSError as exc:  # a read-only folder: the next use meets the damage again
        log.warning("could not note the damage beside %s: %s", path, exc)


def damaged_message(diagnosis: Diagnosis) -> str:
    """One line for a damaged database: what is wrong, and how to repair it."""
    return (f"the library database {diagnosis.path} is damaged: {diagnosis.summary} Nothing "
            f"was written to it. {REPAIR_HINT}")


class Database:
    """The library DB. `Database.open(path)` checks it, then brings its schema to the newest
    revision."""

    def __init__(self, path: Path, engine: Engine) -> None:
        self.path = path
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        self.damage: DatabaseDamaged | None = None  # set at the first sign of damage
        event.listen(engine, "handle_error", self._on_error)
        event.listen(engine, "begin", self._refuse_if_damaged)

    @classmethod
    def open(cls, path: Path, *, upgrade: bool = True, check: bool = True) -> Database:
        """Check (unless told not to), open (creating if needed) and, unless told not to,
        upgrade with a backup first. A damaged database raises DatabaseDamaged."""
        if check:
            diagnosis = check_database(path)
            if diagnosis.damaged:
                raise DatabaseDamaged(damaged_message(diagnosis), diagnosis)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatabaseError(f"cannot create the folder of the library database "
                                f"{path.parent}: {exc.strerror or exc}") from exc
        engine = create_engine(URL.create("sqlite", database=str(path)))
        event.listen(engine, "connect", _on_connect)
        db = cls(path, engine)
        if upgrade:
            db.upgrade()
        return db

    def _on_error(self, context: Any) -> None:
        """Raise SQLite's failures about the machine as typed errors in plain words."""
        typed = explain(context.original_exception, self.path)
        if typed is None:
            return
        if isinstance(typed, DatabaseDamaged) and self.damage is None:
            # info: the error itself is what the user is told (one line, not this too)
            log.info("the library database %s is damaged: %s", self.path,
                     sqlite_words(context.original_exception))
            self.damage = typed
            leave_damage_mark(self.path, sqlite_words(context.original_exception))
        raise typed from context.original_exception

    def _refuse_if_damaged(self, _conn: Any) -> None:
        if self.damage is not None:
            raise DatabaseDamaged(str(self.damage), self.damage.diagnosis)

    def current_revision(self) -> str | None:
        """The schema revision stored in the DB (None for an empty DB)."""
        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    @property
    def lock_file(self) -> Path:
        """The file whose OS lock serialises schema upgrades between processes."""
        return self.path.with_name(f"{self.path.name}.lock")

    def upgrade(self) -> Path | None:
        """Bring the schema to head; return the backup file made first, if any."""
        head = head_revision()
        if self.current_revision() == head:
            return None
        with file_lock(self.lock_file, timeout=UPGRADE_WAIT_S,
                       what=f"upgrading the library database {self.path}"):
            current = self.current_revision()  # another process may have done it meanwhile
            if current == head:
                return None
            script = ScriptDirectory.from_config(alembic_config())
            if current is not None and current not in {
                r.revision for r in script.walk_revisions()
            }:
                raise DatabaseError(
                    f"the library database {self.path} has schema revision {current}, which "
                    "this version of the app does not know (it was written by a newer version)"
                )
            backup = None
            if current is not None or self._has_tables():
                backup = self.backup(label=current or "base")
                log.info("backed up %s to %s before upgrading", self.path, backup)
            engine = _migration_engine(self.path)
            try:
                command.upgrade(alembic_config(engine), "head")
            except (SQLAlchemyError, sqlite3.Error, RuntimeError) as exc:  # RuntimeError: env.py
                kept = f"; a copy from before is at {backup}" if backup else ""
                raise DatabaseError(
                    f"upgrading the library database {self.path} failed, and it was left as "
                    f"it was (revision {current or 'none'}){kept}: {exc}"
                ) from exc
            finally:
                engine.dispose()
        return backup

    def _has_tables(self) -> bool:
        return bool(inspect(self.engine).get_table_names())

    def backup(self, label: str = "manual") -> Path:
        """Write a consistent, verified copy of the DB next to it and return its path
        (core.db.backup; named `<db>.backup-<label>-<local time>`)."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = self.path.with_name(f"{self.path.name}.backup-{label}-{stamp}")
        n = 1
        while target.exists():
            n += 1
            target = self.path.with_name(f"{self.path.name}.backup-{label}-{stamp}-{n}")
        return write_backup(self.path, target)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error."""
        with self._sessions.begin() as session:
            yield session

    def close(self) -> None:
        """Release every connection."""
        self.engine.dispose()
