"""Re-analysing a photo never silently drops a face the user made decisions about."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from people_support import person_of
from sqlalchemy import select
from squares_backend import SquaresBackend, squares_photo

from core.context import AppContext
from core.db.models import Face, FacePerson, FaceSource
from core.faces.scan import scan_faces
from core.faces.service import list_faces
from core.faces.types import DetectedFace
from core.library.indexer import index_library
from core.library.service import add_root
from core.people import edits

RED, GREEN = (220, 40, 40), (40, 220, 40)


class ShiftedBackend(SquaresBackend):
    """Another detector: boxes half a face to the right (overlap 1/3), or none at all."""

    def __init__(self, model_id: str, shift: float = 0.5, blind: bool = False) -> None:
        super().__init__(model_id)
        self.shift, self.blind = shift, blind

    def detect(self, image: np.ndarray) -> list[DetectedFace]:
        if self.blind:
            return []
        out = []
        for f in super().detect(image):
            dx = self.shift * f.width
            x0, y0, x1, y1 = f.box
            out.append(DetectedFace((x0 + dx, y0, x1 + dx, y1), f.landmarks + [dx, 0], f.score,
                                    f.detector))
        return out


@pytest.fixture
def decided(app: AppContext, tmp_path: Path) -> tuple[Path, int, int]:
    """A photo with one face the user put into a person, and that person."""
    root = tmp_path / "photos"
    squares_photo(root / "a.jpg", [(20, 20, 60, RED), (200, 100, 60, GREEN)])
    add_root(app, root)
    index_library(app)
    scan_faces(app, SquaresBackend())
    face = min(f.id for f in list_faces(app))
    person = edits.new_person(app, [face], "Red")
    return root, face, person


def test_decisions_move_to_the_same_face_found_by_another_detector(
    app: AppContext, decided: tuple[Path, int, int]
) -> None:
    _, face, person = decided
    scan_faces(app, ShiftedBackend("squares-v2"))
    faces = list_faces(app)
    assert face not in {f.id for f in faces}  # a new face record, overlapping the old one
    heir = [f for f in faces if f.person_id == person]
    assert len(heir) == 1 and heir[0].box[0] == pytest.approx(50)
    with app.db.session() as s:
        row = s.get(FacePerson, heir[0].id)
        assert row is not None and row.source == FaceSource.MOVED


def test_a_decided_face_the_new_detector_misses_is_kept(
    app: AppContext, decided: tuple[Path, int, int]
) -> None:
    _, face, person = decided
    scan_faces(app, ShiftedBackend("squares-v2", blind=True))
    with app.db.session() as s:
        assert set(s.scalars(select(Face.id))) == {face}  # the undecided green face went
    assert person_of(app, face) == person


def test_a_decided_face_cut_out_of_an_edited_photo_goes(
    app: AppContext, decided: tuple[Path, int, int]
) -> None:
    root, face, _ = decided
    squares_photo(root / "a.jpg", [(200, 100, 60, GREEN)])  # the red face is cropped away
    os.utime(root / "a.jpg", ns=(1, 10**18))
    index_library(app)
    scan_faces(app, SquaresBackend())
    assert face not in {f.id for f in list_faces(app)}
    assert len(list_faces(app)) == 1
