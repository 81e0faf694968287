"""The recognizer's side of restoration: find every face of one photo, embed aligned crops,
compare identities, and the library's view of a person (their centroid embedding).

Identity similarity everywhere in restoration is the cosine between unit embeddings of
one recognizer: the library's face backend, the one whose embeddings the people were
clustered with.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import TYPE_CHECKING

import cv2
import numpy as np
from numpy.typing import NDArray
from sqlalchemy import select

from core.db.models import Face, FaceEmbedding, FacePerson
from core.faces.align import canonical_template
from core.faces.store import normalise, unpack_vector
from core.faces.types import DetectedFace, FaceBackend, RGBImage

if TYPE_CHECKING:
    from core.context import AppContext

# Aligned crops are enlarged to at least this side before embedding: recognizers cut
# their own chip out of the image and want a face that is not a dozen pixels across.
EMBED_MIN_SIDE = 256
# A person's centroid uses their faces of at least this size when they have enough.
CENTROID_MIN_PX = 40.0


def detect_all(backend: FaceBackend, image: RGBImage) -> list[DetectedFace]:
    """Every face in one photo, tiny ones included, in reading order (left to right).

    Backends that have a thorough mode (the embedded one) use it: restoring one photo
    can afford seconds that indexing a library cannot.
    """
    detect = backend.detect
    try:
        thorough = "thorough" in inspect.signature(detect).parameters
    except (TypeError, ValueError):
        thorough = False
    found = detect(image, thorough=True) if thorough else detect(image)  # type: ignore[call-arg]
    return sorted(found, key=lambda f: (round(f.box[0], 1), round(f.box[1], 1)))


def embed_aligned(backend: FaceBackend, crops: Sequence[NDArray[np.uint8]]) -> NDArray[np.float32]:
    """(N, D) unit embeddings of faces already aligned on the canonical template (any size)."""
    rows: list[NDArray[np.float32]] = []
    for crop in crops:
        size = crop.shape[0]
        factor = max(1, int(np.ceil(EMBED_MIN_SIDE / size)))
        big = crop if factor == 1 else np.asarray(
            cv2.resize(crop, (size * factor, size * factor), interpolation=cv2.INTER_CUBIC),
            np.uint8)
        side = float(size * factor)
        face = DetectedFace((0.0, 0.0, side, side), canonical_template(size * factor), 1.0,
                            "aligned")
        rows.append(backend.embed(np.ascontiguousarray(big), [face])[0])
    if not rows:
        return np.zeros((0, backend.embedding_dim), np.float32)
    return normalise(np.stack(rows))


def cosine(a: NDArray[np.floating], b: NDArray[np.floating]) -> float:
    """Cosine similarity of two vectors."""
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    if na == 0 or nb == 0:
        return 0.0
    return float(np.dot(a, b) / (na * nb))


def person_centroid(
    ctx: AppContext, person_id: int, model_id: str, *, exclude_faces: Sequence[int] = ()
) -> NDArray[np.float32] | None:
    """The unit mean embedding of a person's faces by one model (None: no such faces).

    Faces of CENTROID_MIN_PX or more are used when there are at least two: tiny faces
    carry little identity and would pull the centroid toward everyone.
    """
    with ctx.db.session() as s:
        rows = s.execute(
            select(FaceEmbedding.vector, Face.size_px, Face.id)
            .join(FacePerson, FacePerson.face_id == FaceEmbedding.face_id)
            .join(Face, Face.id == FaceEmbedding.face_id)
            .where(FacePerson.person_id == person_id, FaceEmbedding.model_id == model_id)
        ).all()
    skip = set(exclude_faces)
    rows = [r for r in rows if r[2] not in skip]
    if not rows:
        return None
    big = [r for r in rows if r[1] >= CENTROID_MIN_PX]
    chosen = big if len(big) >= 2 else rows
    mean = normalise(np.stack([unpack_vector(r[0]) for r in chosen])).mean(axis=0)
    return normalise(mean)
