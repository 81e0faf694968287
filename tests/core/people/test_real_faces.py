"""The dlib thresholds on real photos: the same person links, strangers never do (among
faces big enough to link; relatives in a family photo included)."""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.faces.embedded import EmbeddedBackend
from core.people.params import params_for

FACES = Path(__file__).resolve().parents[2] / "fixtures" / "faces"


@pytest.fixture(scope="module")
def backend() -> EmbeddedBackend:
    return EmbeddedBackend()


def _strong_faces(backend: EmbeddedBackend, path: Path) -> np.ndarray:
    rgb = np.asarray(Image.open(path).convert("RGB"))
    min_px = params_for(backend.model_id).min_face_px
    return backend.embed(rgb, [f for f in backend.detect(rgb) if f.size_px >= min_px])


def test_same_person_links_and_strangers_do_not(backend: EmbeddedBackend) -> None:
    link = params_for(backend.model_id).link_sim
    people = {name: [_strong_faces(backend, f)[0]
                     for f in sorted((FACES / "people" / name).glob("*.jpg"))]
              for name in ("id01", "id03")}
    for name, (a, b) in people.items():
        assert float(a @ b) >= link, name
    for a in people["id01"]:
        for b in people["id03"]:
            assert float(a @ b) < link


@pytest.mark.parametrize("photo", ["t1.jpg", "2007_007763.jpg", "2008_007676.jpg"])
def test_nobody_in_a_group_photo_is_linked_to_another(backend: EmbeddedBackend,
                                                      photo: str) -> None:
    faces = _strong_faces(backend, FACES / "groups" / photo)
    assert len(faces) >= 3
    worst = max(float(a @ b) for a, b in combinations(faces, 2))
    assert worst < params_for(backend.model_id).link_sim
