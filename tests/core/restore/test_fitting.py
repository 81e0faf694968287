"""Fitting people of the library: faces from the DB and the original photos, the identity
file per person and model, status queries, and `idfsr people fit`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from core.cli import main
from core.context import AppContext
from core.errors import IdfsrError
from core.idfsr.identity import load_identity
from core.idfsr.restorers import load_idfsr
from core.jobs import Progress
from core.people.identity_store import (
    fit_status,
    identity_path,
    person_identity,
    person_identity_files,
)
from core.people.service import resolve_person
from core.tasks.fitting import fit_person, training_faces


def test_fit_a_person_from_their_library_photos(lib: AppContext, model_dir: Path) -> None:
    model = load_idfsr(lib, str(model_dir))
    aniston = resolve_person(lib, "Jennifer Aniston")
    assert person_identity(lib, aniston, model.sha256) is None
    assert fit_status(lib, model.sha256) == {}
    stages: set[str] = set()
    outcome = fit_person(lib, aniston, model=str(model_dir), steps=3,
                         progress=lambda p: stages.add(p.stage))
    assert outcome.person_id == aniston and outcome.steps == 3
    assert outcome.path == identity_path(lib, aniston, model.sha256)
    assert outcome.path.parent == lib.paths.identities / model.sha256[:16]
    assert outcome.faces_used == 3  # four portraits, one held out for the check
    assert isinstance(outcome.id_similarity_before, float)
    assert isinstance(outcome.id_similarity_after, float)
    assert {"faces", "fit", "fit-check"} <= stages
    ident = load_identity(outcome.path, model.sha256)
    assert ident.meta["person_id"] == aniston and ident.meta["probe_held_out"] is True
    assert len(ident.meta["face_ids"]) == 3 and ident.embedding.shape == (128,)
    assert person_identity(lib, aniston, model.sha256) == outcome.path
    assert fit_status(lib, model.sha256) == {aniston: outcome.path}
    assert outcome.to_dict()["path"] == str(outcome.path)
    assert person_identity_files(lib, aniston) == [outcome.path]  # what forgetting deletes


def test_training_faces_are_aligned_crops_best_first(lib: AppContext, model_dir: Path) -> None:
    crops = training_faces(lib, resolve_person(lib, "Mark Zuckerberg"), 64)
    assert len(crops) == 4 and all(c.crop.shape == (64, 64, 3) for c in crops)
    assert [c.face.quality for c in crops] == sorted((c.face.quality for c in crops),
                                                     reverse=True)
    assert all(c.landmarks.shape == (5, 2) and c.face_px >= 32 for c in crops)


def test_unknown_person_and_cancel(lib: AppContext, model_dir: Path) -> None:
    with pytest.raises(IdfsrError, match="no person 9999"):
        fit_person(lib, 9999, model=str(model_dir), steps=1)
    from core.jobs import CancelToken

    token = CancelToken()

    def stop(p: Progress) -> None:
        if p.stage == "fit" and p.done >= 1:
            token.cancel()

    biden = resolve_person(lib, "Joe Biden")
    with pytest.raises(IdfsrError, match="resume"):
        fit_person(lib, biden, model=str(model_dir), steps=50, progress=stop, cancel=token)
    model = load_idfsr(lib, str(model_dir))
    assert person_identity(lib, biden, model.sha256) is None  # nothing half done is listed


def test_people_fit_command(lib: AppContext, model_dir: Path) -> None:
    home = str(lib.paths.home)
    lib.close()
    result = CliRunner().invoke(main, ["--home", home, "people", "fit", "Joe Biden",
                                       "--model", str(model_dir), "--steps", "2", "--json"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    (fitted,) = out["fitted"]
    assert fitted["steps"] == 2 and fitted["faces_used"] == 1 and Path(fitted["path"]).is_file()
    again = CliRunner().invoke(main, ["--home", home, "people", "fit", "Joe Biden", "--missing",
                                      "--model", str(model_dir), "--json"],
                               catch_exceptions=False)
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout) == {"fitted": [], "failed": []}
    usage = CliRunner().invoke(main, ["--home", home, "people", "fit"])
    assert usage.exit_code == 2 and "--all" in usage.output


def test_identity_files_name_their_person(lib: AppContext, model_dir: Path) -> None:
    from core.restore.options import RestoreOptions
    from core.tasks.restore_session import RestoreSession

    biden, obama = resolve_person(lib, "Joe Biden"), resolve_person(lib, "Barack Obama")
    outcome = fit_person(lib, biden, model=str(model_dir), steps=1)
    assert load_identity(outcome.path).meta["person_id"] == biden
    run = RestoreSession.open(lib, RestoreOptions(model=str(model_dir), fit_missing=False))
    emb, path, _ = run.identity(biden)
    assert emb is not None and path == str(outcome.path)
    # A file under another person's name (copied by hand, say) is not used for them.
    stray = identity_path(lib, obama, run.loaded.sha256)
    stray.write_bytes(outcome.path.read_bytes())
    emb, path, note = run.identity(obama)
    assert emb is None and path is None
    assert f"fitted for person {biden}, not this one" in note
