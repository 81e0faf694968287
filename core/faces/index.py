"""The FAISS face index: one per embedding model, a cache on disk, rebuilt from the DB.

The DB is the source of truth. Each model's index file records the DB generation
of that model's embeddings (bumped by triggers on every insert, update and delete,
cascades included); an index whose generation differs is stale and is rebuilt.
Small libraries get an exact inner-product index; above `EXACT_LIMIT` faces an
HNSW graph, whose recall on face-like data is high at a fraction of the cost.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np
from numpy.typing import NDArray

from core.db.database import Database
from core.faces.store import EmbeddingMatrix, generation, load_embeddings, normalise
from core.fsutil import atomic_write_bytes

log = logging.getLogger(__name__)

EXACT_LIMIT = 50_000  # faces; exact search below, HNSW above
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 96
_FORMAT = 1


@dataclass
class SearchResult:
    """k neighbours per query: face ids (-1 where fewer exist) and cosine similarities."""

    ids: NDArray[np.int64]
    scores: NDArray[np.float32]


class FaceIndex:
    """Nearest-neighbour search over one model's face embeddings (cosine similarity)."""

    def __init__(self, index: faiss.Index, model_id: str, generation: int, kind: str) -> None:
        self._index = index
        self.model_id = model_id
        self.generation = generation
        self.kind = kind

    @property
    def size(self) -> int:
        return int(self._index.ntotal)

    @property
    def dim(self) -> int:
        return int(self._index.d)

    @classmethod
    def build(cls, matrix: EmbeddingMatrix, exact_limit: int = EXACT_LIMIT) -> FaceIndex:
        """Index every row of `matrix`, exact or HNSW by its size."""
        dim = matrix.vectors.shape[1] if len(matrix) else 1
        if len(matrix) > exact_limit:
            hnsw = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            hnsw.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
            hnsw.hnsw.efSearch = HNSW_EF_SEARCH
            inner: faiss.Index = hnsw
            kind = "hnsw"
        else:
            inner = faiss.IndexFlatIP(dim)
            kind = "exact"
        index = faiss.IndexIDMap2(inner)
        if len(matrix):
            index.add_with_ids(normalise(matrix.vectors), matrix.ids)
        return cls(index, matrix.model_id, matrix.generation, kind)

    def search(self, queries: NDArray[np.floating], k: int) -> SearchResult:
        """The k most similar faces to each query row."""
        q = normalise(np.atleast_2d(queries))
        if self.size == 0 or q.shape[1] != self.dim:
            if self.size and q.shape[1] != self.dim:
                raise ValueError(f"query has {q.shape[1]} dimensions, the index {self.dim}")
            n = len(q)
            return SearchResult(np.full((n, k), -1, np.int64), np.zeros((n, k), np.float32))
        scores, ids = self._index.search(q, k)
        return SearchResult(ids.astype(np.int64), scores.astype(np.float32))

    def vector(self, face_id: int) -> NDArray[np.float32]:
        """The stored (normalised) embedding of one face; KeyError when it is not indexed."""
        try:
            return np.asarray(self._index.reconstruct(int(face_id)), dtype=np.float32)
        except RuntimeError as exc:
            raise KeyError(face_id) from exc

    def save(self, path: Path) -> None:
        """Write the index with its header (model, generation, kind) in one atomic file."""
        meta = {
            "format": _FORMAT,
            "model_id": self.model_id,
            "generation": self.generation,
            "kind": self.kind,
            "size": self.size,
        }
        header = json.dumps(meta).encode()
        body = faiss.serialize_index(self._index).tobytes()
        atomic_write_bytes(path, len(header).to_bytes(4, "little") + header + body, durable=False)

    @classmethod
    def load(cls, path: Path) -> FaceIndex:
        """Read an index written by save()."""
        data = path.read_bytes()
        n = int.from_bytes(data[:4], "little")
        meta = json.loads(data[4 : 4 + n])
        if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
            raise ValueError("index file of another format")
        body = np.frombuffer(data, dtype=np.uint8, offset=4 + n)
        index = faiss.deserialize_index(body)
        return cls(index, meta["model_id"], int(meta["generation"]), meta["kind"])


def index_file(cache_dir: Path, model_id: str) -> Path:
    """Where a model's index is cached: a readable, filesystem-safe name plus a short hash."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", model_id)[:60]
    digest = hashlib.sha256(model_id.encode()).hexdigest()[:10]
    return cache_dir / "faiss" / f"{safe}-{digest}.faiss"


def vectors_cache_dir(cache_dir: Path) -> Path:
    """The folder of the per-model vector matrices core.people.vectors caches."""
    return cache_dir / "people"


def _cached(path: Path, model_id: str, gen: int, want_kind: str) -> FaceIndex | None:
    if not path.exists():
        return None
    try:
        index = FaceIndex.load(path)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        log.info("face index cache %s unusable (%s); rebuilding", path, exc)
        return None
    if index.model_id != model_id or index.generation != gen or index.kind != want_kind:
        return None
    return index


def open_index(
    db: Database, cache_dir: Path, model_id: str, *, exact_limit: int = EXACT_LIMIT
) -> FaceIndex:
    """The up-to-date index of one model: from the cache when fresh, else rebuilt and cached."""
    with db.session() as s:
        gen = generation(s, model_id)
        count = (
            s.connection()
            .exec_driver_sql("SELECT count(*) FROM face_embeddings WHERE model_id = ?", (model_id,))
            .scalar_one()
        )
    want_kind = "hnsw" if count > exact_limit else "exact"
    path = index_file(cache_dir, model_id)
    index = _cached(path, model_id, gen, want_kind)
    if index is not None:
        return index
    with db.session() as s:
        matrix = load_embeddings(s, model_id)
    index = FaceIndex.build(matrix, exact_limit)
    try:
        index.save(path)
    except OSError as exc:  # a cache: a full disk only costs a rebuild next time
        log.warning("could not cache the face index at %s: %s", path, exc)
    return index
