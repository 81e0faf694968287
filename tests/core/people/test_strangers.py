"""Ignoring strangers: tiny or blurred bystanders and blurry one-offs leave the unassigned
faces in one undoable edit; clear faces, even seen once, stay."""

from __future__ import annotations

from people_support import SynthLibrary, person_of

from core.context import AppContext
from core.db.models import FacePerson, FaceSource
from core.people import edits
from core.people.history import history, undo
from core.people.recluster import recluster
from core.people.service import unassigned_faces
from core.people.strangers import ignore_strangers, stranger_faces
from core.people.suggest import suggest_faces


def test_tiny_blurred_and_lonely_faces_are_strangers_clear_ones_are_not(
        app: AppContext, lib: SynthLibrary) -> None:
    tiny = lib.add("passer-by", 1, size_px=18.0, quality=0.6)
    blurred = lib.add("blur", 1, size_px=120.0, quality=0.1)
    lonely = lib.add("someone once", 1, size_px=60.0, quality=0.4)
    clear_once = lib.add("great-aunt", 1, size_px=150.0, quality=0.8)
    pair = lib.add("twice", 2, size_px=60.0, quality=0.4, spread=0.02)
    recluster(app)
    free = {f.id for f in unassigned_faces(app)}
    assert set(tiny + blurred + lonely + clear_once) <= free
    found = set(stranger_faces(app))
    assert found >= set(tiny + blurred + lonely)
    assert not found & set(clear_once + pair)
    assert not found & {f for fs in (lib.faces[n] for n in ("alice", "bob")) for f in fs}


def test_ignoring_hides_them_survives_a_recluster_and_undoes(
        app: AppContext, lib: SynthLibrary) -> None:
    tiny = lib.add("passer-by", 3, size_px=16.0, quality=0.2, spread=0.02)
    keep = lib.add("great-aunt", 1, size_px=150.0, quality=0.8)
    recluster(app)
    before = {f.id for f in unassigned_faces(app)}
    assert set(tiny) <= before
    assert ignore_strangers(app) == 3
    after = {f.id for f in unassigned_faces(app)}
    assert not after & set(tiny) and set(keep) <= after
    with app.db.session() as s:
        assert {s.get(FacePerson, f).source for f in tiny} == {FaceSource.IGNORED.value}
    assert history(app)[0].summary == "ignoring 3 strangers"
    # Nobody is suggested an ignored face, and a re-cluster leaves them where they are.
    alice = person_of(app, lib.faces["alice"][0])
    assert alice is not None
    assert not {f.id for f, _ in suggest_faces(app, alice, limit=100)} & set(tiny)
    recluster(app)
    assert not {f.id for f in unassigned_faces(app)} & set(tiny)
    undo(app)
    assert {f.id for f in unassigned_faces(app)} == before


def test_nothing_to_ignore_is_no_edit(app: AppContext, lib: SynthLibrary) -> None:
    edits.rename(app, person_of(app, lib.faces["bob"][0]) or 0, "Bob")
    assert stranger_faces(app) == [] and ignore_strangers(app) == 0
    assert history(app)[0].action == "rename"


def test_undo_summaries_name_people_not_ids(app: AppContext, lib: SynthLibrary) -> None:
    alice = person_of(app, lib.faces["alice"][0])
    bob = person_of(app, lib.faces["bob"][0])
    assert alice is not None and bob is not None
    edits.rename(app, alice, "Mark Zuckerberg")
    edits.rename(app, alice, "Mark")
    edits.move(app, lib.faces["bob"][:2], alice)
    edits.reject(app, lib.faces["alice"][:1], alice)
    edits.hide(app, bob)
    summaries = [e.summary for e in history(app)[:5]]
    assert summaries == ["hiding an unnamed person", "“not Mark” for 1 face",
                         "moving 2 faces to Mark", "rename of Mark Zuckerberg",
                         "naming Mark Zuckerberg"]
    assert not any("#" in s for s in summaries)
