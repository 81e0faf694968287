"""New faces join persons without a re-cluster; the embedding cache follows the DB."""

from __future__ import annotations

import numpy as np
import pytest
from people_support import MODEL, SynthLibrary, person_of, persons_of, the_person
from sqlalchemy import delete, select

from core.context import AppContext
from core.db.models import Face, FaceEmbedding, FacePerson
from core.errors import JobCancelled
from core.faces.service import get_face, list_faces
from core.faces.store import pack_vector
from core.jobs import CancelToken
from core.people.assign import assign_new_faces
from core.people.recluster import recluster
from core.people.vectors import model_vectors


def test_new_faces_join_their_person(app: AppContext, lib: SynthLibrary) -> None:
    bob = the_person(app, lib.faces["bob"])
    new = lib.add("bob", 3)
    report = assign_new_faces(app)
    assert (report.faces, report.assigned, report.new_persons) == (3, 3, 0)
    assert persons_of(app, new) == {bob}
    assert assign_new_faces(app).faces == 0  # nothing new the second time


def test_a_stranger_is_considered_but_left_alone(app: AppContext, lib: SynthLibrary) -> None:
    (face,) = lib.add("stranger", 1)
    assign_new_faces(app)
    with app.db.session() as s:
        row = s.get(FacePerson, face)
        assert row is not None and row.person_id is None and row.model_id == MODEL


def test_a_newcomer_seen_often_becomes_a_person(app: AppContext, lib: SynthLibrary) -> None:
    new = lib.add("erin", 5)
    report = assign_new_faces(app)
    assert report.new_persons == 1
    erin = the_person(app, new)
    assert erin not in {the_person(app, lib.faces[n]) for n in ("alice", "bob", "carol", "dave")}


def test_first_run_clusters_the_whole_library(app: AppContext) -> None:
    lib = SynthLibrary(app, np.random.default_rng(1))
    lib.add("a", 6)
    lib.add("b", 5)
    report = assign_new_faces(app)
    assert report.new_persons == 2 and report.assigned == 11


def test_face_listing_shows_the_person(app: AppContext, lib: SynthLibrary) -> None:
    dave = the_person(app, lib.faces["dave"])
    assert get_face(app, lib.faces["dave"][0]).person_id == dave
    listed = {f.id: f.person_id for f in list_faces(app)}
    assert listed[lib.faces["dave"][1]] == dave


def test_vector_cache_follows_inserts_deletes_and_reembeddings(
    app: AppContext, lib: SynthLibrary
) -> None:
    def fresh_equals_cached() -> None:
        cached = model_vectors(app.db, app.paths.cache, MODEL)
        with app.db.session() as s:
            rows = s.execute(select(FaceEmbedding.face_id, FaceEmbedding.vector)
                             .where(FaceEmbedding.model_id == MODEL)
                             .order_by(FaceEmbedding.face_id)).all()
        assert cached.ids.tolist() == [r[0] for r in rows]
        want = np.stack([np.frombuffer(r[1], "<f4") for r in rows])
        want /= np.linalg.norm(want, axis=1, keepdims=True)
        assert np.allclose(cached.vectors, want, atol=1e-6)

    fresh_equals_cached()
    lib.add("bob", 2)
    fresh_equals_cached()
    victim, redone = lib.faces["alice"][0], lib.faces["alice"][1]
    with app.db.session() as s:
        s.execute(delete(Face).where(Face.id == victim))
        # The face pass re-embeds a face as a delete plus an insert.
        s.execute(delete(FaceEmbedding).where(FaceEmbedding.face_id == redone))
        s.add(FaceEmbedding(face_id=redone, model_id=MODEL,
                            vector=pack_vector(lib.vectors[lib.faces["bob"][0]])))
    fresh_equals_cached()
    with app.db.session() as s:  # an UPDATE cannot be told from the rowids: full reload
        s.execute(FaceEmbedding.__table__.update()
                  .where(FaceEmbedding.face_id == redone)
                  .values(vector=pack_vector(lib.vectors[lib.faces["dave"][0]])))
    fresh_equals_cached()
    assert person_of(app, victim) is None


def test_a_cancelled_recluster_changes_nothing(app: AppContext, lib: SynthLibrary) -> None:
    before = {f: person_of(app, f) for fs in lib.faces.values() for f in fs}
    with app.db.session() as s:  # make the re-cluster want to write: forget every row
        s.execute(delete(FacePerson))
    token = CancelToken()
    token.cancel()
    with pytest.raises(JobCancelled):
        recluster(app, progress=lambda p: None, cancel=token)
    assert all(person_of(app, f) is None for f in before)
