"""A library DB filled with synthetic faces of known identities, for people tests.

No images and no face backend: faces, photos and embeddings are written straight into
the DB with vectors drawn around one random centre per identity (same identity ~0.9
cosine, different ~0), so every test knows exactly who is who.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import insert

from core.context import AppContext
from core.db.models import Face, FaceEmbedding, FacePerson, LibraryRoot, Photo
from core.faces.store import normalise, pack_vector

MODEL = "test-embedder-v1"  # unknown to the params table: the fallback thresholds apply
DIM = 32


@dataclass
class SynthLibrary:
    """Faces by identity: `faces[name]` are face ids, `vectors[face_id]` their embeddings."""

    app: AppContext
    rng: np.random.Generator
    centres: dict[str, NDArray[np.float32]] = field(default_factory=dict)
    faces: dict[str, list[int]] = field(default_factory=dict)
    vectors: dict[int, NDArray[np.float32]] = field(default_factory=dict)
    _root: int | None = None
    _photos: int = 0

    def centre(self, name: str) -> NDArray[np.float32]:
        """The identity's centre, made on first use."""
        if name not in self.centres:
            self.centres[name] = normalise(self.rng.standard_normal(DIM))
        return self.centres[name]

    def add(self, name: str, n: int, *, spread: float = 0.08, size_px: float = 120.0,
            quality: float = 0.8, model_id: str = MODEL,
            vector: NDArray[np.float32] | None = None) -> list[int]:
        """n new faces of `name`, one photo each (dated a day apart)."""
        ids: list[int] = []
        with self.app.db.session() as s:
            if self._root is None:
                self._root = s.execute(insert(LibraryRoot).values(
                    path="/synthetic", added_at=datetime.now(UTC)).returning(LibraryRoot.id)
                ).scalar_one()
            for _ in range(n):
                self._photos += 1
                day = datetime(2001, 1, 1, tzinfo=UTC) + timedelta(days=self._photos)
                photo = s.execute(insert(Photo).values(
                    root_id=self._root, path=f"/synthetic/{self._photos:06d}.jpg", size=1,
                    mtime_ns=1, status="ok", captured_at=day, orientation=1,
                    first_seen_at=day, indexed_at=day, faces_model=model_id)
                    .returning(Photo.id)).scalar_one()
                v = vector if vector is not None else normalise(
                    self.centre(name) + spread * self.rng.standard_normal(DIM))
                face = s.execute(insert(Face).values(
                    photo_id=photo, x0=10, y0=10, x1=10 + size_px, y1=10 + size_px,
                    landmarks=pack_vector(np.zeros(10)), det_score=0.99, quality=quality,
                    size_px=size_px, detector="synthetic", created_at=day)
                    .returning(Face.id)).scalar_one()
                s.execute(insert(FaceEmbedding).values(face_id=face, model_id=model_id,
                                                       vector=pack_vector(v)))
                ids.append(face)
                self.vectors[face] = np.asarray(v, np.float32)
        self.faces.setdefault(name, []).extend(ids)
        return ids

    def embed_again(self, face_ids: list[int], model_id: str, *, rotate: int = 0) -> None:
        """Give faces an embedding by another model (their vectors, permuted: same geometry)."""
        with self.app.db.session() as s:
            for f in face_ids:
                v = np.roll(self.vectors[f], rotate)
                s.execute(insert(FaceEmbedding).values(face_id=f, model_id=model_id,
                                                       vector=pack_vector(v)))
            s.execute(Photo.__table__.update().values(faces_model=model_id))


def person_of(app: AppContext, face_id: int) -> int | None:
    """The face's person now (None: nobody)."""
    with app.db.session() as s:
        row = s.get(FacePerson, face_id)
        return None if row is None else row.person_id


def persons_of(app: AppContext, face_ids: list[int]) -> set[int | None]:
    """The set of persons these faces have now."""
    return {person_of(app, f) for f in face_ids}


def the_person(app: AppContext, face_ids: list[int]) -> int:
    """The one person all these faces have (asserted)."""
    found = persons_of(app, face_ids)
    assert len(found) == 1 and None not in found, found
    (pid,) = found
    assert pid is not None
    return pid
