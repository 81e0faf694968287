"""Browsing the library: photos narrowed by folder, capture date, faces, person and search
words, in path or timeline order; the folders to choose from; the faces of one photo with who
they are (for a photo viewer)."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, time, timedelta
from enum import Enum
from typing import Any

from sqlalchemy import Select, exists, func, select

from core.context import AppContext
from core.db.models import Face, FacePerson, LibraryRoot, Person, Photo
from core.library.search import SearchTerm, term_condition, under_folder, with_person
from core.library.service import PhotoInfo


class PhotoOrder(Enum):
    """How photos are listed: by path, or by capture time (undated photos last either way)."""

    PATH = "path"
    NEWEST = "newest"
    OLDEST = "oldest"


@dataclass(frozen=True)
class PhotoFilter:
    """Which photos to show; every field left at None lets all photos through."""

    status: str | None = None  # "ok", "error" or "missing"
    folder: str | None = None  # photos anywhere under this folder
    date_from: date | None = None  # captured on or after this day (undated photos drop out)
    date_to: date | None = None  # captured on or before this day
    has_faces: bool | None = None  # True: with faces; False: without
    person_id: int | None = None  # with a face of this person
    search: tuple[SearchTerm, ...] = ()  # matching every term (core.library.search)

    @property
    def narrows(self) -> bool:
        """Whether anything is filtered out at all."""
        return self != PhotoFilter()


def timeline_month(photo: PhotoInfo) -> tuple[int, int] | None:
    """The (year, month) a photo sits under in the timeline (UTC, as the filters); None for
    a photo without a capture date."""
    if photo.captured_at is None:
        return None
    when = photo.captured_at.astimezone(UTC)
    return when.year, when.month


_INFO_COLUMNS = [getattr(Photo, f.name) for f in fields(PhotoInfo)]


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _where(q: Select[Any], f: PhotoFilter) -> Select[Any]:
    if f.status:
        q = q.where(Photo.status == f.status)
    if f.folder:
        q = q.where(under_folder(f.folder))
    if f.date_from is not None:
        q = q.where(Photo.captured_at >= _day_start(f.date_from))
    if f.date_to is not None:
        q = q.where(Photo.captured_at < _day_start(f.date_to + timedelta(days=1)))
    if f.has_faces is not None:
        any_face = exists().where(Face.photo_id == Photo.id)
        q = q.where(any_face if f.has_faces else ~any_face)
    if f.person_id is not None:
        q = q.where(with_person([f.person_id]))
    for term in f.search:
        q = q.where(term_condition(term))
    return q


def _ordered(q: Select[Any], order: PhotoOrder) -> Select[Any]:
    if order is PhotoOrder.PATH:
        return q.order_by(Photo.path)
    # Undated last, spelled as the timeline indexes are (ix_photos_timeline_*): SQLite walks
    # one of them instead of sorting the whole library for each window of the grid.
    when = Photo.captured_at.desc() if order is PhotoOrder.NEWEST else Photo.captured_at.asc()
    return q.order_by(when.nulls_last(), Photo.path)


def photos_query(where: PhotoFilter, order: PhotoOrder = PhotoOrder.PATH, *, offset: int = 0,
                 limit: int | None = None) -> Select[Any]:
    """The query of `filtered_photos`: PhotoInfo's columns, filtered, ordered, windowed."""
    # The columns PhotoInfo holds, not ORM objects: a grid re-reads thousands at a time,
    # about four times faster so.
    q = _ordered(_where(select(*_INFO_COLUMNS), where), order).offset(offset)
    return q.limit(limit) if limit is not None else q


def filtered_photos(ctx: AppContext, where: PhotoFilter, *, offset: int = 0,
                    limit: int | None = None,
                    order: PhotoOrder = PhotoOrder.PATH) -> list[PhotoInfo]:
    """The photos the filter lets through, in `order`, in a window."""
    q = photos_query(where, order, offset=offset, limit=limit)
    with ctx.db.session() as s:
        return [PhotoInfo(*row) for row in s.execute(q)]


def newest_photo_id(ctx: AppContext) -> int:
    """The id of the photo added last (0 for an empty library); ids only grow."""
    with ctx.db.session() as s:
        return int(s.scalar(select(func.max(Photo.id))) or 0)


def new_photos(ctx: AppContext, where: PhotoFilter, after_id: int,
               order: PhotoOrder = PhotoOrder.PATH) -> tuple[list[PhotoInfo], int]:
    """The photos added since the library's newest photo was `after_id` (those the filter
    lets through, in `order`), and the newest photo's id now, for the next call."""
    newest = newest_photo_id(ctx)
    if newest <= after_id:
        return [], after_id
    q = _where(select(*_INFO_COLUMNS), where).where(Photo.id > after_id, Photo.id <= newest)
    with ctx.db.session() as s:
        return [PhotoInfo(*row) for row in s.execute(_ordered(q, order))], newest


def order_key(photo: PhotoInfo, order: PhotoOrder) -> tuple[Any, ...]:
    """A key that sorts photos as `filtered_photos` lists them in `order`."""
    path = os.fsencode(photo.path)  # the DB compares the path's bytes
    if order is PhotoOrder.PATH:
        return (path,)
    when = photo.captured_at.timestamp() if photo.captured_at is not None else 0.0
    return (photo.captured_at is None, -when if order is PhotoOrder.NEWEST else when, path)


def count_photos(ctx: AppContext, where: PhotoFilter) -> int:
    """How many photos the filter lets through."""
    with ctx.db.session() as s:
        return int(s.scalar(_where(select(func.count(Photo.id)), where)) or 0)


def photo_folders(ctx: AppContext) -> list[str]:
    """The library's folders that hold photos, each root first and its subfolders after it."""
    with ctx.db.session() as s:
        roots = list(s.scalars(select(LibraryRoot.path).order_by(LibraryRoot.path)))
        parents = {os.path.dirname(p) for p in s.scalars(select(Photo.path))}
    folders = set(roots)
    for parent in parents:
        for root in roots:
            if parent == root or parent.startswith(root.rstrip(os.sep) + os.sep):
                folders.add(parent)
    return sorted(folders, key=lambda p: p.split(os.sep))


@dataclass(frozen=True)
class PhotoFace:
    """One face of a photo, where it is (upright photo pixels) and whose it is."""

    face_id: int
    box: tuple[float, float, float, float]
    person_id: int | None
    name: str | None  # None for an unnamed person or nobody

    @property
    def label(self) -> str:
        """The name, '#id' for an unnamed person, '' for nobody."""
        if self.person_id is None:
            return ""
        return self.name or f"#{self.person_id}"


def photo_faces(ctx: AppContext, photo_id: int) -> list[PhotoFace]:
    """The faces of one photo, left to right, with their persons (hidden persons too)."""
    with ctx.db.session() as s:
        rows = s.execute(
            select(Face.id, Face.x0, Face.y0, Face.x1, Face.y1, FacePerson.person_id,
                   Person.name)
            .outerjoin(FacePerson, FacePerson.face_id == Face.id)
            .outerjoin(Person, Person.id == FacePerson.person_id)
            .where(Face.photo_id == photo_id)
            .order_by(Face.x0, Face.id)
        ).all()
    return [PhotoFace(r[0], (r[1], r[2], r[3], r[4]), r[5], r[6]) for r in rows]
