"""The face store and the FAISS index: exact and HNSW search, caching, staleness."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import delete, insert, select

from core.context import AppContext
from core.db.models import Face, FaceEmbedding, FaceIndexState, LibraryRoot, Photo
from core.db.types import utcnow
from core.faces.index import FaceIndex, index_file, open_index
from core.faces.store import (
    EmbeddingMatrix,
    generation,
    load_embeddings,
    normalise,
    pack_vector,
    unpack_landmarks,
)

MODEL = "test-model-v1"


def clustered(n: int, dim: int, people: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Face-like vectors: tight clusters around random identity centres."""
    rng = np.random.default_rng(seed)
    centres = normalise(rng.normal(size=(people, dim)))
    labels = rng.integers(0, people, n)
    vectors = normalise(centres[labels] + rng.normal(scale=0.35 / np.sqrt(dim) * 4, size=(n, dim)))
    return vectors, labels


def add_faces(app: AppContext, vectors: np.ndarray, model: str = MODEL) -> list[int]:
    """One photo per face, rows straight into the DB; returns the face ids."""
    ids = []
    with app.db.session() as s:
        root = s.execute(
            insert(LibraryRoot).values(path=f"/lib-{len(vectors)}-{model}", added_at=utcnow())
            .returning(LibraryRoot.id)
        ).scalar_one()
        for i, v in enumerate(vectors):
            photo = s.execute(
                insert(Photo).values(
                    root_id=root, path=f"/lib/{model}/{i}.jpg", size=1, mtime_ns=1,
                    orientation=1, status="ok", first_seen_at=utcnow(), indexed_at=utcnow(),
                ).returning(Photo.id)
            ).scalar_one()
            lm = pack_vector(np.arange(10, dtype=np.float32))
            face = s.execute(
                insert(Face).values(
                    photo_id=photo, x0=0, y0=0, x1=10, y1=10, landmarks=lm, det_score=0.9,
                    quality=0.5, size_px=10, detector="t", created_at=utcnow(),
                ).returning(Face.id)
            ).scalar_one()
            s.execute(insert(FaceEmbedding).values(face_id=face, model_id=model,
                                                   vector=pack_vector(v)))
            ids.append(face)
    return ids


def test_vectors_and_landmarks_round_trip() -> None:
    lm = np.array([[1.5, 2.25], [3, 4], [5, 6], [7, 8], [9, 10.75]])
    assert np.array_equal(unpack_landmarks(pack_vector(lm)), lm)


def test_exact_index_matches_brute_force(app: AppContext) -> None:
    vectors, _ = clustered(300, 64, 20, seed=1)
    ids = add_faces(app, vectors)
    with app.db.session() as s:
        matrix = load_embeddings(s, MODEL)
    assert list(matrix.ids) == ids
    index = FaceIndex.build(matrix)
    assert index.kind == "exact" and index.size == 300
    found = index.search(vectors[:5], 5)
    brute = np.argsort(-(vectors[:5] @ vectors.T), axis=1)[:, :5]
    assert np.array_equal(found.ids, np.asarray(ids)[brute])
    assert found.scores[0, 0] == pytest.approx(1.0, abs=1e-5)


def test_large_libraries_get_hnsw_with_high_recall() -> None:
    vectors, _ = clustered(4000, 64, 200, seed=2)
    ids = np.arange(10, 4010, dtype=np.int64)
    matrix = EmbeddingMatrix(MODEL, ids, vectors, generation=3)
    index = FaceIndex.build(matrix, exact_limit=1000)
    assert index.kind == "hnsw"
    queries = vectors[:200]
    got = index.search(queries, 10).ids
    truth = ids[np.argsort(-(queries @ vectors.T), axis=1)[:, :10]]
    recall = np.mean([len(set(g) & set(t)) / 10 for g, t in zip(got, truth, strict=True)])
    assert recall >= 0.95, recall


def test_save_load_round_trip(tmp_path) -> None:
    vectors, _ = clustered(50, 32, 5, seed=3)
    index = FaceIndex.build(EmbeddingMatrix(MODEL, np.arange(50), vectors, 7))
    path = tmp_path / "x.faiss"
    index.save(path)
    again = FaceIndex.load(path)
    assert (again.model_id, again.generation, again.kind, again.size) == (MODEL, 7, "exact", 50)
    assert np.array_equal(again.search(vectors[:3], 4).ids, index.search(vectors[:3], 4).ids)
    assert np.allclose(again.vector(17), normalise(vectors[17]))


def test_generation_bumps_on_insert_and_cascaded_delete(app: AppContext) -> None:
    vectors, _ = clustered(10, 16, 2, seed=4)
    with app.db.session() as s:
        assert generation(s, MODEL) == 0
    add_faces(app, vectors)
    with app.db.session() as s:
        after_insert = generation(s, MODEL)
        assert after_insert >= 1
        # Deleting photos cascades to faces and embeddings: the index must notice.
        s.execute(delete(Photo).where(Photo.path == f"/lib/{MODEL}/3.jpg"))
    with app.db.session() as s:
        assert generation(s, MODEL) > after_insert
        assert s.scalar(select(FaceIndexState.model_id)) == MODEL
        assert len(load_embeddings(s, MODEL)) == 9


def test_open_index_caches_and_rebuilds_when_stale(app: AppContext) -> None:
    vectors, _ = clustered(40, 16, 4, seed=5)
    ids = add_faces(app, vectors)
    first = open_index(app.db, app.paths.cache, MODEL)
    path = index_file(app.paths.cache, MODEL)
    assert path.exists() and first.size == 40
    stamp = path.stat().st_mtime_ns
    again = open_index(app.db, app.paths.cache, MODEL)
    assert path.stat().st_mtime_ns == stamp and again.size == 40  # served from the cache
    with app.db.session() as s:
        s.execute(delete(Face).where(Face.id == ids[0]))
    fresh = open_index(app.db, app.paths.cache, MODEL)
    assert fresh.size == 39 and ids[0] not in set(fresh.search(vectors[0], 39).ids[0])


def test_corrupt_cache_is_rebuilt(app: AppContext) -> None:
    vectors, _ = clustered(20, 16, 2, seed=6)
    add_faces(app, vectors)
    path = index_file(app.paths.cache, MODEL)
    open_index(app.db, app.paths.cache, MODEL)
    path.write_bytes(b"\x05\x00\x00\x00garbage")
    assert open_index(app.db, app.paths.cache, MODEL).size == 20


def test_models_never_mix(app: AppContext) -> None:
    a, _ = clustered(15, 16, 3, seed=7)
    b, _ = clustered(25, 32, 3, seed=8)
    add_faces(app, a, model="model-a")
    add_faces(app, b, model="model-b")
    ia = open_index(app.db, app.paths.cache, "model-a")
    ib = open_index(app.db, app.paths.cache, "model-b")
    assert (ia.size, ia.dim, ib.size, ib.dim) == (15, 16, 25, 32)
    with pytest.raises(ValueError, match="dimensions"):
        ia.search(b[0], 3)


def test_empty_index_answers_nothing(app: AppContext) -> None:
    index = open_index(app.db, app.paths.cache, "nobody")
    result = index.search(np.ones((1, 8), np.float32), 3)
    assert (result.ids == -1).all()
