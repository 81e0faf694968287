"""People decisions carried out of the database: `idfsr people export` / `import`, keyed by
photo content and face box, re-applied to the same photos indexed again from scratch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from decisions_support import (
    build_library,
    decisions_view,
    index_squares,
    make_square_photos,
    person_ids,
)

from core.cli import main
from core.context import AppContext
from core.db.models import FacePerson, FaceSource, Person
from core.errors import IdfsrError
from core.people.decisions_file import (
    decisions_digest,
    export_decisions,
    read_decisions,
    stored_digest,
    summary,
    write_decisions,
)
from core.people.decisions_import import import_decisions
from core.people.service import list_people
from core.safekeeping import open_session


@pytest.fixture
def built(tmp_path: Path) -> tuple[Path, Path, dict[str, int]]:
    home, photos = tmp_path / "home", tmp_path / "photos"
    return home, photos, build_library(home, photos)


def _fresh(tmp_path: Path, photos: Path, name: str = "fresh") -> AppContext:
    """The same photos, indexed from scratch in another home: no decision at all."""
    ctx = open_session(tmp_path / name)
    index_squares(ctx, photos)
    return ctx


def test_export_holds_every_kind_of_decision_keyed_by_content(built) -> None:
    home, photos, ids = built
    with open_session(home) as ctx:
        data = export_decisions(ctx)
    assert summary(data) == {"people": 4, "named": 3, "hidden": 1, "faces": 16,
                             "decided_faces": 3, "rejections": 2, "unassigned": 1}
    people = {p["name"]: p for p in data["people"]}
    assert set(people) == {"Alice", "Bob", "Carol", None}
    # the merge: Alice holds the red and the yellow squares, all 9 of them
    assert len(people["Alice"]["faces"]) == 9 and people["Alice"]["cover"] is not None
    assert people[None]["hidden"] and len(people[None]["faces"]) == 3  # blue, one taken out
    assert [f["source"] for f in people["Carol"]["faces"]] == ["moved"]
    # keys are content hashes and boxes: no database id of a face or photo in the file
    for face in (f for p in data["people"] for f in p["faces"]):
        assert set(face) == {"photo", "box", "source"} and len(face["photo"]) == 64
    assert {r["person"] for r in data["rejections"]} == {ids["bob"]}
    assert data["library"]["roots"] == [str(photos.resolve())]
    # the clustering's own person (cyan), decided by nobody, is left to a rebuild
    assert len(data["people"]) == 4


def test_decisions_come_back_on_the_same_photos_indexed_from_scratch(
        built, tmp_path: Path) -> None:
    home, photos, _ = built
    with open_session(home) as ctx:
        before = decisions_view(ctx)
        data = export_decisions(ctx)
    with _fresh(tmp_path, photos) as fresh:
        assert decisions_view(fresh) != before  # no names, no merge yet
        report = import_decisions(fresh, data)
        assert decisions_view(fresh) == before
        assert (report.people, report.faces_missing, report.rejections, report.unassigned) == (
            4, 0, 2, 1)
        names = {p.name for p in list_people(fresh, include_hidden=True)}
        assert {"Alice", "Bob", "Carol"} <= names
        # importing the same file again changes nothing
        again = import_decisions(fresh, data)
        assert (again.faces, again.people_created, again.rejections, again.unassigned,
                again.covers) == (0, 0, 0, 0, 0)
        assert decisions_view(fresh) == before


def test_keep_ids_gives_persons_their_own_ids_back(built, tmp_path: Path) -> None:
    home, photos, ids = built
    with open_session(home) as ctx:
        data = export_decisions(ctx)
    with _fresh(tmp_path, photos) as fresh:
        import_decisions(fresh, data, keep_ids=True)
        assert person_ids(fresh) == {"Alice": ids["alice"], "Bob": ids["bob"],
                                     "Carol": ids["carol"]}
        with fresh.db.session() as s:  # and a new person never takes an id used before
            s.add(Person(name="New"))
        assert person_ids(fresh)["New"] > data["library"]["max_person_id"]


def test_boxes_found_again_by_another_detector_still_match(built, tmp_path: Path) -> None:
    home, photos, _ = built
    with open_session(home) as ctx:
        before = decisions_view(ctx)
        data = export_decisions(ctx)
    shifted = json.loads(json.dumps(data))
    for entry in ([f for p in shifted["people"] for f in p["faces"]] + shifted["rejections"]
                  + shifted["unassigned"] + [p["cover"] for p in shifted["people"]
                                             if p["cover"]]):
        entry["box"] = [v + 6 for v in entry["box"]]  # a box a few pixels off
    with _fresh(tmp_path, photos) as fresh:
        report = import_decisions(fresh, shifted)
        assert report.faces_missing == 0
        assert decisions_view(fresh) == before


def test_faces_of_photos_this_library_lacks_are_counted_missing(built, tmp_path: Path) -> None:
    home, photos, _ = built
    with open_session(home) as ctx:
        data = export_decisions(ctx)
    alice = next(p for p in data["people"] if p["name"] == "Alice")
    lost = [f for f in alice["faces"]][:2]
    for f in lost:
        f["photo"] = "0" * 64
    with _fresh(tmp_path, photos) as fresh:
        report = import_decisions(fresh, data)
    assert report.faces_missing == 2


def test_this_librarys_own_decisions_stand_against_members(built, tmp_path: Path) -> None:
    """A face the export lists only as a member (the clustering put it there) does not
    override what the user of the importing library decided about it."""
    home, photos, _ = built
    with open_session(home) as ctx:
        data = export_decisions(ctx)
    from core.faces.service import list_faces
    from core.people import edits

    with _fresh(tmp_path, photos) as fresh:
        # the user of this library set a yellow face aside (the export has it as Alice's)
        face = next(f.id for f in list_faces(fresh) if Path(f.photo_path).stem == "yellow_1")
        edits.unassign(fresh, [face])
        import_decisions(fresh, data)
        with fresh.db.session() as s:
            row = s.get(FacePerson, face)
            assert row is not None and row.person_id is None
            assert row.source == FaceSource.UNASSIGNED
            alice = s.query(Person).filter(Person.name == "Alice").one()
            assert s.query(FacePerson).filter(FacePerson.person_id == alice.id).count() == 8


def test_digest_follows_the_decisions_only(built) -> None:
    home, _, ids = built
    with open_session(home) as ctx:
        first = export_decisions(ctx)
        second = export_decisions(ctx)
        assert first["exported_at"] != second["exported_at"] or first == second
        assert decisions_digest(first) == decisions_digest(second)
        from core.people import edits

        edits.rename(ctx, ids["bob"], "Robert")
        assert decisions_digest(export_decisions(ctx)) != decisions_digest(first)


def test_read_refuses_what_is_not_an_export(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    with pytest.raises(IdfsrError, match="not a people decisions file"):
        read_decisions(bad)
    bad.write_text("{not json")
    with pytest.raises(IdfsrError, match="not a people decisions file"):
        read_decisions(bad)
    bad.write_text(json.dumps({"format": "idfsr-people-decisions", "version": 99}))
    with pytest.raises(IdfsrError, match="newer version"):
        read_decisions(bad)
    with pytest.raises(IdfsrError, match="no such file"):
        read_decisions(tmp_path / "nope.json")


def test_cli_export_then_import_into_another_home(built, tmp_path: Path) -> None:
    home, photos, _ = built
    out = tmp_path / "my decisions.json"
    runner = CliRunner()
    done = runner.invoke(main, ["--home", str(home), "people", "export", str(out), "--json"],
                         catch_exceptions=False)
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["people"] == 4
    data = read_decisions(out)
    with open_session(home) as ctx:
        before = decisions_view(ctx)
    _fresh(tmp_path, photos, "other").close()
    other = tmp_path / "other"
    done = runner.invoke(main, ["--home", str(other), "people", "import", str(out)],
                         catch_exceptions=False)
    assert done.exit_code == 0, done.output
    assert "4 people" in done.output and "0 faces not found" in done.output
    with open_session(other) as ctx:
        assert decisions_view(ctx) == before
    assert data["format"] == "idfsr-people-decisions"


def test_write_is_atomic_and_round_trips(tmp_path: Path) -> None:
    data = {"format": "idfsr-people-decisions", "version": 1, "people": [],
            "rejections": [], "unassigned": [], "exported_at": "2025-01-01T00:00:00+00:00"}
    path = tmp_path / "d.json"
    write_decisions(data, path)
    assert read_decisions(path) == {**data, "digest": decisions_digest(data)}
    assert stored_digest(path) == decisions_digest(data)  # read from its first bytes
    assert [p.name for p in tmp_path.iterdir()] == ["d.json"]


def test_square_photos_are_distinct(tmp_path: Path) -> None:
    folder = make_square_photos(tmp_path / "p")
    import hashlib

    digests = {hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}
    assert len(digests) == 21
