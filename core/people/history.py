"""The people edit log and undo.

Every user edit records, in the same transaction, what the rows it may touch looked
like before: the persons involved, the people rows of the faces involved, and the
rejections of either. Undo puts those rows back exactly (persons the edit created are
deleted). Snapshots rather than inverse operations: one generic, obviously correct undo
for every kind of edit, and an undo still lands sensibly after a re-cluster has moved
other faces meanwhile. Only the last `KEEP` edits are kept.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from core.context import AppContext
from core.db.models import Face, FacePerson, FaceRejection, PeopleEdit, Person
from core.db.types import utcnow
from core.errors import IdfsrError

KEEP = 100  # edits


@dataclass(frozen=True)
class EditInfo:
    """One logged edit."""

    id: int
    created_at: datetime
    action: str
    summary: str
    undone: bool


def _row(obj: Any, columns: list[str]) -> dict[str, Any]:
    out = {}
    for c in columns:
        v = getattr(obj, c)
        out[c] = v.isoformat() if isinstance(v, datetime) else v
    return out


def _parse(row: dict[str, Any], stamps: tuple[str, ...]) -> dict[str, Any]:
    return {k: datetime.fromisoformat(v) if k in stamps and v is not None else v
            for k, v in row.items()}


_PERSON = ["id", "name", "hidden", "cover_face_id", "created_at", "updated_at"]
_ASSIGN = ["face_id", "person_id", "source", "model_id", "score", "assigned_at"]


class Snapshot:
    """The before-image of one edit, taken before it changes anything."""

    def __init__(self, s: Session, faces: set[int], persons: set[int]) -> None:
        self.faces = set(faces)
        self.persons = set(persons)
        found = {p.id: p for p in s.scalars(select(Person).where(Person.id.in_(self.persons)))}
        self.person_rows = [_row(found[i], _PERSON) if i in found else {"id": i, "absent": True}
                            for i in sorted(self.persons)]
        rows = {r.face_id: r for r in s.scalars(
            select(FacePerson).where(FacePerson.face_id.in_(self.faces)))}
        self.assign_rows = [_row(rows[f], _ASSIGN) if f in rows else {"face_id": f, "absent": True}
                            for f in sorted(self.faces)]
        rej = s.scalars(select(FaceRejection).where(or_(
            FaceRejection.face_id.in_(self.faces), FaceRejection.person_id.in_(self.persons))))
        self.rejections = [[r.face_id, r.person_id, r.created_at.isoformat()] for r in rej]

    def created(self, person_id: int) -> None:
        """Note a person the edit made (undo deletes it)."""
        self.persons.add(person_id)
        self.person_rows.append({"id": person_id, "absent": True})

    def to_json(self) -> str:
        """The snapshot as stored in the log."""
        return json.dumps({"persons": self.person_rows, "assignments": self.assign_rows,
                           "rejections": self.rejections})


def record(s: Session, action: str, summary: str, snap: Snapshot) -> None:
    """Log an edit (in the edit's own transaction) and forget the oldest beyond KEEP."""
    s.add(PeopleEdit(action=action, summary=summary, before=snap.to_json(), undone=False,
                     created_at=utcnow()))
    s.flush()
    stale = select(PeopleEdit.id).order_by(PeopleEdit.id.desc()).offset(KEEP)
    s.execute(delete(PeopleEdit).where(PeopleEdit.id.in_(stale)))


def _restore(s: Session, data: dict[str, Any]) -> None:
    faces = {int(a["face_id"]) for a in data["assignments"]}
    persons = {int(p["id"]) for p in data["persons"]}
    alive_faces = set(s.scalars(select(Face.id).where(Face.id.in_(faces))))
    for p in data["persons"]:
        if p.get("absent"):
            continue
        row = _parse(p, ("created_at", "updated_at"))
        if row["cover_face_id"] is not None and not s.get(Face, row["cover_face_id"]):
            row["cover_face_id"] = None
        s.execute(sqlite_insert(Person).values(**row).on_conflict_do_update(
            index_elements=["id"], set_={k: v for k, v in row.items() if k != "id"}))
    s.execute(delete(FaceRejection).where(or_(
        FaceRejection.face_id.in_(faces), FaceRejection.person_id.in_(persons))))
    for a in data["assignments"]:
        face = int(a["face_id"])
        s.execute(delete(FacePerson).where(FacePerson.face_id == face))
        if not a.get("absent") and face in alive_faces:
            s.add(FacePerson(**_parse(a, ("assigned_at",))))
    s.flush()
    alive_persons = set(s.scalars(select(Person.id)))
    for face, person, created in data["rejections"]:
        ids = set(s.scalars(select(Face.id).where(Face.id == face)))
        if ids and person in alive_persons:
            s.add(FaceRejection(face_id=face, person_id=person,
                                created_at=datetime.fromisoformat(created)))
    gone = [int(p["id"]) for p in data["persons"] if p.get("absent")]
    if gone:
        s.execute(delete(Person).where(Person.id.in_(gone)))


def undo(ctx: AppContext, steps: int = 1) -> list[str]:
    """Undo the last `steps` edits not yet undone; their summaries, newest first."""
    done: list[str] = []
    with ctx.db.session() as s:
        edits = s.scalars(select(PeopleEdit).where(PeopleEdit.undone.is_(False))
                          .order_by(PeopleEdit.id.desc()).limit(steps)).all()
        if not edits:
            raise IdfsrError("there is no people edit to undo")
        for edit in edits:
            _restore(s, json.loads(edit.before))
            s.execute(update(PeopleEdit).where(PeopleEdit.id == edit.id).values(undone=True))
            s.flush()
            done.append(edit.summary)
    return done


def history(ctx: AppContext, limit: int = 20) -> list[EditInfo]:
    """The most recent edits, newest first."""
    with ctx.db.session() as s:
        rows = s.scalars(select(PeopleEdit).order_by(PeopleEdit.id.desc()).limit(limit))
        return [EditInfo(e.id, e.created_at, e.action, e.summary, e.undone) for e in rows]
