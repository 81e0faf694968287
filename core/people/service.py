"""People queries for the CLI and the GUI: persons with counts, best faces and dates."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, case, exists, func, or_, select
from sqlalchemy.orm import Session

from core.context import AppContext
from core.db.models import Face, FacePerson, FaceSource, Person, Photo
from core.errors import IdfsrError
from core.faces.service import FaceInfo, get_faces
from core.library.service import PhotoInfo
from core.library.service import _photo_info as photo_info


@dataclass(frozen=True)
class PersonInfo:
    """One person as the CLI and GUI see it (plain data, no ORM object)."""

    id: int
    name: str | None
    hidden: bool
    faces: int  # faces assigned, the user's and the clustering's
    confirmed: int  # of which the user placed or confirmed
    cover_face_id: int | None  # the user's pick while it is still theirs, else the best face
    best_faces: list[int] = field(default_factory=list)  # by quality, best first
    first_date: datetime | None = None  # of the photos they are in (capture time)
    last_date: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    photos: int = 0  # distinct photos the faces are in

    @property
    def label(self) -> str:
        """The name, or `#id` for an unnamed person."""
        return self.name or f"#{self.id}"

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON output."""
        def iso(d: datetime | None) -> str | None:
            return d.isoformat() if d else None
        return {"id": self.id, "name": self.name, "hidden": self.hidden, "faces": self.faces,
                "confirmed": self.confirmed, "photos": self.photos,
                "cover_face_id": self.cover_face_id,
                "best_faces": self.best_faces, "first_date": iso(self.first_date),
                "last_date": iso(self.last_date), "created_at": iso(self.created_at),
                "updated_at": iso(self.updated_at)}


def resolve_person(ctx: AppContext, ref: str | int) -> int:
    """A person's id from an id or a name (case-insensitive); IdfsrError when unknown."""
    text = str(ref).strip().lstrip("#")
    with ctx.db.session() as s:
        if text.isdigit():
            if s.get(Person, int(text)) is None:
                raise IdfsrError(f"there is no person {text}")
            return int(text)
        ids = list(s.scalars(select(Person.id).where(func.lower(Person.name) == text.lower())))
    if not ids:
        raise IdfsrError(f"there is no person named {text!r}")
    if len(ids) > 1:
        raise IdfsrError(f"{len(ids)} persons are named {text!r}; use an id: "
                         + ", ".join(f"#{i}" for i in ids))
    return ids[0]


def _best(s: Session, person_ids: list[int] | None, n: int,
          skip: int = 0) -> dict[int, list[int]]:
    rank = func.row_number().over(
        partition_by=FacePerson.person_id,
        order_by=(Face.quality.desc(), Face.size_px.desc(), Face.id),
    ).label("rank")
    inner = (select(FacePerson.person_id, Face.id.label("face_id"), rank)
             .join(Face, Face.id == FacePerson.face_id)
             .where(FacePerson.person_id.is_not(None)))
    if person_ids is not None:
        inner = inner.where(FacePerson.person_id.in_(person_ids))
    sub = inner.subquery()
    out: dict[int, list[int]] = {}
    for pid, fid in s.execute(select(sub.c.person_id, sub.c.face_id)
                              .where(sub.c.rank > skip, sub.c.rank <= skip + n)
                              .order_by(sub.c.person_id, sub.c.rank)):
        out.setdefault(pid, []).append(fid)
    return out


def _people(s: Session, person_ids: list[int] | None, include_hidden: bool,
            best: int) -> list[PersonInfo]:
    user = case((FacePerson.source != FaceSource.AUTO.value, 1), else_=0)
    stats_q = (select(FacePerson.person_id, func.count(), func.sum(user),
                      func.min(Photo.captured_at), func.max(Photo.captured_at),
                      func.count(func.distinct(Face.photo_id)))
               .join(Face, Face.id == FacePerson.face_id)
               .join(Photo, Photo.id == Face.photo_id)
               .where(FacePerson.person_id.is_not(None))
               .group_by(FacePerson.person_id))
    people_q = select(Person)
    if person_ids is not None:
        stats_q = stats_q.where(FacePerson.person_id.in_(person_ids))
        people_q = people_q.where(Person.id.in_(person_ids))
    if not include_hidden:
        people_q = people_q.where(Person.hidden.is_(False))
    stats = {r[0]: r[1:] for r in s.execute(stats_q)}
    bests = _best(s, person_ids, max(best, 1))
    out = []
    for p in s.scalars(people_q):
        count, confirmed, first, last, photos = stats.get(p.id, (0, 0, None, None, 0))
        faces = bests.get(p.id, [])
        mine = p.cover_face_id is not None and s.scalar(
            select(FacePerson.person_id).where(FacePerson.face_id == p.cover_face_id)) == p.id
        cover = p.cover_face_id if mine else (faces[0] if faces else None)
        out.append(PersonInfo(p.id, p.name, p.hidden, int(count), int(confirmed or 0), cover,
                              faces[:best], first, last, p.created_at, p.updated_at,
                              photos=int(photos)))
    out.sort(key=lambda i: (-i.faces, i.id))
    return out


def list_people(ctx: AppContext, *, include_hidden: bool = False,
                best: int = 4) -> list[PersonInfo]:
    """Every person (hidden ones only when asked), most faces first."""
    with ctx.db.session() as s:
        return _people(s, None, include_hidden, best)


def get_person(ctx: AppContext, person_id: int, *, best: int = 8) -> PersonInfo:
    """One person, hidden or not; IdfsrError when there is none."""
    with ctx.db.session() as s:
        found = _people(s, [person_id], True, best)
    if not found:
        raise IdfsrError(f"there is no person {person_id}")
    return found[0]


def person_faces(ctx: AppContext, person_id: int, *, limit: int | None = None,
                 offset: int = 0) -> list[FaceInfo]:
    """A person's faces, best quality first (from `offset`, at most `limit`)."""
    with ctx.db.session() as s:
        ids = _best(s, [person_id], limit or 1_000_000_000, offset).get(person_id, [])
    return get_faces(ctx, ids)


def best_faces(ctx: AppContext, person_id: int, n: int = 16) -> list[FaceInfo]:
    """A person's n best faces by quality: the photos identity fitting learns from."""
    return person_faces(ctx, person_id, limit=n)


def _unassigned(query: Select[Any]) -> Select[Any]:
    """Faces of nobody, except the strangers the user chose not to see."""
    return (query.outerjoin(FacePerson, FacePerson.face_id == Face.id)
            .where(FacePerson.person_id.is_(None),
                   or_(FacePerson.source.is_(None),
                       FacePerson.source != FaceSource.IGNORED.value)))


def unassigned_faces(ctx: AppContext, *, offset: int = 0,
                     limit: int | None = None) -> list[FaceInfo]:
    """Faces that belong to nobody (not yet placed, or set aside by the user), best first."""
    query = _unassigned(select(Face.id)).order_by(Face.quality.desc(), Face.size_px.desc(),
                                                  Face.id).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    with ctx.db.session() as s:
        ids = list(s.scalars(query))
    return get_faces(ctx, ids)


def unassigned_count(ctx: AppContext) -> int:
    """How many faces belong to nobody."""
    with ctx.db.session() as s:
        return int(s.scalar(_unassigned(select(func.count(Face.id)))) or 0)


def person_photos(ctx: AppContext, person_id: int, *, offset: int = 0,
                  limit: int | None = None) -> list[PhotoInfo]:
    """The photos a person is in, newest first (undated ones last, then by path)."""
    query = (select(Photo).where(exists().where(
        Face.photo_id == Photo.id, FacePerson.face_id == Face.id,
        FacePerson.person_id == person_id))
        .order_by(Photo.captured_at.is_(None), Photo.captured_at.desc(), Photo.path)
        .offset(offset))
    if limit is not None:
        query = query.limit(limit)
    with ctx.db.session() as s:
        return [photo_info(p) for p in s.scalars(query)]
