"""Reviewing a photo before restoring it (find_faces), choices per photo path, and exporting a
restored photo into the output folder without replacing anything."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from core.context import AppContext
from core.restore.options import NOBODY, PersonChoice, RestoreOptions
from core.restore.outputs import export_output
from core.tasks.restore import find_faces, restore_photos

FAST = dict(steps=1, candidates=1, fit_steps=1, scale=1.0)


def test_find_faces_numbers_and_matches_like_a_restore(lib: AppContext,
                                                       old_photos: Path) -> None:
    photo = old_photos / "grey.png"
    before = hashlib.sha256(photo.read_bytes()).hexdigest()
    found = find_faces(lib, photo)
    assert found.status == "found" and found.output is None
    assert (found.width, found.height) > (0, 0)
    assert len(found.faces) == 2
    assert all(f.status == "pending" and len(f.landmarks) == 5 for f in found.faces)
    biden = found.faces[1].match
    assert biden.name == "Joe Biden" and biden.source == "auto" and biden.weak_evidence
    # The user's choices for this path win, as they would in a restore.
    chosen = find_faces(lib, photo, RestoreOptions(
        persons=(PersonChoice(1, "Barack Obama", str(photo)), PersonChoice(2, NOBODY, str(photo)))))
    first, second = (f.match for f in chosen.faces)
    assert (first.name, first.source) == ("Barack Obama", "user")
    assert (second.person_id, second.source) == (None, "user")
    assert hashlib.sha256(photo.read_bytes()).hexdigest() == before


def test_choices_by_path_tell_photos_of_the_same_name_apart(tmp_path: Path) -> None:
    a, b = tmp_path / "a" / "scan.jpg", tmp_path / "b" / "scan.jpg"
    options = RestoreOptions(persons=(PersonChoice(1, "Ann", str(a)), PersonChoice(2, "Bo")))
    assert options.choices_for(a) == {1: "Ann", 2: "Bo"}
    assert options.choices_for(b) == {2: "Bo"}
    assert options.choices_for("scan.jpg") == {2: "Bo"}  # by name only: not Ann's path


def test_export_copies_result_and_notes_never_replacing(lib: AppContext, model_dir: Path,
                                                         old_photos: Path,
                                                         tmp_path: Path) -> None:
    src = tmp_path / "in" / "grey.png"
    src.parent.mkdir()
    shutil.copy(old_photos / "grey.png", src)
    report = restore_photos(lib, [src], tmp_path / "work",
                            RestoreOptions(**FAST, model=str(model_dir), fit_missing=False))
    (photo,) = report.photos
    assert photo.status == "restored", photo.message
    work = Path(photo.output or "")
    out = tmp_path / "exported"
    first = export_output(work, out)
    second = export_output(work, out)
    assert (first.name, second.name) == ("grey-restored.png", "grey-restored-2.png")
    assert first.read_bytes() == work.read_bytes() == second.read_bytes()
    note = json.loads((out / "grey-restored.idfsr.json").read_text())
    assert note["output"] == str(first) and note["exported_from"] == str(work)
    assert (out / "grey-restored.xmp").is_file()
    assert work.is_file()  # the working copy stays where it was
