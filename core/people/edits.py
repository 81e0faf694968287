"""The user's decisions about people. Each is one transaction, logged for undo.

What each decision stores, so that no re-cluster can lose it (see core.people.reconcile):
- rename, hide, cover: columns of the person (the cover face is confirmed as well);
- confirm: the face's row becomes `confirmed` (and any rejection of that person goes);
- move / split: rows become `moved`, plus "not this person" for the person they left;
- reject ("not this person"): a rejection row; the face leaves that person;
- unassign: the face's row becomes the user's "nobody" (`unassigned`);
- merge: the others' faces and rejections go to the surviving person, the others are
  deleted; re-clusters keep the merge because those faces now vote for the survivor.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from core.context import AppContext
from core.db.models import Face, FacePerson, FaceRejection, FaceSource, Person
from core.db.types import utcnow
from core.errors import IdfsrError
from core.people.history import Snapshot, record


def _person(s: Session, person_id: int) -> Person:
    p = s.get(Person, person_id)
    if p is None:
        raise IdfsrError(f"there is no person {person_id}")
    return p


def _faces(s: Session, face_ids: Iterable[int]) -> list[int]:
    ids = sorted(set(face_ids))
    if not ids:
        raise IdfsrError("no faces given")
    found = set(s.scalars(select(Face.id).where(Face.id.in_(ids))))
    missing = [f for f in ids if f not in found]
    if missing:
        raise IdfsrError(f"there is no face {missing[0]}")
    return ids


def _persons_of(s: Session, face_ids: list[int]) -> dict[int, int | None]:
    rows = s.execute(select(FacePerson.face_id, FacePerson.person_id)
                     .where(FacePerson.face_id.in_(face_ids)))
    out: dict[int, int | None] = dict.fromkeys(face_ids)
    out.update({r[0]: r[1] for r in rows})
    return out


def _set_row(s: Session, face_id: int, person_id: int | None, source: FaceSource) -> None:
    values = {"person_id": person_id, "source": source.value, "model_id": None, "score": None,
              "assigned_at": utcnow()}
    s.execute(sqlite_insert(FacePerson).values(face_id=face_id, **values)
              .on_conflict_do_update(index_elements=["face_id"], set_=values))


def _reject(s: Session, face_id: int, person_id: int) -> None:
    s.execute(sqlite_insert(FaceRejection).values(
        face_id=face_id, person_id=person_id, created_at=utcnow()).on_conflict_do_nothing())


def _unreject(s: Session, face_ids: list[int], person_id: int) -> None:
    s.execute(delete(FaceRejection).where(FaceRejection.face_id.in_(face_ids),
                                          FaceRejection.person_id == person_id))


def _touch(s: Session, person_ids: Iterable[int]) -> None:
    s.execute(update(Person).where(Person.id.in_(set(person_ids))).values(updated_at=utcnow()))


def _label(s: Session, person_id: int) -> str:
    """How a person is called in the edit log, which the Edit menu shows: by name, never by id."""
    p = s.get(Person, person_id)
    return p.name if p is not None and p.name else "an unnamed person"


def _n_faces(n: int) -> str:
    return f"{n} face{'' if n == 1 else 's'}"


def rename(ctx: AppContext, person_id: int, name: str | None) -> None:
    """Name a person (None or blank: no name)."""
    clean = (name or "").strip() or None
    with ctx.db.session() as s:
        snap = Snapshot(s, set(), {person_id})
        person = _person(s, person_id)
        old = person.name
        person.name = clean
        person.updated_at = utcnow()
        # Read after "Undo": "Undo rename of Mark", "Undo naming Mark".
        summary = f"rename of {old}" if old else f"naming {clean or 'an unnamed person'}"
        record(s, "rename", summary, snap)


def hide(ctx: AppContext, person_id: int, hidden: bool = True) -> None:
    """Hide a person from lists and suggestions (or show it again)."""
    with ctx.db.session() as s:
        snap = Snapshot(s, set(), {person_id})
        person = _person(s, person_id)
        person.hidden = hidden
        person.updated_at = utcnow()
        record(s, "hide" if hidden else "unhide",
               f"{'hiding' if hidden else 'showing'} {_label(s, person_id)}", snap)


def set_cover(ctx: AppContext, person_id: int, face_id: int) -> None:
    """Pick the face that shows a person; it is confirmed as theirs."""
    with ctx.db.session() as s:
        _faces(s, [face_id])
        snap = Snapshot(s, {face_id}, {person_id})
        person = _person(s, person_id)
        if _persons_of(s, [face_id])[face_id] != person_id:
            raise IdfsrError(f"face {face_id} is not one of {_label(s, person_id)}'s faces")
        person.cover_face_id = face_id
        person.updated_at = utcnow()
        _set_row(s, face_id, person_id, FaceSource.CONFIRMED)
        record(s, "cover", f"new cover of {_label(s, person_id)}", snap)


def _targets(
    s: Session, face_ids: Iterable[int], person_id: int | None, missing: str
) -> tuple[list[int], dict[int, int | None], dict[int, int], set[int]]:
    """Faces, their current persons, and the person each edit is about (`person_id` or the
    current one); refuses a face that has none."""
    ids = _faces(s, face_ids)
    owners = _persons_of(s, ids)
    target = {f: person_id if person_id is not None else owners[f] for f in ids}
    lost = [f for f, p in target.items() if p is None]
    if lost:
        raise IdfsrError(f"face {lost[0]} has no person {missing}")
    persons = {p for p in target.values() if p is not None}
    for p in persons:
        _person(s, p)
    return ids, owners, {f: p for f, p in target.items() if p is not None}, persons


def confirm(ctx: AppContext, face_ids: Iterable[int], person_id: int | None = None) -> None:
    """Confirm faces as their person's (or as `person_id`'s)."""
    with ctx.db.session() as s:
        ids, owners, target, persons = _targets(s, face_ids, person_id, "to confirm; name one")
        snap = Snapshot(s, set(ids), persons | {p for p in owners.values() if p is not None})
        for f, want in target.items():
            assert want is not None
            _set_row(s, f, want, FaceSource.CONFIRMED)
            _unreject(s, [f], want)
            old = owners[f]
            if old is not None and old != want:
                _reject(s, f, old)
        _touch(s, persons)
        who = ", ".join(sorted(_label(s, p) for p in persons))
        record(s, "confirm", f"confirming {_n_faces(len(ids))} of {who}", snap)


def move(ctx: AppContext, face_ids: Iterable[int], person_id: int) -> None:
    """Put faces with another person; they are "not" the person they leave."""
    with ctx.db.session() as s:
        ids = _faces(s, face_ids)
        _person(s, person_id)
        owners = _persons_of(s, ids)
        left = {p for p in owners.values() if p is not None and p != person_id}
        snap = Snapshot(s, set(ids), left | {person_id})
        _move(s, ids, owners, person_id)
        record(s, "move", f"moving {_n_faces(len(ids))} to {_label(s, person_id)}", snap)


def _move(s: Session, ids: list[int], owners: dict[int, int | None], person_id: int) -> None:
    for f in ids:
        _set_row(s, f, person_id, FaceSource.MOVED)
        old = owners[f]
        if old is not None and old != person_id:
            _reject(s, f, old)
    _unreject(s, ids, person_id)
    s.execute(update(Person).where(Person.id != person_id, Person.cover_face_id.in_(ids))
              .values(cover_face_id=None))
    _touch(s, {person_id, *(p for p in owners.values() if p is not None)})


def split(ctx: AppContext, person_id: int, face_ids: Iterable[int],
          name: str | None = None) -> int:
    """Make the selected faces of a person a new person; returns the new person's id."""
    with ctx.db.session() as s:
        _person(s, person_id)
        ids = _faces(s, face_ids)
        owners = _persons_of(s, ids)
        strangers = [f for f in ids if owners[f] != person_id]
        if strangers:
            raise IdfsrError(f"face {strangers[0]} is not one of {_label(s, person_id)}'s")
        snap = Snapshot(s, set(ids), {person_id})
        new = _new_person(s, name)
        snap.created(new)
        _move(s, ids, owners, new)
        record(s, "split", f"new person from {_n_faces(len(ids))} of {_label(s, person_id)}",
               snap)
    return new


def new_person(ctx: AppContext, face_ids: Iterable[int], name: str | None = None) -> int:
    """A new person made of these faces (from wherever they were); returns its id."""
    with ctx.db.session() as s:
        ids = _faces(s, face_ids)
        owners = _persons_of(s, ids)
        snap = Snapshot(s, set(ids), {p for p in owners.values() if p is not None})
        new = _new_person(s, name)
        snap.created(new)
        _move(s, ids, owners, new)
        record(s, "new", f"new person from {_n_faces(len(ids))}", snap)
    return new


def _new_person(s: Session, name: str | None) -> int:
    now = utcnow()
    person = Person(name=(name or "").strip() or None, hidden=False, created_at=now,
                    updated_at=now)
    s.add(person)
    s.flush()
    return person.id


def reject(ctx: AppContext, face_ids: Iterable[int], person_id: int | None = None) -> None:
    """"Not this person": the faces leave it (default: their current person) for good."""
    with ctx.db.session() as s:
        ids, owners, target, persons = _targets(s, face_ids, person_id, "to reject")
        snap = Snapshot(s, set(ids), persons)
        for f, want in target.items():
            assert want is not None
            _reject(s, f, want)
            if owners[f] == want:
                _set_row(s, f, None, FaceSource.AUTO)  # free for another person, never this
        s.execute(update(Person).where(Person.id.in_(persons), Person.cover_face_id.in_(ids))
                  .values(cover_face_id=None))
        _touch(s, persons)
        who = " or ".join(sorted(_label(s, p) for p in persons))
        record(s, "reject", f"“not {who}” for {_n_faces(len(ids))}", snap)


def unassign(ctx: AppContext, face_ids: Iterable[int]) -> None:
    """Take faces out of every person, for good (until the user places them again)."""
    with ctx.db.session() as s:
        ids = _faces(s, face_ids)
        owners = _persons_of(s, ids)
        persons = {p for p in owners.values() if p is not None}
        snap = Snapshot(s, set(ids), persons)
        for f in ids:
            _set_row(s, f, None, FaceSource.UNASSIGNED)
        s.execute(update(Person).where(Person.id.in_(persons), Person.cover_face_id.in_(ids))
                  .values(cover_face_id=None))
        _touch(s, persons)
        record(s, "unassign", f"unassigning {_n_faces(len(ids))}", snap)


def merge(ctx: AppContext, into: int, others: Iterable[int]) -> None:
    """Make several persons one: `into` survives with everyone's faces."""
    drop = sorted(set(others) - {into})
    if not drop:
        raise IdfsrError("name at least one other person to merge")
    with ctx.db.session() as s:
        keep = _person(s, into)
        gone = [_person(s, p) for p in drop]
        faces = set(s.scalars(select(FacePerson.face_id).where(FacePerson.person_id.in_(drop))))
        snap = Snapshot(s, faces, {into, *drop})
        labels = ", ".join(_label(s, p) for p in drop)
        s.execute(update(FacePerson).where(FacePerson.person_id.in_(drop))
                  .values(person_id=into))
        # Their "not this person"s are now about the survivor, except for its own user faces.
        mine = select(FacePerson.face_id).where(FacePerson.person_id == into,
                                                FacePerson.source != FaceSource.AUTO.value)
        for face, _ in s.execute(select(FaceRejection.face_id, FaceRejection.person_id)
                                 .where(FaceRejection.person_id.in_(drop),
                                        FaceRejection.face_id.not_in(mine))).all():
            _reject(s, face, into)
        keep.name = keep.name or next((p.name for p in gone if p.name), None)
        keep.cover_face_id = keep.cover_face_id or next(
            (p.cover_face_id for p in gone if p.cover_face_id), None)
        keep.updated_at = utcnow()
        s.execute(delete(Person).where(Person.id.in_(drop)))
        record(s, "merge", f"merge of {labels} into {_label(s, into)}", snap)
