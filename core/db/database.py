"""Opening the library DB: SQLite in WAL mode with foreign keys, upgraded by Alembic.

Before any upgrade of an existing database a consistent copy is written next to it
(`library.db.backup-<revision>-<time>`), through SQLite's online backup API so that the
WAL's pages are included.
"""

from __future__ import annotations

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
from sqlalchemy.orm import Session, sessionmaker

from core.errors import DatabaseError

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def _on_connect(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")  # durable at checkpoints; WAL keeps it consistent
    cur.execute("PRAGMA busy_timeout=15000")
    cur.close()


def alembic_config(engine: Engine | None = None) -> Config:
    """An Alembic config over the migrations shipped inside the package."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if engine is not None:
        cfg.attributes["engine"] = engine
    return cfg


def head_revision() -> str:
    """The newest schema revision this version of the app knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


class Database:
    """The library DB. `Database.open(path)` brings its schema to the newest revision."""

    def __init__(self, path: Path, engine: Engine) -> None:
        self.path = path
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def open(cls, path: Path, *, upgrade: bool = True) -> Database:
        """Open (creating if needed) and, unless told not to, upgrade with a backup first."""
        path.parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(URL.create("sqlite", database=str(path)))
        event.listen(engine, "connect", _on_connect)
        db = cls(path, engine)
        if upgrade:
            db.upgrade()
        return db

    def current_revision(self) -> str | None:
        """The schema revision stored in the DB (None for an empty DB)."""
        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def upgrade(self) -> Path | None:
        """Bring the schema to head; return the backup file made first, if any."""
        script = ScriptDirectory.from_config(alembic_config())
        current = self.current_revision()
        head = head_revision()
        if current == head:
            return None
        if current is not None and current not in {r.revision for r in script.walk_revisions()}:
            raise DatabaseError(
                f"the library database {self.path} has schema revision {current}, which this "
                "version of the app does not know (it was written by a newer version)"
            )
        backup = None
        if current is not None or self._has_tables():
            backup = self.backup(label=current or "base")
            log.info("backed up %s to %s before upgrading", self.path, backup)
        command.upgrade(alembic_config(self.engine), "head")
        return backup

    def _has_tables(self) -> bool:
        return bool(inspect(self.engine).get_table_names())

    def backup(self, label: str = "manual") -> Path:
        """Write a consistent copy of the DB next to it and return its path."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        target = self.path.with_name(f"{self.path.name}.backup-{label}-{stamp}")
        n = 1
        while target.exists():
            n += 1
            target = self.path.with_name(f"{self.path.name}.backup-{label}-{stamp}-{n}")
        src = sqlite3.connect(self.path)
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            dst.close()
            src.close()
        return target

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error."""
        with self._sessions.begin() as session:
            yield session

    def close(self) -> None:
        """Release every connection."""
        self.engine.dispose()
