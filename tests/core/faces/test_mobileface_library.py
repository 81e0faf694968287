"""MobileFace as the library's recognizer: chosen in the settings, embeds on the bundled
weights, and switching an indexed library to it keeps every decision (also across a cancel)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image
from sqlalchemy import select

from core.cli import main
from core.context import AppContext
from core.db.models import FaceEmbedding, FacePerson, FaceRejection, FaceSource, Person
from core.errors import JobCancelled
from core.faces.backends import choose_backend, open_backend
from core.faces.embedded import EmbeddedBackend
from core.faces.mobileface_embedder import MobileFaceEmbedder
from core.faces.scan import scan_faces
from core.faces.service import list_faces
from core.faces.types import DLIB_ID, MOBILEFACE_ID
from core.jobs import CancelToken, Progress
from core.library.indexer import index_library
from core.library.service import add_root
from core.model_status import face_model_status
from core.paths import AppPaths
from core.people import edits
from core.people.assign import assign_new_faces
from core.people.params import _FALLBACK, params_for
from core.settings import Settings

TESTS = Path(__file__).resolve().parents[2]
CROPS = TESTS / "fixtures" / "recognizers" / "arcface112"
PEOPLE = TESTS / "fixtures" / "faces" / "people"


def _crop(name: str) -> np.ndarray:
    return np.asarray(Image.open(CROPS / name).convert("RGB"))


def test_the_bundled_weights_tell_two_people_apart() -> None:
    names = ("id01_img1.png", "id01_img11.png", "id03_img50.png", "id03_img8.png")
    rows = MobileFaceEmbedder().embed_crops(np.stack([_crop(n) for n in names]))
    assert rows.shape == (4, 256)
    np.testing.assert_allclose(np.linalg.norm(rows, axis=1), 1.0, atol=1e-5)
    sims = rows @ rows.T
    same = min(sims[0, 1], sims[2, 3])  # ~0.40: press photos years apart
    other = sims[:2, 2:].max()  # ~0.13
    assert same > other + 0.2
    assert other < params_for(MOBILEFACE_ID).suggest_sim


def test_mobileface_has_measured_thresholds_of_its_own() -> None:
    assert params_for(MOBILEFACE_ID) != _FALLBACK
    assert params_for(MOBILEFACE_ID) != params_for(DLIB_ID)


def test_the_setting_selects_the_recognizer(tmp_path: Path) -> None:
    paths = AppPaths.resolve(tmp_path / "home")
    chosen = Settings(face_backend="embedded")
    assert choose_backend(paths, chosen).label == "embedded"  # dlib: the default
    chosen.faces.recognizer = "mobileface-v1"
    assert choose_backend(paths, chosen).label == f"embedded/{MOBILEFACE_ID}"
    backend = open_backend(paths, chosen)
    assert (backend.model_id, backend.embedding_dim) == (MOBILEFACE_ID, 256)
    with pytest.raises(ValueError, match="unknown recognizer"):
        EmbeddedBackend(recognizer="facenet")


def test_the_status_page_still_says_embedded_models(app: AppContext) -> None:
    app.settings.faces.recognizer = "mobileface-v1"
    status = face_model_status(app)
    assert status.active == f"embedded/{MOBILEFACE_ID}" and status.embedded


def test_models_list_shows_it_and_models_recognizer_switches(isolated_home: Path) -> None:
    runner = CliRunner()
    before = json.loads(runner.invoke(main, ["models", "list", "--json"]).output)
    rows = {r["name"]: r for r in before["models"]}
    assert rows[MOBILEFACE_ID]["installed"] and not rows[MOBILEFACE_ID]["active"]
    assert rows[DLIB_ID]["active"]
    assert runner.invoke(main, ["models", "recognizer", MOBILEFACE_ID]).exit_code == 0
    after = json.loads(runner.invoke(main, ["models", "list", "--json"]).output)
    assert after["active"] == f"embedded/{MOBILEFACE_ID}"
    assert {r["name"]: r["active"] for r in after["models"]}[MOBILEFACE_ID]


@pytest.fixture
def library(app: AppContext, tmp_path: Path) -> list[Path]:
    """Four portraits (two people, two photos each), indexed with dlib."""
    root = tmp_path / "photos"
    root.mkdir()
    photos = []
    for person in ("id01", "id03"):
        for src in sorted((PEOPLE / person).glob("*.jpg")):
            photos.append(root / f"{person}_{src.name}")
            shutil.copy(src, photos[-1])
    add_root(app, root)
    index_library(app)
    app.settings.faces.workers = 1  # one photo at a time: the cancel lands mid-pass
    return photos


def _decisions(app: AppContext) -> tuple[set[tuple[int, int | None, str]], set[tuple[int, int]],
                                         set[tuple[int, str | None]]]:
    with app.db.session() as s:
        user = {(r.face_id, r.person_id, r.source) for r in s.scalars(select(FacePerson))
                if r.source != FaceSource.AUTO}
        rejected = {(r.face_id, r.person_id) for r in s.scalars(select(FaceRejection))}
        names = {(p.id, p.name) for p in s.scalars(select(Person))}
    return user, rejected, names


def test_switching_an_indexed_library_to_mobileface_keeps_every_decision(
    app: AppContext, library: list[Path]
) -> None:
    backend = EmbeddedBackend(tiny_faces=False)
    scan_faces(app, backend)
    assign_new_faces(app, DLIB_ID)
    faces = {Path(f.photo_path).name: f.id for f in list_faces(app)}
    assert len(faces) == 4  # one face per portrait
    angelina = edits.new_person(app, [faces["id01_img1.jpg"], faces["id01_img11.jpg"]],
                                "Angelina")
    scarlett = edits.new_person(app, [faces["id03_img8.jpg"]], "Scarlett")
    edits.reject(app, [faces["id03_img50.jpg"]], scarlett)  # "not this person", kept as said
    before = _decisions(app)

    switched = EmbeddedBackend(tiny_faces=False, recognizer=MOBILEFACE_ID)
    token = CancelToken()

    def stop_after_first(p: Progress) -> None:
        if p.done >= 1:
            token.cancel()

    with pytest.raises(JobCancelled, match="resume"):
        scan_faces(app, switched, progress=stop_after_first, cancel=token)
    with app.db.session() as s:
        done = len(s.scalars(select(FaceEmbedding.face_id).where(
            FaceEmbedding.model_id == MOBILEFACE_ID)).all())
    assert 1 <= done < 4
    report = scan_faces(app, switched)  # resumes: only the photos not yet re-embedded
    assert (report.photos, report.up_to_date) == (4 - done, done)
    assign_new_faces(app, MOBILEFACE_ID)

    assert {Path(f.photo_path).name: f.id for f in list_faces(app)} == faces
    with app.db.session() as s:
        vectors = s.scalars(select(FaceEmbedding.vector).where(
            FaceEmbedding.model_id == MOBILEFACE_ID)).all()
    assert len(vectors) == 4 and {len(v) for v in vectors} == {256 * 4}
    after = _decisions(app)
    assert after[0] == before[0] and after[1] == before[1]
    assert {(angelina, "Angelina"), (scarlett, "Scarlett")} <= after[2]
