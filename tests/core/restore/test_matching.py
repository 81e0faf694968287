"""Matching faces to persons: calibrated confidence, weak evidence, one person per photo,
the photo's own faces never counting. Synthetic libraries: no images needed."""

from __future__ import annotations

import numpy as np
from people_support import SynthLibrary
from sqlalchemy import select

from core.context import AppContext
from core.db.models import Face
from core.faces.store import normalise
from core.people.recluster import recluster
from core.restore.matching import (
    calibration_for,
    match_faces,
    person_scores,
    user_match,
)

DLIB = "dlib-resnet-v1"


def _library(app: AppContext, model_id: str, spread: float = 0.08) -> SynthLibrary:
    lib = SynthLibrary(app, np.random.default_rng(7))
    for name, n in (("ann", 6), ("bob", 6), ("cid", 5)):
        lib.add(name, n, model_id=model_id, spread=spread)
    recluster(app, model_id)
    return lib


def test_person_scores_average_the_closest_faces() -> None:
    sims = np.array([0.9, 0.5, 0.8, 0.7, 0.95])
    owners = np.array([1, 1, 2, 1, 2])
    assert person_scores(sims, owners, top=2) == {2: (0.95 + 0.8) / 2, 1: (0.9 + 0.7) / 2}


def test_calibration_is_measured_for_the_embedded_recognizers_only() -> None:
    assert calibration_for("insightface-buffalo_l") is None
    mobile = calibration_for("mobileface-v1")
    assert mobile is not None and mobile is not calibration_for(DLIB)
    assert mobile.confidence(0.80, 0.30, 120) > 0.95  # MobileFace's scores sit lower
    assert mobile.confidence(0.30, 0.29, 14) < 0.5  # a tiny face at an impostor's score
    assert mobile.confidence(0.50, 0.30, 24) < mobile.confidence(0.60, 0.30, 24)
    cal = calibration_for(DLIB)
    assert cal is not None
    # A big face close to one person is sure; a tiny face at the impostors' usual score
    # (tiny faces look alike to the recognizer) is not.
    assert cal.confidence(0.97, 0.88, 120) > 0.95
    assert cal.confidence(0.90, 0.89, 14) < 0.5
    # A close runner-up makes any face doubtful.
    assert cal.confidence(0.95, 0.945, 120) < cal.confidence(0.95, 0.85, 120)
    # Monotone in the score.
    assert cal.confidence(0.90, 0.85, 24) < cal.confidence(0.93, 0.85, 24)


def test_faces_match_their_person_and_strangers_nobody(app: AppContext) -> None:
    lib = _library(app, "test-embedder-v1")
    queries = normalise(np.stack([lib.centre("ann"), lib.centre("bob"),
                                  np.random.default_rng(1).standard_normal(32)]))
    found = match_faces(app, "test-embedder-v1", queries, [120.0, 16.0, 120.0])
    ann, bob, stranger = found
    assert ann.person_id is not None and ann.confidence > 0.7 and ann.source == "auto"
    assert not ann.calibrated and not ann.weak_evidence
    assert bob.weak_evidence  # a 16 px face: said so, whatever the outcome
    assert stranger.person_id is None and stranger.source == "none"
    assert stranger.reason and stranger.candidates
    assert bob.person_id != ann.person_id


def test_one_person_once_per_photo(app: AppContext) -> None:
    lib = _library(app, "test-embedder-v1")
    twice = normalise(np.stack([lib.centre("ann"), lib.centre("ann") * 0.9
                                + 0.1 * lib.centre("bob")]))
    first, second = match_faces(app, "test-embedder-v1", twice, [120.0, 120.0])
    assert first.person_id is not None
    assert second.person_id != first.person_id
    assert second.person_id is None or second.confidence < first.confidence


def test_the_photo_itself_is_no_evidence(app: AppContext) -> None:
    lib = _library(app, DLIB, spread=0.05)
    face = lib.faces["ann"][0]
    query = lib.vectors[face][None]
    with app.db.session() as s:
        photo = s.scalar(select(Face.photo_id).where(Face.id == face))
    (with_self,) = match_faces(app, DLIB, query, [20.0])
    (without,) = match_faces(app, DLIB, query, [20.0], exclude_photos=[photo])
    assert with_self.calibrated and with_self.score > without.score


def test_user_choice_wins(app: AppContext) -> None:
    lib = _library(app, "test-embedder-v1")
    (auto,) = match_faces(app, "test-embedder-v1", lib.centre("ann")[None], [120.0])
    bob = next(c.person_id for c in auto.candidates if c.person_id != auto.person_id)
    chosen = user_match(app, bob, 15.0, "test-embedder-v1", auto)
    assert chosen.person_id == bob and chosen.source == "user" and chosen.weak_evidence
    nobody = user_match(app, None, 15.0, "test-embedder-v1", auto)
    assert nobody.person_id is None and nobody.source == "user"


def test_empty_library(app: AppContext) -> None:
    (m,) = match_faces(app, DLIB, normalise(np.ones((1, 8))), [14.0])
    assert m.person_id is None and "no persons" in m.reason
