"""The restore note: one typed model, its committed schema, old notes still read."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from restore_support import untyped_keys

from core.restore import notes
from core.restore.notes import NoteError, RestoreNote, read_note
from core.restore.report import FaceStatus, RestoreStatus

REPO = Path(__file__).resolve().parents[3]
SCHEMA = REPO / "docs" / "restore-note.schema.json"
OLD_NOTE = REPO / "tests" / "fixtures" / "notes" / "restore-note-v1.json"


def test_the_committed_schema_is_the_models() -> None:
    committed = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert committed == notes.schema(), (
        "docs/restore-note.schema.json is out of date; write it again with\n"
        "    python -m core.restore.notes > docs/restore-note.schema.json")


def test_a_note_of_the_first_version_still_reads(tmp_path: Path) -> None:
    note = read_note(OLD_NOTE)
    assert note.version == 1
    assert note.model.size == 128 and note.options.seed == 7 and note.options.keep_grain
    assert note.options.start is None and note.options.large_faces is None  # not recorded
    first, second = note.faces
    assert first.status is FaceStatus.RESTORED and second.status is FaceStatus.SKIPPED
    assert first.person is not None and first.person.name == "Ann"
    assert first.match.top_confidence == 0.0  # missing: the default
    assert [c.chosen for c in first.candidates] == [True, False]
    assert first.reference is not None and first.reference.face_id == 41
    assert note.recomposed_from is None and note.exported_from is None

    # Written again (as export and recompose do), it keeps every value it had.
    again = tmp_path / "again.idfsr.json"
    again.write_bytes(note.model_copy(update={"exported_from": "x.jpg"}).to_bytes())
    old = json.loads(OLD_NOTE.read_text(encoding="utf-8"))
    new = json.loads(again.read_text(encoding="utf-8"))
    assert new["exported_from"] == "x.jpg"
    for new_face, old_face in zip(new["faces"], old["faces"], strict=True):
        assert {k: new_face[k] for k in old_face if k != "match"} == {
            k: v for k, v in old_face.items() if k != "match"}
        assert new_face["match"] == {"top_confidence": 0.0, **old_face["match"]}
    assert {k: new["options"][k] for k in old["options"]} == old["options"]
    rest = [k for k in old if k not in ("faces", "options")]
    assert {k: new[k] for k in rest} == {k: old[k] for k in rest}
    assert new["options"]["start"] is None  # still not recorded, and said so


def test_keys_of_a_newer_version_are_kept(tmp_path: Path) -> None:
    data = json.loads(OLD_NOTE.read_text(encoding="utf-8"))
    data["format"] = "idfsr-restore/2"
    data["colourised"] = {"regions": 3}  # something a later version adds
    data["faces"][0]["match"]["margin"] = 0.4
    path = tmp_path / "new.idfsr.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    note = read_note(path)
    assert note.version == 2
    written = json.loads(note.to_bytes())
    assert written["colourised"] == {"regions": 3}
    assert written["faces"][0]["match"]["margin"] == 0.4
    assert untyped_keys(note) == ["note.colourised", "note.faces[0].match.margin"]
    assert untyped_keys(read_note(OLD_NOTE)) == []


@pytest.mark.parametrize(("text", "says"), [
    ('{"format": "something else"}', "not a restore note this version can read (format"),
    ('{"format": "idfsr-restore/1", "faces": [{"number": 1, "status": "melted"}]}',
     "faces.0.status"),
    ("not json", "cannot read the restore note"),
    ('{"output": "a.jpg"}', "not a restore note (it says no format)"),
    ("[1, 2]", "not a restore note (it says no format)"),
])
def test_what_is_not_a_note_says_so(tmp_path: Path, text: str, says: str) -> None:
    path = tmp_path / "x.idfsr.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(NoteError, match=re.escape(says)):
        read_note(path)
    with pytest.raises(NoteError, match="cannot read"):
        read_note(tmp_path / "missing.idfsr.json")


def test_statuses_are_written_as_the_same_words() -> None:
    assert [s.value for s in FaceStatus] == ["pending", "restored", "skipped", "failed"]
    assert {s.value for s in RestoreStatus} == {"pending", "found", "restored", "unchanged",
                                                "no_faces", "error", "cancelled"}
    note = RestoreNote.model_validate({"faces": [{"number": 1, "status": "restored"}]})
    assert json.loads(note.to_bytes())["faces"][0]["status"] == "restored"
    assert json.dumps({"status": FaceStatus.FAILED}) == '{"status": "failed"}'
