"""Forgetting a person entirely, on the user's request.

Goes: the person and their name; every face assigned to them (the face rows, so their
boxes, landmarks and embeddings by every model, and the decisions about those faces);
the people-edit log entries that mention them (their snapshots hold the name and the
faces; those edits can no longer be undone); the faces' thumbnails; the FAISS and
embedding caches (rebuilt from the DB on next use); their fitted identity files.
The DB delete overwrites the freed bytes, the WAL is emptied and the pre-upgrade
backups are scrubbed the same way (core.db.scrub).

Stays: the photos and their thumbnails. Faces rejected from the person ("not this
person") are other people's and stay. A later full re-analysis of those photos
(`idfsr index --rescan`, or a new face model) finds the faces again, as unknown faces.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from core.context import AppContext
from core.db.models import Face, FaceEmbedding, FacePerson, PeopleEdit, Person
from core.db.scrub import BackupScrub, scrub_backups, secure_session, truncate_wal
from core.errors import IdfsrError
from core.faces.scan import face_thumbnail_path
from core.faces.wipe import index_cache_dirs, remove_tree
from core.people.identity_store import identity_files

CHUNK = 900  # ids per IN (...), under SQLite's variable limit


@dataclass
class ForgetReport:
    """What forget_person removed."""

    person_id: int
    name: str | None
    faces: int = 0
    embeddings: int = 0
    edits: int = 0  # log entries that mentioned the person or their faces
    files: int = 0  # face thumbnails and cache files
    identity_files: list[str] = field(default_factory=list)
    backups_scrubbed: list[str] = field(default_factory=list)
    wal_truncated: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON output."""
        return asdict(self)


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start:start + CHUNK]


def mentions(before_json: str, person_id: int, faces: set[int]) -> bool:
    """Whether an edit's snapshot (core.people.history) names this person or these faces."""
    try:
        data = json.loads(before_json)
        return (any(int(p["id"]) == person_id for p in data.get("persons", []))
                or any(int(a["face_id"]) in faces or a.get("person_id") == person_id
                       for a in data.get("assignments", []))
                or any(int(f) in faces or int(p) == person_id
                       for f, p, *_ in data.get("rejections", [])))
    except (ValueError, TypeError, KeyError):
        return True  # unreadable: it cannot be shown to be free of them, so it goes


def _edits_mentioning(rows: Iterable[tuple[int, str]], person_id: int,
                      faces: set[int]) -> list[int]:
    return [edit_id for edit_id, before in rows if mentions(before, person_id, faces)]


def _delete_person(s: Session, person_id: int, faces: list[int]) -> tuple[int, list[int]]:
    """Delete the faces, the person and the edits naming them; (embeddings, edits gone)."""
    face_set = set(faces)
    embeddings = 0
    for part in _chunks(faces):
        embeddings += int(s.scalar(select(func.count()).select_from(FaceEmbedding)
                                   .where(FaceEmbedding.face_id.in_(part))) or 0)
    rows = [(int(r[0]), str(r[1])) for r in s.execute(select(PeopleEdit.id,
                                                             PeopleEdit.before))]
    edits = _edits_mentioning(rows, person_id, face_set)
    for part in _chunks(edits):
        s.execute(delete(PeopleEdit).where(PeopleEdit.id.in_(part)))
    for part in _chunks(faces):  # cascades: embeddings, people rows, rejections of the faces
        s.execute(delete(Face).where(Face.id.in_(part)))
    s.execute(delete(Person).where(Person.id == person_id))  # cascades: their rejections
    return embeddings, edits


def _scrub_backup(person_id: int, faces: list[int]) -> BackupScrub:
    def scrub(conn: sqlite3.Connection, tables: set[str]) -> None:
        if "people_edits" in tables:
            rows = conn.execute("SELECT id, before FROM people_edits").fetchall()
            gone = _edits_mentioning(rows, person_id, set(faces))
            conn.executemany("DELETE FROM people_edits WHERE id = ?", [(e,) for e in gone])
        for table, column in (("face_embeddings", "face_id"), ("face_rejections", "face_id"),
                              ("face_persons", "face_id"), ("faces", "id")):
            if table in tables:
                conn.executemany(f"DELETE FROM {table} WHERE {column} = ?",
                                 [(f,) for f in faces])
        if "persons" in tables:
            conn.execute("DELETE FROM persons WHERE id = ?", (person_id,))
    return scrub


def forget_person(ctx: AppContext, person_id: int) -> ForgetReport:
    """Remove a person and everything the app learnt from their faces (see the module)."""
    with secure_session(ctx.db) as s:
        person = s.get(Person, person_id)
        if person is None:
            raise IdfsrError(f"there is no person {person_id}")
        name = person.name
        namesakes = 0 if not name else int(s.scalar(
            select(func.count()).select_from(Person)
            .where(func.lower(Person.name) == name.lower(), Person.id != person_id)) or 0)
        faces = sorted(s.scalars(select(FacePerson.face_id)
                                 .where(FacePerson.person_id == person_id)))
        report = ForgetReport(person_id, name, faces=len(faces))
        report.embeddings, edits = _delete_person(s, person_id, faces)
        report.edits = len(edits)
    report.wal_truncated = truncate_wal(ctx.db)
    report.backups_scrubbed = [str(p) for p in scrub_backups(ctx.db,
                                                             _scrub_backup(person_id, faces))]
    for face_id in faces:
        thumb = face_thumbnail_path(ctx, face_id)
        if thumb.exists():
            thumb.unlink()
            report.files += 1
    for folder in index_cache_dirs(ctx.paths):  # they hold every vector; rebuilt on demand
        report.files += remove_tree(folder)
    for path in identity_files(ctx.paths.identities, person_id, name, namesakes == 0):
        path.unlink()
        report.identity_files.append(str(path))
    return report
