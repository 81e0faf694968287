"""The face pass: resumable, faces keep their ids across re-analysis, errors are recorded."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import select
from squares_backend import SquaresBackend, squares_photo

from core.context import AppContext
from core.db.models import Face, FaceEmbedding, Photo
from core.errors import JobCancelled
from core.faces.scan import face_thumbnail_path, scan_faces
from core.faces.service import face_thumbnail, list_faces, similar_faces
from core.jobs import CancelToken, Progress
from core.library.indexer import index_library
from core.library.service import add_root

RED, GREEN, BLUE = (220, 40, 40), (40, 220, 40), (40, 40, 220)


@pytest.fixture
def library(app: AppContext, tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    squares_photo(root / "a.jpg", [(20, 20, 40, RED), (150, 60, 50, GREEN)])
    squares_photo(root / "b.jpg", [(100, 100, 60, RED)])
    squares_photo(root / "c.jpg", [(10, 150, 30, BLUE)])
    squares_photo(root / "empty.jpg", [])
    add_root(app, root)
    index_library(app)
    return root


def test_finds_embeds_and_lists_faces(app: AppContext, library: Path) -> None:
    backend = SquaresBackend()
    report = scan_faces(app, backend)
    assert (report.photos, report.faces, report.errors) == (4, 4, 0)
    faces = list_faces(app, photo=library / "a.jpg")
    assert len(faces) == 2
    assert faces[0].box == pytest.approx((20, 20, 60, 60))
    assert faces[0].size_px == 40 and 0 <= faces[0].quality <= 1
    assert all(face_thumbnail_path(app, f.id).exists() for f in faces)
    with app.db.session() as s:
        assert s.scalar(select(Photo.faces_model).where(Photo.path == str(library / "c.jpg"))) \
            == "squares-v1"


def test_similar_finds_the_same_colour(app: AppContext, library: Path) -> None:
    scan_faces(app, SquaresBackend())
    red_a = list_faces(app, photo=library / "a.jpg")[0]
    best, score = similar_faces(app, red_a.id, k=3)[0]
    assert best.photo_path == str(library / "b.jpg") and score > 0.99


def test_second_pass_is_resumable_and_does_nothing(app: AppContext, library: Path) -> None:
    scan_faces(app, SquaresBackend())
    backend = SquaresBackend()
    report = scan_faces(app, backend)
    assert (report.photos, report.up_to_date, backend.calls) == (0, 4, 0)


def test_cancel_keeps_finished_photos(app: AppContext, library: Path) -> None:
    token = CancelToken()

    def stop_after_first(p: Progress) -> None:
        if p.done >= 1:
            token.cancel()

    with pytest.raises(JobCancelled, match="resume"):
        scan_faces(app, SquaresBackend(), progress=stop_after_first, cancel=token)
    rest = scan_faces(app, SquaresBackend())
    assert rest.photos + rest.up_to_date == 4 and rest.up_to_date >= 1
    assert len(list_faces(app)) == 4


def test_edited_photo_keeps_face_ids_and_drops_lost_faces(app: AppContext, library: Path) -> None:
    scan_faces(app, SquaresBackend())
    before = {f.box: f.id for f in list_faces(app, photo=library / "a.jpg")}
    # The photo is edited: the red face moves slightly, the green one is cropped away.
    squares_photo(library / "a.jpg", [(22, 21, 40, RED)])
    os.utime(library / "a.jpg", ns=(1, 10**18))
    index_library(app)
    report = scan_faces(app, SquaresBackend())
    assert report.photos == 1
    after = list_faces(app, photo=library / "a.jpg")
    assert len(after) == 1
    assert after[0].id == before[(20.0, 20.0, 60.0, 60.0)]
    assert after[0].box == pytest.approx((22, 21, 62, 61))


def test_new_model_adds_embeddings_to_the_same_faces(app: AppContext, library: Path) -> None:
    scan_faces(app, SquaresBackend("squares-v1"))
    ids = sorted(f.id for f in list_faces(app))
    scan_faces(app, SquaresBackend("squares-v2"))
    assert sorted(f.id for f in list_faces(app)) == ids
    with app.db.session() as s:
        models = set(s.scalars(select(FaceEmbedding.model_id)))
    assert models == {"squares-v1", "squares-v2"}


def test_photo_that_fails_is_recorded_not_fatal(app: AppContext, library: Path) -> None:
    (library / "c.jpg").write_bytes(b"")  # broken after indexing, before the face pass
    report = scan_faces(app, SquaresBackend())
    assert report.errors == 1 and report.photos == 3
    with app.db.session() as s:
        err = s.scalar(select(Photo.faces_error).where(Photo.path == str(library / "c.jpg")))
    assert err


def test_face_thumbnail_is_rebuilt_when_the_cache_lost_it(app: AppContext, library: Path) -> None:
    scan_faces(app, SquaresBackend())
    face = list_faces(app, photo=library / "b.jpg")[0]
    path = face_thumbnail_path(app, face.id)
    path.unlink()
    assert face_thumbnail(app, face.id) == path and path.stat().st_size > 0


def test_faces_of_deleted_photos_go_with_them(app: AppContext, library: Path) -> None:
    scan_faces(app, SquaresBackend())
    with app.db.session() as s:
        s.query(Photo).filter(Photo.path == str(library / "a.jpg")).delete()
    assert len(list_faces(app)) == 2
    with app.db.session() as s:
        assert len(s.scalars(select(Face.id)).all()) == 2


def test_photos_on_an_unplugged_drive_wait_for_it(app: AppContext, library: Path) -> None:
    unplugged = library.with_name("photos-unplugged")
    library.rename(unplugged)  # the drive goes away between indexing and the face pass
    report = scan_faces(app, SquaresBackend())
    assert (report.photos, report.errors, report.offline) == (0, 0, 4)
    with app.db.session() as s:
        assert s.scalars(select(Photo.faces_hash)).all() == [None] * 4
    unplugged.rename(library)  # plugged in again: every photo is analysed now
    report = scan_faces(app, SquaresBackend())
    assert (report.photos, report.faces, report.errors, report.offline) == (4, 4, 0, 0)


def test_a_drive_that_goes_away_mid_pass_leaves_the_rest_pending(
        app: AppContext, library: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    from core.faces import scan

    real = scan.upright_rgb

    def drive_fails_on_b(path: str, *args: object) -> object:
        if path.endswith("b.jpg"):  # the drive answers with an I/O error: it is going away
            from core.library.imageio import _os_error

            cause = OSError(errno.EIO, "Input/output error")
            raise _os_error(cause) from cause
        if path.endswith("c.jpg"):  # the file is gone with it
            raise scan.ImageReadError("vanished", "the file was deleted while being read")
        return real(path, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(scan, "upright_rgb", drive_fails_on_b)
    (library / "c.jpg").rename(library / "c.moved")
    report = scan_faces(app, SquaresBackend())
    assert (report.photos, report.errors, report.offline) == (2, 0, 2)
    with app.db.session() as s:
        errors = s.scalars(select(Photo.faces_error).where(Photo.faces_error.is_not(None)))
        assert errors.all() == []
    monkeypatch.undo()
    (library / "c.moved").rename(library / "c.jpg")
    report = scan_faces(app, SquaresBackend())
    assert (report.photos, report.up_to_date, report.offline) == (2, 2, 0)


def test_photos_recorded_as_unreadable_by_a_lost_drive_are_tried_again(
        app: AppContext, library: Path) -> None:
    scan_faces(app, SquaresBackend())
    with app.db.session() as s:  # what earlier versions wrote when the drive went away
        s.query(Photo).filter(Photo.path == str(library / "a.jpg")).update(
            {"faces_error": "cannot read file: Input/output error"})
        s.query(Photo).filter(Photo.path == str(library / "b.jpg")).update(
            {"faces_error": "damaged image data"})  # a bad file stays done
    report = scan_faces(app, SquaresBackend())
    assert (report.photos, report.up_to_date) == (1, 3)
    assert len(list_faces(app, photo=library / "a.jpg")) == 2
