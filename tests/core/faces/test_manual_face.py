"""A face the detector missed, drawn by the user: stored, embedded, clustered, kept by later
face passes; and face crops at a photo's edge are padded grey, never mirrored."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sqlalchemy import select
from squares_backend import SquaresBackend, squares_photo

from core.context import AppContext
from core.db.models import Face, FaceEmbedding, Photo
from core.errors import IdfsrError
from core.faces.align import NEUTRAL_GREY
from core.faces.backends import FACE_BACKEND
from core.faces.scan import face_thumbnail_path, scan_faces
from core.faces.service import face_thumbnail, get_face, list_faces
from core.library.indexer import index_library
from core.library.service import add_root
from core.people.manual import add_manual_face, remove_manual_face, template_landmarks
from core.people.recluster import recluster

RED = (220, 40, 40)
DIM_RED = (58, 10, 10)  # under the squares detector's brightness bar: a face it misses


@pytest.fixture
def library(app: AppContext, tmp_path: Path) -> Path:
    root = tmp_path / "photos"
    for i in range(3):
        squares_photo(root / f"red_{i}.jpg", [(30 + 10 * i, 40, 60, RED)])
    squares_photo(root / "dim.jpg", [(120, 80, 60, DIM_RED)])
    add_root(app, root)
    index_library(app)
    scan_faces(app, SquaresBackend())
    recluster(app)
    return root


def _photo_id(app: AppContext, path: Path) -> int:
    with app.db.session() as s:
        found = s.scalar(select(Photo.id).where(Photo.path == str(path)))
    assert found is not None
    return int(found)


def test_a_drawn_face_is_stored_embedded_and_kept(app: AppContext, library: Path) -> None:
    dim = _photo_id(app, library / "dim.jpg")
    assert list_faces(app, photo=library / "dim.jpg") == []
    face_id = add_manual_face(app, SquaresBackend(), dim, (118, 78, 182, 142))
    face = get_face(app, face_id)
    assert face.photo_id == dim and face.detector == "manual"
    assert face.box == pytest.approx((118, 78, 182, 142))
    assert 0 < face.quality <= 1 and face.size_px == 64
    assert np.asarray(face.landmarks).shape == (5, 2)
    with app.db.session() as s:
        vectors = s.scalars(select(FaceEmbedding.model_id)
                            .where(FaceEmbedding.face_id == face_id)).all()
    assert vectors == ["squares-v1"]
    assert face_thumbnail_path(app, face_id).stat().st_size > 0
    # A later face pass over that photo (edited file, another model) keeps the user's face.
    scan_faces(app, SquaresBackend(), rescan=True)
    assert [f.id for f in list_faces(app, photo=library / "dim.jpg")] == [face_id]


def test_a_drawn_face_gets_the_detectors_landmarks_when_a_second_look_finds_it(
        app: AppContext, library: Path) -> None:
    red = _photo_id(app, library / "red_0.jpg")
    found = list_faces(app, photo=library / "red_0.jpg")[0]
    face_id = add_manual_face(app, SquaresBackend(), red, (26, 36, 94, 104))
    drawn = get_face(app, face_id)
    assert np.allclose(drawn.landmarks, found.landmarks, atol=1.0)
    assert drawn.person_id == found.person_id  # clustered: it joins the red person


def test_template_landmarks_sit_inside_the_box() -> None:
    points = template_landmarks((100, 50, 200, 150))
    assert points.shape == (5, 2)
    assert (points[:, 0] > 100).all() and (points[:, 0] < 200).all()
    assert points[0, 0] < points[1, 0] and points[2, 1] > points[0, 1]  # eyes, then nose


@pytest.mark.parametrize("box", [(10, 10, 14, 40), (500, 500, 600, 600)])
def test_a_box_too_small_or_outside_is_refused(app: AppContext, library: Path,
                                               box: tuple[float, float, float, float]) -> None:
    with pytest.raises(IdfsrError, match="too small"):
        add_manual_face(app, SquaresBackend(), _photo_id(app, library / "dim.jpg"), box)
    with app.db.session() as s:
        assert s.scalar(select(Face.id).where(Face.detector == "manual")) is None


def test_face_crops_at_the_edge_are_padded_grey_not_mirrored(app: AppContext,
                                                              tmp_path: Path) -> None:
    root = tmp_path / "edge"
    # A face in the photo's top-left corner, on a black photo: a mirrored crop would show
    # red again beyond the edge, a padded one shows grey there.
    squares_photo(root / "corner.jpg", [(0, 0, 40, RED)])
    add_root(app, root)
    index_library(app)
    scan_faces(app, SquaresBackend())
    (face,) = list_faces(app)
    for path in (face_thumbnail_path(app, face.id),):
        crop = np.asarray(Image.open(path).convert("RGB")).astype(int)
        _check_padded(crop)
    face_thumbnail_path(app, face.id).unlink()  # cut again from the photo on demand
    _check_padded(np.asarray(Image.open(face_thumbnail(app, face.id)).convert("RGB")).astype(int))


def _check_padded(crop: np.ndarray) -> None:
    corner = crop[:8, :8].reshape(-1, 3)  # beyond the photo's top-left corner
    assert np.abs(corner - NEUTRAL_GREY).max() <= 6, corner.mean(axis=0)
    red = (crop[..., 0] > 150) & (crop[..., 1] < 90)
    rows, cols = np.nonzero(red)
    # The red square is whole once, right/below the grey margin: no copy up or left of it.
    assert rows.min() > 8 and cols.min() > 8


def test_a_drawn_face_can_be_taken_back_a_detected_one_cannot(app: AppContext,
                                                               library: Path) -> None:
    dim = _photo_id(app, library / "dim.jpg")
    face_id = add_manual_face(app, SquaresBackend(), dim, (118, 78, 182, 142))
    thumb = face_thumbnail_path(app, face_id)
    remove_manual_face(app, face_id)
    assert list_faces(app, photo=library / "dim.jpg") == [] and not thumb.exists()
    with app.db.session() as s:
        assert s.scalar(select(FaceEmbedding.face_id)
                        .where(FaceEmbedding.face_id == face_id)) is None
    detected = list_faces(app, photo=library / "red_0.jpg")[0]
    with pytest.raises(IdfsrError, match="only a face you drew"):
        remove_manual_face(app, detected.id)
    assert get_face(app, detected.id).id == detected.id


def test_a_restore_sees_the_drawn_face_beside_the_detected_ones(app: AppContext,
                                                                 library: Path) -> None:
    from core.tasks.restore import find_faces

    app.models.put(FACE_BACKEND, SquaresBackend())
    dim = library / "dim.jpg"
    assert find_faces(app, dim).status == "no_faces"
    add_manual_face(app, SquaresBackend(), _photo_id(app, dim), (118, 78, 182, 142))
    found = find_faces(app, dim)
    assert found.status == "found" and len(found.faces) == 1
    assert found.faces[0].box == pytest.approx((118, 78, 182, 142))
    # A drawn face the detector does find is not counted twice.
    red = library / "red_0.jpg"
    add_manual_face(app, SquaresBackend(), _photo_id(app, red), (29, 39, 91, 101))
    assert len(find_faces(app, red).faces) == 1
