"""The queries the GUI lists people and faces with: photo counts, unassigned faces, batches."""

from __future__ import annotations

from people_support import SynthLibrary, the_person

from core.context import AppContext
from core.faces.service import get_face, get_faces
from core.people import edits
from core.people.service import (
    get_person,
    list_people,
    person_faces,
    unassigned_count,
    unassigned_faces,
)


def test_persons_count_their_photos(app: AppContext, lib: SynthLibrary) -> None:
    assert [(p.faces, p.photos) for p in list_people(app)] == [(12, 12), (10, 10), (8, 8),
                                                               (6, 6)]
    alice = the_person(app, lib.faces["alice"])
    assert get_person(app, alice).to_dict()["photos"] == 12


def test_unassigned_faces_are_nobodys_best_first(app: AppContext, lib: SynthLibrary) -> None:
    assert unassigned_count(app) == 0 and unassigned_faces(app) == []
    strangers = lib.add("eve", 2, quality=0.5) + lib.add("frank", 1, quality=0.9)
    bob_face = lib.faces["bob"][0]
    edits.unassign(app, [bob_face])  # set aside by the user: nobody's as well

    found = unassigned_faces(app)
    assert unassigned_count(app) == 4
    assert {f.id for f in found} == {*strangers, bob_face}
    assert [f.quality for f in found] == sorted((f.quality for f in found), reverse=True)
    assert all(f.person_id is None for f in found)
    assert [f.id for f in unassigned_faces(app, offset=1, limit=2)] == [f.id for f in found[1:3]]


def test_get_faces_keeps_the_order_given_and_skips_unknown_ids(app: AppContext,
                                                               lib: SynthLibrary) -> None:
    ids = lib.faces["carol"][::-1] + [999_999]
    found = get_faces(app, ids)
    assert [f.id for f in found] == ids[:-1]
    assert found[0] == get_face(app, ids[0])
    carol = the_person(app, lib.faces["carol"])
    every = [f.id for f in person_faces(app, carol)]
    assert every == get_person(app, carol, best=8).best_faces
    assert [f.id for f in person_faces(app, carol, offset=3, limit=2)] == every[3:5]
