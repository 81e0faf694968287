"""The library DB: pragmas, migrations that match the models, backups before upgrades."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from core.context import AppContext
from core.db import Base, LibraryRoot, Photo
from core.db.database import Database, alembic_config, head_revision
from core.errors import DatabaseError


def test_wal_and_foreign_keys(app: AppContext) -> None:
    with app.db.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_new_db_is_at_head_without_backup(app: AppContext) -> None:
    assert app.db.current_revision() == head_revision()
    assert not list(app.paths.data.glob("library.db.backup-*"))


def test_migrations_match_models(app: AppContext) -> None:
    """The Alembic revisions build exactly the schema the ORM models describe."""
    with app.db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_foreign_key_enforced(app: AppContext) -> None:
    with pytest.raises(IntegrityError), app.db.session() as s:
        s.add(Photo(root_id=999, path="/x.jpg", size=1, mtime_ns=1, status="ok"))


def test_deleting_root_cascades_to_photos(app: AppContext) -> None:
    with app.db.session() as s:
        root = LibraryRoot(path="/photos")
        s.add(root)
        s.flush()
        s.add(Photo(root_id=root.id, path="/photos/a.jpg", size=1, mtime_ns=1, status="ok"))
    with app.db.session() as s:
        s.delete(s.get(LibraryRoot, 1))
    with app.db.session() as s:
        assert s.query(Photo).count() == 0


def test_upgrade_from_older_schema_backs_up_first(tmp_path: Path) -> None:
    db_file = tmp_path / "library.db"
    db = Database.open(db_file)
    with db.session() as s:
        s.add(LibraryRoot(path="/kept"))
    # Take the DB back to the empty schema, keeping a table of ours so there is data to lose.
    command.downgrade(alembic_config(db.engine), "base")
    with db.engine.begin() as conn:
        conn.execute(text("CREATE TABLE precious (v TEXT)"))
        conn.execute(text("INSERT INTO precious VALUES ('family')"))
    db.close()

    db = Database.open(db_file)
    assert db.current_revision() == head_revision()
    backups = list(tmp_path.glob("library.db.backup-base-*"))
    assert len(backups) == 1
    with sqlite3.connect(backups[0]) as conn:
        assert conn.execute("SELECT v FROM precious").fetchone() == ("family",)
    db.close()


def test_db_from_newer_version_is_refused(tmp_path: Path) -> None:
    db_file = tmp_path / "library.db"
    Database.open(db_file).close()
    with sqlite3.connect(db_file) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999_future'")
    with pytest.raises(DatabaseError, match="newer version"):
        Database.open(db_file)


def test_backup_includes_wal_pages(app: AppContext) -> None:
    """A backup taken while changes sit in the WAL still holds them."""
    with app.db.session() as s:
        s.add(LibraryRoot(path="/in-wal"))
    backup = app.db.backup()
    with sqlite3.connect(backup) as conn:
        assert conn.execute("SELECT count(*) FROM library_roots").fetchone() == (1,)
