"""Face queries for the CLI and the GUI: list faces, find similar faces, face thumbnails."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, select

from core.context import AppContext
from core.db.models import Face, FaceEmbedding, FacePerson, Photo
from core.errors import IdfsrError
from core.faces.index import open_index
from core.faces.scan import face_thumbnail_path, thumbnail_jpeg
from core.faces.store import face_embedding, unpack_landmarks
from core.fsutil import atomic_write_bytes, display_path
from core.library.imageio import load_image

_BATCH = 900  # ids per IN (...) query, under SQLite's variable limit


@dataclass(frozen=True)
class FaceInfo:
    """One face as the CLI and GUI see it (plain data, no ORM object)."""

    id: int
    photo_id: int
    photo_path: str
    box: tuple[float, float, float, float]
    landmarks: list[list[float]]
    det_score: float
    quality: float
    size_px: float
    detector: str
    person_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON output (paths printable even when not UTF-8)."""
        return {
            "id": self.id,
            "photo_id": self.photo_id,
            "photo_path": display_path(self.photo_path),
            "box": [round(v, 2) for v in self.box],
            "landmarks": [[round(x, 2), round(y, 2)] for x, y in self.landmarks],
            "det_score": round(self.det_score, 4),
            "quality": round(self.quality, 4),
            "size_px": round(self.size_px, 1),
            "detector": self.detector,
            "person_id": self.person_id,
        }


def _info(face: Face, photo_path: str, person_id: int | None = None) -> FaceInfo:
    return FaceInfo(
        id=face.id,
        photo_id=face.photo_id,
        photo_path=photo_path,
        box=(face.x0, face.y0, face.x1, face.y1),
        landmarks=unpack_landmarks(face.landmarks).tolist(),
        det_score=face.det_score,
        quality=face.quality,
        size_px=face.size_px,
        detector=face.detector,
        person_id=person_id,
    )


def list_faces(
    ctx: AppContext, *, photo: str | os.PathLike[str] | None = None, limit: int | None = None
) -> list[FaceInfo]:
    """Faces of one photo (by path) or of the whole library, in photo order."""
    with ctx.db.session() as s:
        query = (
            select(Face, Photo.path, FacePerson.person_id)
            .join(Photo, Face.photo_id == Photo.id)
            .outerjoin(FacePerson, FacePerson.face_id == Face.id)
        )
        if photo is not None:
            wanted = os.fsdecode(os.path.abspath(os.fsencode(photo)))
            photo_id = s.scalar(select(Photo.id).where(Photo.path == wanted))
            if photo_id is None:
                raise IdfsrError(f"{display_path(wanted)} is not in the library index")
            query = query.where(Face.photo_id == photo_id)
        query = query.order_by(Face.photo_id, Face.x0)
        if limit is not None:
            query = query.limit(limit)
        return [_info(face, path, person) for face, path, person in s.execute(query)]


def get_face(ctx: AppContext, face_id: int) -> FaceInfo:
    """One face by id; IdfsrError when there is none."""
    with ctx.db.session() as s:
        row = s.execute(
            select(Face, Photo.path, FacePerson.person_id)
            .join(Photo, Face.photo_id == Photo.id)
            .outerjoin(FacePerson, FacePerson.face_id == Face.id)
            .where(Face.id == face_id)
        ).first()
        if row is None:
            raise IdfsrError(f"there is no face {face_id}")
        return _info(row[0], row[1], row[2])


def get_faces(ctx: AppContext, face_ids: list[int]) -> list[FaceInfo]:
    """Several faces by id in one query, in the order given (unknown ids are left out)."""
    if not face_ids:
        return []
    found: dict[int, FaceInfo] = {}
    with ctx.db.session() as s:
        for start in range(0, len(face_ids), _BATCH):
            part = face_ids[start:start + _BATCH]
            for face, path, person in s.execute(
                select(Face, Photo.path, FacePerson.person_id)
                .join(Photo, Face.photo_id == Photo.id)
                .outerjoin(FacePerson, FacePerson.face_id == Face.id)
                .where(Face.id.in_(part))
            ):
                found[face.id] = _info(face, path, person)
    return [found[f] for f in face_ids if f in found]


def face_models(ctx: AppContext, face_id: int) -> list[str]:
    """The embedding models that have embedded this face."""
    with ctx.db.session() as s:
        return list(
            s.scalars(select(FaceEmbedding.model_id).where(FaceEmbedding.face_id == face_id))
        )


def face_count(ctx: AppContext) -> int:
    """How many faces the library holds."""
    with ctx.db.session() as s:
        return int(s.scalar(select(func.count(Face.id))) or 0)


def similar_faces(
    ctx: AppContext, face_id: int, *, k: int = 10, model_id: str | None = None
) -> list[tuple[FaceInfo, float]]:
    """The k faces most like this one (itself excluded), with cosine similarity."""
    get_face(ctx, face_id)  # a clear error for an unknown id
    models = face_models(ctx, face_id)
    if model_id is None:
        if not models:
            raise IdfsrError(f"face {face_id} has no embedding yet; run `idfsr index`")
        model_id = models[0] if len(models) == 1 else sorted(models)[-1]
    with ctx.db.session() as s:
        query = face_embedding(s, face_id, model_id)
    if query is None:
        raise IdfsrError(f"face {face_id} has no embedding by {model_id}")
    index = open_index(ctx.db, ctx.paths.cache, model_id)
    found = index.search(query, k + 1)
    out: list[tuple[FaceInfo, float]] = []
    for other, score in zip(found.ids[0], found.scores[0], strict=True):
        if other < 0 or other == face_id:
            continue
        out.append((get_face(ctx, int(other)), float(score)))
    return out[:k]


def face_thumbnail(ctx: AppContext, face_id: int) -> Path:
    """The face's aligned thumbnail file, cut again from its photo if the cache lost it."""
    path = face_thumbnail_path(ctx, face_id)
    if path.exists():
        return path
    face = get_face(ctx, face_id)
    size = ctx.settings.faces.thumbnail_size
    with load_image(
        Path(os.fsdecode(face.photo_path)), max_pixels=ctx.settings.index.max_image_pixels
    ) as img:
        rgb = np.asarray(img.convert("RGB"))
    atomic_write_bytes(path, thumbnail_jpeg(rgb, face.landmarks, size), durable=False)
    return path
