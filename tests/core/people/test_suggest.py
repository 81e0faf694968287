"""Suggestions: likely faces for a person, likely merges; the user's "no" is respected."""

from __future__ import annotations

import numpy as np
from people_support import DIM, SynthLibrary, person_of, the_person

from core.context import AppContext
from core.faces.store import normalise
from core.people import edits
from core.people.assign import assign_new_faces
from core.people.params import params_for
from core.people.recluster import recluster
from core.people.suggest import suggest_faces, suggest_merges

P = params_for("test-embedder-v1")


def _toward(lib: SynthLibrary, name: str, cos: float) -> np.ndarray:
    """A unit vector at about this cosine from the identity's centre."""
    c = lib.centre(name)
    r = lib.rng.standard_normal(DIM)
    r -= (r @ c) * c
    r /= np.linalg.norm(r)
    return normalise(cos * c + np.sqrt(1 - cos**2) * r)


def test_a_doubtful_face_is_suggested_until_rejected(app: AppContext, lib: SynthLibrary) -> None:
    alice = the_person(app, lib.faces["alice"])
    (doubtful,) = lib.add("x", 1, vector=_toward(lib, "alice", 0.5))
    assign_new_faces(app)
    assert person_of(app, doubtful) is None  # not close enough to be assigned
    found = suggest_faces(app, alice)
    assert found and found[0][0].id == doubtful
    assert P.suggest_sim <= found[0][1] < P.link_sim
    edits.reject(app, [doubtful], alice)
    assert doubtful not in {f.id for f, _ in suggest_faces(app, alice)}


def test_faces_set_aside_are_not_suggested(app: AppContext, lib: SynthLibrary) -> None:
    bob = the_person(app, lib.faces["bob"])
    face = lib.faces["bob"][0]
    edits.unassign(app, [face])
    assert face not in {f.id for f, _ in suggest_faces(app, bob)}


def test_one_person_seen_in_two_looks_is_suggested_for_merging(app: AppContext) -> None:
    lib = SynthLibrary(app, np.random.default_rng(7))
    # Two looks of one person: their centres at cosine ~0.7, each face ~0.9 from its look.
    a = _toward(lib, "eve", 0.92)
    b = normalise(2 * (lib.centre("eve") @ a) * lib.centre("eve") - a)  # mirrored look
    for look in (a, b):
        for _ in range(6):
            lib.add("eve", 1, vector=normalise(look + 0.05 * lib.rng.standard_normal(DIM)))
    lib.add("zed", 6)
    recluster(app)
    first, second = the_person(app, lib.faces["eve"][:6]), the_person(app, lib.faces["eve"][6:])
    assert first != second  # the clustering alone keeps the looks apart
    pairs = suggest_merges(app)
    assert [(p.person_a, p.person_b) for p in pairs] == [tuple(sorted((first, second)))]
    # Told apart by the user (a face of one is "not" the other): no longer suggested.
    edits.reject(app, [lib.faces["eve"][0]], second)
    assert suggest_merges(app) == []
