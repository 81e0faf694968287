"""Forgetting a person and wiping all face data, verified on disk: after it, no file under
the app's home (DB, WAL, backups, caches, identities) holds their name or the bytes of
any of their embeddings; everyone else's data is intact.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from people_support import SynthLibrary, the_person

from core.cli import main
from core.context import AppContext
from core.db.models import Face, FaceEmbedding, Person, Photo
from core.errors import IdfsrError
from core.faces.index import open_index
from core.faces.scan import face_thumbnail_path
from core.faces.store import normalise
from core.idfsr.identity import save_identity
from core.people import edits
from core.people.forget import forget_person
from core.people.history import history, undo
from core.people.identity_store import person_file_name
from core.people.vectors import model_vectors
from core.settings import load_settings

ANN = "Ann Forgettable-Qwzx"
BOB = "Bob Keepable-Jvkq"


def _files(home: Path) -> dict[Path, bytes]:
    return {p: p.read_bytes() for p in home.rglob("*") if p.is_file()}


def _needles(lib: SynthLibrary, faces: list[int]) -> list[bytes]:
    """The bytes an embedding leaves on disk: as stored, and as the caches normalise it."""
    out = []
    for f in faces:
        v = lib.vectors[f]
        out += [np.asarray(v, "<f4").tobytes(), normalise(v[None])[0].astype("<f4").tobytes()]
    return out


def _holders(files: dict[Path, bytes], needles: list[bytes]) -> set[str]:
    return {p.name for p, data in files.items() if any(n in data for n in needles)}


@pytest.fixture
def library(app: AppContext, lib: SynthLibrary) -> tuple[SynthLibrary, int, int]:
    """alice named ANN, bob named BOB, every cache and file built, an older backup made."""
    ann, bob = the_person(app, lib.faces["alice"]), the_person(app, lib.faces["bob"])
    edits.rename(app, ann, ANN)
    edits.rename(app, bob, BOB)
    edits.reject(app, [lib.faces["carol"][0]], ann)  # "not Ann": a carol face stays carol's
    edits.hide(app, bob)
    for face in [f for fs in lib.faces.values() for f in fs]:
        path = face_thumbnail_path(app, face)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\xff\xd8face %d\xff\xd9" % face)
    open_index(app.db, app.paths.cache, "test-embedder-v1")
    model_vectors(app.db, app.paths.cache, "test-embedder-v1")
    ids = app.paths.identities
    meta = {"base_model_sha256": "ab" * 32}
    save_identity(ids / person_file_name(ANN), np.ones(16, np.float32), [0.1],
                  {**meta, "person": ANN})
    save_identity(ids / "fitted-by-id.safetensors", np.ones(16, np.float32), [0.1],
                  {**meta, "person": "someone", "person_id": ann})
    (ids / person_file_name(ANN).replace(".safetensors", ".partial.safetensors")).write_bytes(
        b"partial fit state")
    save_identity(ids / person_file_name(BOB), np.ones(16, np.float32), [0.1],
                  {**meta, "person": BOB})
    app.db.backup(label="older")
    return lib, ann, bob


def test_forget_a_person_leaves_nothing_of_them_on_disk(app: AppContext, library) -> None:
    lib, ann, bob = library
    home = app.paths.home
    assert home is not None
    ann_faces, bob_faces = lib.faces["alice"], lib.faces["bob"]
    before = _files(home)
    # Sanity: before, their name and vectors are in the DB (or its WAL), caches and backup.
    named = _holders(before, [ANN.encode()])
    assert any(n.startswith("library.db.backup-older") for n in named)
    assert named & {"library.db", "library.db-wal"}
    vectors = _holders(before, _needles(lib, ann_faces))
    assert any(n.endswith(".faiss") for n in vectors) and any(n.endswith(".npz") for n in vectors)

    report = forget_person(app, ann)
    assert (report.faces, report.embeddings) == (12, 12)
    assert report.edits == 2  # its rename and the rejection; bob's edits stay
    assert len(report.identity_files) == 3 and len(report.backups_scrubbed) == 1
    assert report.wal_truncated

    after = _files(home)
    assert _holders(after, [ANN.encode()]) == set()
    assert _holders(after, _needles(lib, ann_faces)) == set()
    assert not any(face_thumbnail_path(app, f).exists() for f in ann_faces)
    assert all(face_thumbnail_path(app, f).exists() for f in bob_faces)
    assert sorted(p.name for p in app.paths.identities.iterdir()) == [person_file_name(BOB)]
    # Everyone else is intact, in the live DB and in the backup.
    assert "library.db" in _holders(after, [BOB.encode()])
    assert "library.db" in _holders(after, _needles(lib, bob_faces))
    (backup,) = app.paths.data.glob("library.db.backup-older-*")
    assert backup.name in _holders(after, [BOB.encode()])
    with app.db.session() as s:
        assert s.get(Person, ann) is None and s.get(Person, bob).name == BOB
        assert s.query(Face).filter(Face.id.in_(ann_faces)).count() == 0
        assert s.query(FaceEmbedding).filter(FaceEmbedding.face_id.in_(ann_faces)).count() == 0
        assert s.query(Face).count() == 36 - 12
        assert s.query(Photo).count() == 36  # the photos stay
    for db_file in (app.db.path, backup):
        with sqlite3.connect(db_file) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
            marks = ",".join("?" * len(ann_faces))
            assert conn.execute(f"SELECT count(*) FROM faces WHERE id IN ({marks})",
                                ann_faces).fetchone() == (0,)
    # What is left works: bob's hide is still undoable, the caches rebuild.
    assert [e.action for e in history(app)] == ["hide", "rename"]
    assert undo(app) == [f"hiding {BOB}"]
    assert open_index(app.db, app.paths.cache, "test-embedder-v1").size == 24


def test_wipe_all_face_data(app: AppContext, library) -> None:
    from core.faces.wipe import wipe_face_data

    lib, *_ = library
    home = app.paths.home
    assert home is not None
    everyone = [f for fs in lib.faces.values() for f in fs]
    report = wipe_face_data(app)
    assert (report.faces, report.embeddings, report.persons) == (36, 36, 4)
    assert report.faces_disabled and report.wal_truncated and len(report.backups_scrubbed) == 1
    after = _files(home)
    assert _holders(after, [ANN.encode(), BOB.encode()]) == set()
    assert _holders(after, _needles(lib, everyone)) == set()
    assert not (app.paths.cache / "faces").exists() and not app.paths.identities.exists()
    for db_file in [app.db.path, *app.paths.data.glob("library.db.backup-*")]:
        with sqlite3.connect(db_file) as conn:
            for table in ("faces", "face_embeddings", "persons", "face_persons",
                          "face_rejections", "people_edits"):
                assert conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,), table
            assert conn.execute("SELECT count(*) FROM photos").fetchone() == (36,)
            assert conn.execute("SELECT count(*) FROM photos WHERE faces_hash IS NOT NULL "
                                "OR faces_model IS NOT NULL").fetchone() == (0,)
            assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    assert load_settings(app.paths.settings_file).faces.enabled is False


def _idfsr(home: Path, *args: str, input: str | None = None):  # noqa: ANN202
    return CliRunner().invoke(main, ["--home", str(home), *args], input=input,
                              catch_exceptions=False)


def test_cli_asks_before_forgetting_and_wiping(app: AppContext, library) -> None:
    lib, ann, _ = library
    home = app.paths.home
    assert home is not None
    app.close()  # the CLI opens its own
    refused = _idfsr(home, "people", "forget", ANN, input="n\n")
    assert refused.exit_code != 0 and "cannot be undone" in refused.output
    assert os.path.exists(home / "data" / "identities" / person_file_name(ANN))
    done = _idfsr(home, "people", "forget", ANN, "--yes")
    assert done.exit_code == 0, done.output
    assert f"forgot {ANN}: 12 faces" in done.output
    with pytest.raises(IdfsrError, match="no person"):
        _idfsr(home, "people", "show", str(ann))
    refused = _idfsr(home, "faces", "wipe", input="n\n")
    assert refused.exit_code != 0
    wiped = _idfsr(home, "faces", "wipe", "--yes", "--keep-finding-faces", "--json")
    assert wiped.exit_code == 0, wiped.output
    assert '"faces": 24' in wiped.stdout and '"faces_disabled": false' in wiped.stdout


def test_identity_files_of_library_fits_are_found_one_folder_down(tmp_path: Path) -> None:
    from core.people.identity_store import identity_files

    per_model = tmp_path / "0123456789abcdef"
    per_model.mkdir(parents=True)
    mine = [per_model / "person-7.safetensors", per_model / "person-7.partial.safetensors"]
    other = [per_model / "person-70.safetensors", per_model / "person-8.safetensors"]
    for p in mine + other:
        p.write_bytes(b"not read: matched by name")
    assert identity_files(tmp_path, 7, None, False) == sorted(mine)
