"""Composition keeps what the model restored: the photo's tone, not its grain."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from restore_support import tiny_restorer_folder

from core.context import AppContext
from core.restore import compose
from core.restore.options import PersonChoice, RestoreOptions
from core.tasks.restore import restore_photos


def _high(img: np.ndarray) -> np.ndarray:
    x = img.astype(np.float32)
    return x - cv2.GaussianBlur(x, (0, 0), 2.0)


def test_tone_match_takes_the_photos_light_but_not_its_grain() -> None:
    rng = np.random.default_rng(0)
    size, lr_size = 64, 20
    yy, xx = np.mgrid[:size, :size]
    face = np.clip(128 + 60 * np.sin(xx / 6.0) * np.cos(yy / 9.0), 0, 255)
    restored = np.repeat(face[..., None], 3, axis=2).astype(np.uint8)
    # The photo: the same face 30 levels brighter, with grain at its own pixel size.
    grain = cv2.resize(rng.normal(0, 25, (lr_size, lr_size)).astype(np.float32), (size, size),
                       interpolation=cv2.INTER_NEAREST)
    photo = np.clip(face + 30 + grain, 0, 255)
    lr_up = np.repeat(photo[..., None], 3, axis=2).astype(np.uint8)
    out = compose.tone_match(restored, lr_up, lr_size, colourless=True)
    # The photo's exposure came through...
    assert out.mean() == pytest.approx(lr_up.mean(), abs=4.0)
    # ...its grain did not: the detail is the restoration's.
    grain_left = np.abs(_high(out) - _high(restored)).mean()
    assert grain_left < 0.25 * np.abs(_high(lr_up) - _high(restored)).mean()


@pytest.fixture(scope="module")
def restorer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_restorer_folder(tmp_path_factory.mktemp("restorer") / "tiny")


def test_the_pasted_face_is_the_restoration_not_the_input(
        lib: AppContext, restorer_dir: Path, old_photos: Path, tmp_path: Path) -> None:
    options = RestoreOptions(model=str(restorer_dir), save_crops=True, fit_missing=False,
                             candidates=2, scale=2.0, repair=False, tone=0.0,
                             persons=(PersonChoice(1, "Barack Obama", "group.jpg"),))
    report = restore_photos(lib, [old_photos / "group.jpg"], tmp_path / "out", options)
    (photo,) = report.photos
    assert photo.status == "restored", photo.message
    first = photo.faces[0]
    assert first.path == "personal"  # no fit: the mean of his photos' identities
    assert any("mean identity" in m for m in first.message.split("; "))
    assert len(first.candidates) == 2  # one per reference photo
    assert first.reference is not None
    lr = np.asarray(Image.open(first.crops["lr"]).convert("RGB"))
    result = np.asarray(Image.open(first.crops["result"]).convert("RGB"))
    # The model changed the face; what is pasted is that change, not the input's pixels.
    assert np.abs(result.astype(int) - lr.astype(int)).mean() > 3.0
    out = np.asarray(Image.open(photo.output or "").convert("RGB")).astype(np.float32)
    src = Image.open(old_photos / "group.jpg").convert("RGB")
    enlarged = np.asarray(src.resize((out.shape[1], out.shape[0]), Image.Resampling.LANCZOS),
                          np.float32)
    x0, y0, x1, y1 = (int(round(v * photo.scale)) for v in first.box)
    region = (slice(y0, y1), slice(x0, x1))
    assert np.abs(out[region] - enlarged[region]).mean() > 2.0
    # Away from the faces the photo is only enlarged.
    assert np.abs(out[:6, :6] - enlarged[:6, :6]).mean() < 2.0
