"""Reading and writing faces and embeddings in the library DB."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db.models import Face, FaceEmbedding, FaceIndexState

Vector = NDArray[np.float32]


def pack_vector(v: NDArray[np.floating]) -> bytes:
    """float32 little-endian bytes of a vector (embeddings, landmarks)."""
    return np.ascontiguousarray(v, dtype="<f4").tobytes()


def unpack_vector(data: bytes) -> Vector:
    """The inverse of pack_vector."""
    return np.frombuffer(data, dtype="<f4").astype(np.float32)


def unpack_landmarks(data: bytes) -> NDArray[np.float64]:
    """Five (x, y) landmarks of a face row."""
    return unpack_vector(data).astype(np.float64).reshape(5, 2)


def normalise(rows: NDArray[np.floating]) -> Vector:
    """Rows scaled to unit L2 norm (zero rows stay zero)."""
    rows = np.asarray(rows, dtype=np.float32)
    norms = np.linalg.norm(rows, axis=-1, keepdims=True)
    return (rows / np.maximum(norms, 1e-12)).astype(np.float32)


def generation(session: Session, model_id: str) -> int:
    """How many times this model's embeddings have changed (0: never)."""
    value = session.scalar(
        select(FaceIndexState.generation).where(FaceIndexState.model_id == model_id)
    )
    return int(value or 0)


def embedding_models(session: Session) -> list[str]:
    """The model ids that have embeddings in the DB."""
    return list(session.scalars(select(FaceEmbedding.model_id).distinct()))


@dataclass(frozen=True)
class EmbeddingMatrix:
    """All embeddings of one model: face ids and a (N, D) float32 matrix, row i for ids[i]."""

    model_id: str
    ids: NDArray[np.int64]
    vectors: Vector
    generation: int

    def __len__(self) -> int:
        return len(self.ids)


def _batches(session: Session, model_id: str, size: int) -> Iterator[list[tuple[int, bytes]]]:
    result = session.execute(
        select(FaceEmbedding.face_id, FaceEmbedding.vector)
        .where(FaceEmbedding.model_id == model_id)
        .order_by(FaceEmbedding.face_id)
        .execution_options(yield_per=size)
    )
    for part in result.partitions(size):
        yield [(int(r[0]), r[1]) for r in part]


def load_embeddings(session: Session, model_id: str) -> EmbeddingMatrix:
    """Every embedding of `model_id`, read in one consistent snapshot."""
    gen = generation(session, model_id)
    ids: list[int] = []
    chunks: list[bytes] = []
    for part in _batches(session, model_id, 10_000):
        for face_id, blob in part:
            ids.append(face_id)
            chunks.append(blob)
    if not ids:
        return EmbeddingMatrix(model_id, np.zeros(0, np.int64), np.zeros((0, 0), np.float32), gen)
    flat = np.frombuffer(b"".join(chunks), dtype="<f4")
    vectors = flat.reshape(len(ids), -1).astype(np.float32)
    return EmbeddingMatrix(model_id, np.asarray(ids, dtype=np.int64), vectors, gen)


def face_embedding(session: Session, face_id: int, model_id: str) -> Vector | None:
    """One face's embedding by one model, if it has one."""
    blob = session.scalar(
        select(FaceEmbedding.vector).where(
            FaceEmbedding.face_id == face_id, FaceEmbedding.model_id == model_id
        )
    )
    return None if blob is None else unpack_vector(blob)


def face_box(face: Face) -> tuple[float, float, float, float]:
    """A face row's box as (x0, y0, x1, y1)."""
    return (face.x0, face.y0, face.x1, face.y1)
