"""Wiping every piece of face data: faces, embeddings, persons and names, the user's
decisions and their log, face thumbnails, the face indexes, fitted identities.

The photos stay indexed (their thumbnails are of the photos, not face data). Deleted
rows are overwritten in the DB, the WAL and the pre-upgrade backups (core.db.scrub).
Unless told otherwise, face finding is switched off too, so that the next `idfsr index`
does not quietly find everyone again.
"""

from __future__ import annotations

import shutil
import sqlite3
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core.context import AppContext
from core.db.scrub import scrub_backups, secure_session, truncate_wal
from core.faces.index import index_file, vectors_cache_dir
from core.faces.scan import face_thumbnail_path
from core.paths import AppPaths

# Children before parents: the order also suits a backup whose foreign keys are off.
FACE_TABLES = ("people_edits", "face_rejections", "face_persons", "persons",
               "face_embeddings", "faces")


@dataclass
class WipeReport:
    """What wipe_face_data removed."""

    faces: int = 0
    embeddings: int = 0
    persons: int = 0
    files: int = 0  # face thumbnails, index caches, identity files
    backups_scrubbed: list[str] = field(default_factory=list)
    wal_truncated: bool = False
    faces_disabled: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON output."""
        return asdict(self)


def index_cache_dirs(paths: AppPaths) -> tuple[Path, ...]:
    """Caches of embeddings, rebuilt from the DB on demand: FAISS indexes, vector matrices."""
    return (index_file(paths.cache, "-").parent, vectors_cache_dir(paths.cache))


def face_thumbnail_dir(ctx: AppContext) -> Path:
    """The folder of every face thumbnail."""
    return face_thumbnail_path(ctx, 0).parent.parent


def remove_tree(folder: Path) -> int:
    """Delete a folder and everything in it; return how many files went."""
    if not folder.exists():
        return 0
    count = sum(1 for p in folder.rglob("*") if not p.is_dir())
    shutil.rmtree(folder)
    return count


def _wipe_backup(conn: sqlite3.Connection, tables: set[str]) -> None:
    for table in FACE_TABLES:
        if table in tables:
            conn.execute(f"DELETE FROM {table}")  # names from FACE_TABLES
    columns = {r[1] for r in conn.execute("PRAGMA table_info(photos)")}
    if "faces_hash" in columns:
        conn.execute("UPDATE photos SET faces_hash = NULL, faces_model = NULL, "
                     "faces_error = NULL")


def wipe_face_data(ctx: AppContext, *, disable_faces: bool = True) -> WipeReport:
    """Delete every face, embedding, person and decision, and the files made from them."""
    report = WipeReport()
    with secure_session(ctx.db) as s:
        conn = s.connection()

        def count(table: str) -> int:
            return int(conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one())

        report.faces, report.embeddings = count("faces"), count("face_embeddings")
        report.persons = count("persons")
        for table in FACE_TABLES:
            conn.exec_driver_sql(f"DELETE FROM {table}")
        # Every photo's face pass is undone: finding faces again starts from nothing.
        conn.exec_driver_sql("UPDATE photos SET faces_hash = NULL, faces_model = NULL, "
                             "faces_error = NULL")
    report.wal_truncated = truncate_wal(ctx.db)
    report.backups_scrubbed = [str(p) for p in scrub_backups(ctx.db, _wipe_backup)]
    for folder in (face_thumbnail_dir(ctx), *index_cache_dirs(ctx.paths),
                   ctx.paths.identities):
        report.files += remove_tree(folder)
    if disable_faces and ctx.settings.faces.enabled:
        faces = ctx.settings.faces.model_copy(update={"enabled": False})
        ctx.settings = ctx.settings.model_copy(update={"faces": faces})
        ctx.save_settings()
        report.faces_disabled = True
    return report
