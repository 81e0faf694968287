"""Every decision of the user's survives a full re-cluster; "not this person" always holds."""

from __future__ import annotations

import numpy as np
import pytest
from people_support import SynthLibrary, person_of, persons_of, the_person

from core.context import AppContext
from core.db.models import FacePerson, FaceSource, Person
from core.errors import IdfsrError
from core.people import edits
from core.people.assign import assign_new_faces
from core.people.history import history, undo
from core.people.recluster import recluster
from core.people.service import get_person, list_people


def test_first_clustering_finds_the_four_people(app: AppContext, lib: SynthLibrary) -> None:
    ids = {name: the_person(app, faces) for name, faces in lib.faces.items()}
    assert len(set(ids.values())) == 4
    assert [p.faces for p in list_people(app)] == [12, 10, 8, 6]


def test_recluster_of_a_settled_library_changes_nothing(app: AppContext,
                                                         lib: SynthLibrary) -> None:
    before = {f: person_of(app, f) for fs in lib.faces.values() for f in fs}
    report = recluster(app)
    assert report.changed == 0 and report.new_persons == 0
    assert before == {f: person_of(app, f) for f in before}


def test_name_survives(app: AppContext, lib: SynthLibrary) -> None:
    alice = the_person(app, lib.faces["alice"])
    edits.rename(app, alice, "Alice")
    recluster(app)
    assert the_person(app, lib.faces["alice"]) == alice
    assert get_person(app, alice).name == "Alice"


def test_merge_survives(app: AppContext, lib: SynthLibrary) -> None:
    """The user says bob and carol are one person: re-clusters keep them one."""
    bob, carol = the_person(app, lib.faces["bob"]), the_person(app, lib.faces["carol"])
    edits.rename(app, carol, "Carol")
    edits.merge(app, bob, [carol])
    for _ in range(2):
        recluster(app)
        assert the_person(app, lib.faces["bob"] + lib.faces["carol"]) == bob
    assert get_person(app, bob).name == "Carol"  # the merged-in name is kept
    with app.db.session() as s:
        assert s.get(Person, carol) is None
    assert len(list_people(app)) == 3


def test_split_survives_and_the_split_faces_never_go_back(app: AppContext,
                                                           lib: SynthLibrary) -> None:
    alice = the_person(app, lib.faces["alice"])
    chosen = lib.faces["alice"][:4]
    new = edits.split(app, alice, chosen, name="Alice as a child")
    recluster(app)
    assert the_person(app, chosen) == new
    assert the_person(app, lib.faces["alice"][4:]) == alice
    assert get_person(app, new).name == "Alice as a child"


def test_move_survives(app: AppContext, lib: SynthLibrary) -> None:
    """A face the user moves (even against the embeddings) stays where it was put."""
    bob = the_person(app, lib.faces["bob"])
    face = lib.faces["alice"][0]
    edits.move(app, [face], bob)
    recluster(app)
    assert person_of(app, face) == bob
    assert the_person(app, lib.faces["alice"][1:]) != bob


def test_not_this_person_holds_through_recluster_and_new_faces(
    app: AppContext, lib: SynthLibrary
) -> None:
    alice = the_person(app, lib.faces["alice"])
    face = lib.faces["alice"][0]
    edits.reject(app, [face], alice)
    assert person_of(app, face) is None
    for _ in range(2):
        recluster(app)
        assert person_of(app, face) != alice
    # A re-embedding of the same photo (a new face of the same look) may join alice; the
    # rejected face itself never does, whatever the incremental pass sees.
    lib.add("alice", 3)
    assign_new_faces(app)
    assert person_of(app, face) != alice
    assert the_person(app, lib.faces["alice"][-3:]) == alice


def test_confirm_survives_even_against_the_clustering(app: AppContext,
                                                       lib: SynthLibrary) -> None:
    """A confirmed face stays even when the clustering would put it elsewhere."""
    dave = the_person(app, lib.faces["dave"])
    face = lib.faces["carol"][0]
    edits.confirm(app, [face], dave)
    recluster(app)
    assert person_of(app, face) == dave
    with app.db.session() as s:
        row = s.get(FacePerson, face)
        assert row is not None and row.source == FaceSource.CONFIRMED


def test_hide_and_cover_survive(app: AppContext, lib: SynthLibrary) -> None:
    carol = the_person(app, lib.faces["carol"])
    cover = lib.faces["carol"][5]
    edits.hide(app, carol)
    edits.set_cover(app, carol, cover)
    recluster(app)
    info = get_person(app, carol)
    assert info.hidden and info.cover_face_id == cover
    assert carol not in {p.id for p in list_people(app)}
    assert carol in {p.id for p in list_people(app, include_hidden=True)}


def test_unassign_survives(app: AppContext, lib: SynthLibrary) -> None:
    face = lib.faces["bob"][2]
    edits.unassign(app, [face])
    recluster(app)
    assert person_of(app, face) is None


def test_decisions_survive_a_change_of_recognizer(app: AppContext, lib: SynthLibrary) -> None:
    """Persons are model-independent: another model's clustering keeps ids and decisions."""
    alice, bob = the_person(app, lib.faces["alice"]), the_person(app, lib.faces["bob"])
    edits.rename(app, alice, "Alice")
    moved = lib.faces["carol"][0]
    edits.move(app, [moved], bob)
    every = [f for fs in lib.faces.values() for f in fs]
    lib.embed_again(every, "test-embedder-v2", rotate=5)
    report = recluster(app)
    assert report.model_id == "test-embedder-v2"
    assert the_person(app, lib.faces["alice"]) == alice
    assert person_of(app, moved) == bob
    assert get_person(app, alice).name == "Alice"


def test_undo_restores_each_edit(app: AppContext, lib: SynthLibrary) -> None:
    bob, carol = the_person(app, lib.faces["bob"]), the_person(app, lib.faces["carol"])
    snapshot = {f: person_of(app, f) for fs in lib.faces.values() for f in fs}
    edits.rename(app, bob, "Bob")
    edits.merge(app, bob, [carol])
    new = edits.split(app, bob, lib.faces["bob"][:2])
    edits.reject(app, [lib.faces["alice"][0]])
    recluster(app)  # undo still lands after a re-cluster
    assert undo(app, steps=4) == [e.summary for e in history(app)[:4]]
    assert {f: person_of(app, f) for f in snapshot} == snapshot
    assert get_person(app, bob).name is None and get_person(app, carol).faces == 8
    with app.db.session() as s:
        assert s.get(Person, new) is None
    with pytest.raises(IdfsrError, match="no people edit"):
        undo(app, steps=1)


def test_bad_edits_are_refused_with_a_reason(app: AppContext, lib: SynthLibrary) -> None:
    alice, bob = the_person(app, lib.faces["alice"]), the_person(app, lib.faces["bob"])
    with pytest.raises(IdfsrError, match="not one of"):
        edits.split(app, alice, lib.faces["bob"][:1])
    with pytest.raises(IdfsrError, match="no person 999"):
        edits.move(app, lib.faces["bob"][:1], 999)
    with pytest.raises(IdfsrError, match="no face"):
        edits.confirm(app, [10**6], bob)
    with pytest.raises(IdfsrError, match="other person"):
        edits.merge(app, alice, [alice])


def test_weak_faces_never_chain_people(app: AppContext) -> None:
    """Tiny faces halfway between two people link nobody and join nobody."""
    lib = SynthLibrary(app, np.random.default_rng(3))
    a, b = lib.add("a", 8), lib.add("b", 8)
    between = lib.centre("a") + lib.centre("b")
    tiny = [lib.add("x", 1, size_px=16, vector=between / np.linalg.norm(between))[0]
            for _ in range(6)]
    near_a = lib.add("a", 1, size_px=16, spread=0.02)
    recluster(app)
    pa, pb = the_person(app, a), the_person(app, b)
    assert pa != pb
    assert persons_of(app, tiny) == {None}
    assert person_of(app, near_a[0]) == pa
