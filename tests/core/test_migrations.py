"""Upgrading from every earlier schema revision, with data in it: a backup first, every row
kept, the schema then exactly the models', and the app working on the upgraded library.

Each revision has a filler that writes realistic rows as that revision stored them
(raw SQL: the ORM models describe only the newest schema). A new revision makes
`test_every_earlier_revision_has_data` fail until its filler is added here.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection

from core.context import AppContext
from core.db import Base
from core.db.database import Database, alembic_config, head_revision
from core.faces.service import similar_faces
from core.library import service
from core.people.recluster import recluster

STAMP = "2021-06-01 10:00:00.000000"
NON_UTF8_ROOT = b"/photos/\xff\xfeold"
OLD_MODEL = "old-embedder-v1"


def fill_0001(conn: Connection) -> None:
    """Roots (one with a name that is not UTF-8), photos in every status, a scan issue."""
    sql = conn.exec_driver_sql
    sql("INSERT INTO library_roots (id, path, added_at, last_scan_at) VALUES (?, ?, ?, ?)",
        [(1, b"/photos/family", STAMP, STAMP), (2, NON_UTF8_ROOT, STAMP, None)])
    photos = [
        (i, 1, f"/photos/family/{i:03d}.jpg".encode(), 1000 + i, 10**18 + i, f"{i:064x}",
         "JPEG", 640, 480, 1, STAMP, "ok", None, None, STAMP, STAMP, None)
        for i in range(1, 7)
    ]
    photos.append((7, 1, b"/photos/family/broken.jpg", 10, 10, "e" * 64, None, None, None, 1,
                   None, "error", "truncated", "the file is truncated", STAMP, STAMP, None))
    photos.append((8, 2, NON_UTF8_ROOT + b"/gone.png", 20, 20, "f" * 64, "PNG", 10, 10, 6,
                   None, "missing", None, None, STAMP, STAMP, STAMP))
    sql("INSERT INTO photos (id, root_id, path, size, mtime_ns, content_hash, format, width, "
        "height, orientation, captured_at, status, error_kind, error, first_seen_at, "
        "indexed_at, missing_since) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        photos)
    sql("INSERT INTO scan_issues (root_id, path, kind, reason, seen_at) VALUES (?, ?, ?, ?, ?)",
        (1, b"/photos/family/loop", "symlink_loop", "a link back to a folder", STAMP))


def _vectors() -> np.ndarray:
    """Six unit vectors: faces 1-3 one person, faces 4-6 another."""
    rng = np.random.default_rng(7)
    centres = rng.standard_normal((2, 16))
    rows = np.repeat(centres, 3, axis=0) + 0.05 * rng.standard_normal((6, 16))
    return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype("<f4")


def fill_0002(conn: Connection) -> None:
    """One face per good photo, embedded by one model; the photos' face-pass columns."""
    sql = conn.exec_driver_sql
    for i, v in enumerate(_vectors(), start=1):
        sql("UPDATE photos SET faces_hash = content_hash, faces_model = ? WHERE id = ?",
            (OLD_MODEL, i))
        sql("INSERT INTO faces (id, photo_id, x0, y0, x1, y1, landmarks, det_score, quality, "
            "size_px, detector, created_at) VALUES (?, ?, 10, 10, 130, 130, ?, 0.99, 0.9, "
            "120, 'old-detector', ?)", (i, i, np.arange(10, dtype="<f4").tobytes(), STAMP))
        sql("INSERT INTO face_embeddings (face_id, model_id, vector) VALUES (?, ?, ?)",
            (i, OLD_MODEL, v.tobytes()))
    sql("UPDATE photos SET faces_hash = content_hash, faces_model = ?, faces_error = ? "
        "WHERE id = 7", (OLD_MODEL, "could not be decoded"))


def fill_0003(conn: Connection) -> None:
    """Two persons (one named), their faces' sources, a "not this person", an edit logged."""
    sql = conn.exec_driver_sql
    sql("INSERT INTO persons (id, name, hidden, cover_face_id, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?)", [(1, "Ada", 0, 1, STAMP, STAMP),
                                      (2, None, 0, None, STAMP, STAMP)])
    sql("INSERT INTO face_persons (face_id, person_id, source, model_id, score, assigned_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [(1, 1, "user", None, None, STAMP), (2, 1, "auto", OLD_MODEL, 0.91, STAMP),
         (4, 2, "auto", OLD_MODEL, 0.88, STAMP)])
    sql("INSERT INTO face_rejections (face_id, person_id, created_at) VALUES (?, ?, ?)",
        (5, 1, STAMP))
    sql("INSERT INTO people_edits (id, created_at, action, summary, before, undone) "
        "VALUES (?, ?, ?, ?, ?, ?)", (1, STAMP, "rename", "naming Ada", "{}", 0))


FILLERS: dict[str, Callable[[Connection], None]] = {
    "0001_library": fill_0001,
    "0002_faces": fill_0002,
    "0003_people": fill_0003,
}


def earlier_revisions() -> list[str]:
    """Every revision before head, oldest first."""
    script = ScriptDirectory.from_config(alembic_config())
    revs = [r.revision for r in script.walk_revisions()]  # newest first
    return [r for r in reversed(revs) if r != head_revision()]


def test_every_earlier_revision_has_data() -> None:
    assert earlier_revisions() == list(FILLERS)


def _tables(db_file: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table of ours, ordered (SQLite's and Alembic's own left out)."""
    with sqlite3.connect(db_file) as conn:
        names = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "AND name != 'alembic_version' ORDER BY name")]
        out = {}
        for name in names:
            cols = [r[1] for r in conn.execute(f"PRAGMA table_info({name})")]
            out[name] = [dict(zip(cols, row, strict=True)) for row in conn.execute(
                f"SELECT * FROM {name} ORDER BY 1, 2")]
    return out  # type: ignore[return-value]


def _old_library(home: Path, revision: str) -> Path:
    """A home whose DB is at `revision`, filled as that revision (and those before) stored data."""
    db_file = home / "data" / "library.db"
    db = Database.open(db_file, upgrade=False)
    command.upgrade(alembic_config(db.engine), revision)
    with db.engine.begin() as conn:
        for rev in earlier_revisions():
            FILLERS[rev](conn)
            if rev == revision:
                break
    db.close()
    return db_file


@pytest.mark.parametrize("revision", earlier_revisions())
def test_upgrade_from_earlier_revision_keeps_everything(revision: str, isolated_home: Path
                                                        ) -> None:
    db_file = _old_library(isolated_home, revision)
    before = _tables(db_file)
    assert before["photos"] and before["library_roots"]

    app = AppContext.open(isolated_home)
    try:
        assert app.db.current_revision() == head_revision()
        # The backup was made first: the old revision, every old row.
        (backup,) = db_file.parent.glob(f"library.db.backup-{revision}-*")
        with sqlite3.connect(backup) as conn:
            assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [
                (revision,)]
        assert _tables(backup) == before
        # Every old row is in the upgraded DB with its old values (new columns aside).
        after = _tables(db_file)
        for table, rows in before.items():
            kept = [{k: row[k] for k in old} for row, old in zip(after[table], rows,
                                                                  strict=True)]
            assert kept == rows, table
        with sqlite3.connect(db_file) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        with app.db.engine.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []

        # The app works on what was upgraded.
        status = service.library_status(app)
        assert status["photos"] == {"total": 8, "ok": 6, "error": 1, "missing": 1}
        paths = {p.path for p in service.list_photos(app)}
        assert any(p.encode("utf-8", "surrogateescape").startswith(NON_UTF8_ROOT)
                   for p in paths)
        if before.get("face_embeddings"):
            found = similar_faces(app, 1, k=2)
            assert {f.id for f, _ in found} == {2, 3}
            report = recluster(app, OLD_MODEL)
            assert report.faces == 6
    finally:
        app.close()


def test_upgrade_of_an_up_to_date_db_makes_no_backup(isolated_home: Path) -> None:
    AppContext.open(isolated_home).close()
    AppContext.open(isolated_home).close()
    assert not list((isolated_home / "data").glob("library.db.backup-*"))
