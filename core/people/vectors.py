"""One model's embeddings as a matrix, kept on disk and brought up to date by difference.

Reading 100k embeddings out of SQLite takes ~1 s (128-d) to ~2.5 s (512-d): more than
the whole budget of assigning a batch of new faces. So the matrix is cached next to the
FAISS index and refreshed from only the rows added since. The embeddings table bumps a
generation counter on every insert, delete and update (triggers), and a re-embedded face
is a delete plus an insert with a new rowid; so rows above the cached max rowid, plus ids
that vanished, must account for exactly the generation's change. When they do not (an
UPDATE, a reused rowid, a row added and removed in between), the cache is rebuilt from
the DB: the DB stays the source of truth.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from sqlalchemy.orm import Session

from core.db.database import Database
from core.faces.index import vectors_cache_dir
from core.faces.store import generation, normalise
from core.fsutil import atomic_write_bytes
from core.people.state import raw_rows

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelVectors:
    """Every embedding of one model: sorted face ids and their unit rows."""

    model_id: str
    ids: NDArray[np.int64]
    vectors: NDArray[np.float32]
    generation: int
    max_rowid: int

    def rows_of(self, face_ids: NDArray[np.int64]) -> NDArray[np.int64]:
        """Row index of each face id (-1 where the model has no embedding of it)."""
        face_ids = np.asarray(face_ids, np.int64)
        if not len(self.ids):
            return np.full(len(face_ids), -1, np.int64)
        pos = np.searchsorted(self.ids, face_ids).clip(0, len(self.ids) - 1)
        return np.where(self.ids[pos] == face_ids, pos, -1).astype(np.int64)


def cache_file(cache_dir: Path, model_id: str) -> Path:
    """Where a model's vector cache lives."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", model_id)[:60]
    digest = hashlib.sha256(model_id.encode()).hexdigest()[:10]
    return vectors_cache_dir(cache_dir) / f"{safe}-{digest}.npz"


def _full(s: Session, model_id: str) -> ModelVectors:
    gen = generation(s, model_id)
    rows = raw_rows(s, "SELECT rowid, face_id, vector FROM face_embeddings WHERE model_id = ? "
                       "ORDER BY face_id", (model_id,))
    if not rows:
        return ModelVectors(model_id, np.zeros(0, np.int64), np.zeros((0, 0), np.float32), gen, 0)
    ids = np.array([r[1] for r in rows], np.int64)
    flat = np.frombuffer(b"".join(r[2] for r in rows), "<f4")
    max_rowid = max(r[0] for r in rows)
    return ModelVectors(model_id, ids, normalise(flat.reshape(len(rows), -1)), gen, max_rowid)


def _read(path: Path, model_id: str) -> ModelVectors | None:
    try:
        with np.load(path) as z:
            if str(z["model_id"]) != model_id:
                return None
            return ModelVectors(model_id, z["ids"], z["vectors"], int(z["generation"]),
                                int(z["max_rowid"]))
    except (OSError, ValueError, KeyError) as exc:
        if path.exists():
            log.info("people vector cache %s unusable (%s); rebuilding", path, exc)
        return None


def save(path: Path, mv: ModelVectors) -> None:
    """Write the cache (atomically: a reader never sees half a file)."""
    buf = io.BytesIO()
    np.savez(buf, model_id=mv.model_id, ids=mv.ids, vectors=mv.vectors,
             generation=mv.generation, max_rowid=mv.max_rowid)
    try:
        atomic_write_bytes(path, buf.getvalue(), durable=False)
    except OSError as exc:  # a cache: a full disk only costs a slower next run
        log.warning("could not cache people vectors at %s: %s", path, exc)


def _apply_difference(s: Session, old: ModelVectors, gen: int) -> ModelVectors | None:
    new_rows = raw_rows(
        s, "SELECT rowid, face_id, vector FROM face_embeddings WHERE model_id = ? AND rowid > ?",
        (old.model_id, old.max_rowid))
    new_ids = np.array([r[1] for r in new_rows], np.int64)
    redone = np.intersect1d(new_ids, old.ids, assume_unique=True)
    # Every new row is one insert; a re-embedded face also had its old row deleted; what
    # the generation counts beyond that must be deletions (the common case: none, and then
    # the 100k ids need not be read at all).
    deletions = gen - old.generation - len(new_rows) - len(redone)
    if deletions < 0:
        return None
    gone = np.zeros(0, np.int64)
    if deletions:
        now_ids = np.array([r[0] for r in raw_rows(
            s, "SELECT face_id FROM face_embeddings WHERE model_id = ?", (old.model_id,))],
            np.int64)
        gone = np.setdiff1d(old.ids, now_ids, assume_unique=True)
        if len(gone) != deletions:
            return None
    keep = ~np.isin(old.ids, np.concatenate([gone, redone]))
    ids = old.ids[keep]
    vectors = old.vectors[keep]
    if len(new_rows):
        added = normalise(np.frombuffer(b"".join(r[2] for r in new_rows), "<f4")
                          .reshape(len(new_rows), -1))
        if len(ids) and added.shape[1] != vectors.shape[1]:
            return None
        vectors = np.concatenate([vectors, added]) if len(ids) else added
        ids = np.concatenate([ids, new_ids])
    order = np.argsort(ids, kind="stable")
    max_rowid = max(old.max_rowid, max((int(r[0]) for r in new_rows), default=0))
    return ModelVectors(old.model_id, ids[order], vectors[order], gen, max_rowid)


def model_vectors(db: Database, cache_dir: Path, model_id: str) -> ModelVectors:
    """The up-to-date embeddings of one model: cached, refreshed by difference, or rebuilt."""
    path = cache_file(cache_dir, model_id)
    old = _read(path, model_id)
    with db.session() as s:
        gen = generation(s, model_id)
        if old is not None and old.generation == gen:
            return old
        fresh = _apply_difference(s, old, gen) if old is not None else None
        if fresh is None:
            fresh = _full(s, model_id)
    save(path, fresh)
    return fresh
