"""Filling a library DB with synthetic faces fast (raw executemany), for benchmarks."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
from numpy.typing import NDArray

from core.context import AppContext

_NO_LANDMARKS = np.zeros(10, "<f4").tobytes()


def fill_library(app: AppContext, vectors: NDArray[np.float32], model_id: str,
                 weak: NDArray[np.bool_] | None = None) -> None:
    """One photo and one face per vector, embedded by `model_id`; weak faces are 20 px."""
    sizes = np.where(weak, 20.0, 120.0) if weak is not None else np.full(len(vectors), 120.0)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    with app.db.session() as s:
        conn = s.connection()
        root = conn.exec_driver_sql("SELECT id FROM library_roots LIMIT 1").scalar()
        if root is None:
            conn.exec_driver_sql("INSERT INTO library_roots (path, added_at) VALUES (?, ?)",
                                 (b"/bench", stamp))
            root = conn.exec_driver_sql("SELECT id FROM library_roots LIMIT 1").scalar()
        start = int(conn.exec_driver_sql("SELECT coalesce(max(id), 0) FROM photos").scalar())
        ids = range(start + 1, start + 1 + len(vectors))
        conn.exec_driver_sql(
            "INSERT INTO photos (id, root_id, path, size, mtime_ns, orientation, status, "
            "first_seen_at, indexed_at, captured_at, faces_model) "
            "VALUES (?, ?, ?, 1, 1, 1, 'ok', ?, ?, ?, ?)",
            [(i, root, f"/bench/{i}.jpg".encode(), stamp, stamp, stamp, model_id) for i in ids])
        conn.exec_driver_sql(
            "INSERT INTO faces (id, photo_id, x0, y0, x1, y1, landmarks, det_score, quality, "
            "size_px, detector, created_at) VALUES (?, ?, 0, 0, ?, ?, ?, 0.99, 0.8, ?, 'bench', ?)",
            [(i, i, float(sz), float(sz), _NO_LANDMARKS, float(sz), stamp)
             for i, sz in zip(ids, sizes, strict=True)])
        conn.exec_driver_sql(
            "INSERT INTO face_embeddings (face_id, model_id, vector) VALUES (?, ?, ?)",
            [(i, model_id, v.astype("<f4").tobytes()) for i, v in zip(ids, vectors, strict=True)])
