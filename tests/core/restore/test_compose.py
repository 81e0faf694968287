"""Geometry and tone of the paste-back: the exact inverse, colour kept, grey kept grey."""

from __future__ import annotations

import cv2
import numpy as np

from core.faces.align import canonical_template
from core.restore import compose


def _photo(h: int = 120, w: int = 160) -> np.ndarray:
    rng = np.random.default_rng(3)
    small = rng.integers(0, 255, (h // 8, w // 8, 3), dtype=np.uint8)
    return np.asarray(cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC), np.uint8)


def _landmarks(x: float, y: float, side: float) -> np.ndarray:
    # A face of `side` pixels: the canonical template placed at (x, y).
    return canonical_template(1) * side * 1.8 + np.array([x, y]) - side * 0.4


def test_pasting_the_unchanged_crop_gives_the_photo_back() -> None:
    photo = _photo()
    aligned = compose.align_face(photo, _landmarks(60, 40, 16), 64)
    assert 16 <= aligned.lr_size <= 40
    for scale in (1.0, 2.0, 3.0):
        canvas = compose.upscale_photo(photo, scale)
        reference = canvas.copy()
        # The LR crop, as the model would see it, seen again at the canvas's resolution.
        crop = compose.align_face(reference, compose.enlarged(
            aligned.alignment, photo.shape, canvas.shape).to_photo(aligned.landmarks), 64)
        compose.paste_face(canvas, crop.lr_up, aligned, photo.shape)
        diff = np.abs(canvas.astype(int) - reference.astype(int))
        assert diff.mean() < 1.0 and np.percentile(diff, 99.9) < 40, scale


def test_paste_touches_only_the_face() -> None:
    photo = _photo()
    aligned = compose.align_face(photo, _landmarks(60, 40, 16), 64)
    canvas = compose.upscale_photo(photo, 2.0)
    before = canvas.copy()
    compose.paste_face(canvas, np.zeros((64, 64, 3), np.uint8), aligned, photo.shape)
    changed = np.argwhere(np.abs(canvas.astype(int) - before.astype(int)).max(axis=2) > 0)
    y0, x0 = changed.min(axis=0)
    y1, x1 = changed.max(axis=0)
    assert 2 * 30 < x0 < x1 < 2 * 110 and 2 * 5 < y0 < y1 < 2 * 90
    # The face centre is fully replaced; the rest of the photo is not touched.
    assert canvas[2 * 58, 2 * 68].max() < 10
    assert np.array_equal(canvas[:, : 2 * 30], before[:, : 2 * 30])


def test_face_at_the_border_pastes_without_error() -> None:
    photo = _photo()
    aligned = compose.align_face(photo, _landmarks(-6, 50, 16), 64)
    canvas = compose.upscale_photo(photo, 2.0)
    compose.paste_face(canvas, np.full((64, 64, 3), 255, np.uint8), aligned, photo.shape)
    assert canvas.shape == (240, 320, 3) and canvas[:, :20].max() == 255


def test_tone_match_keeps_the_photos_colour_and_the_models_detail() -> None:
    rng = np.random.default_rng(0)
    lr = np.full((64, 64, 3), (150, 110, 70), np.uint8)  # a warm, flat old face
    restored = np.clip(rng.normal(128, 30, (64, 64, 3)), 0, 255).astype(np.uint8)
    out = compose.tone_match(restored, lr, 16, colourless=False)
    assert np.allclose(out.reshape(-1, 3).mean(axis=0), (150, 110, 70), atol=3)
    assert out.std() > 10  # the detail survived


def test_grey_stays_grey_and_sepia_stays_sepia() -> None:
    rng = np.random.default_rng(1)
    colourful = np.clip(rng.normal(128, 20, (64, 64, 3)), 0, 255).astype(np.uint8)
    for tone in ((120, 120, 120), (140, 112, 84)):
        lr = np.full((64, 64, 3), tone, np.uint8)
        assert compose.is_colourless(lr) or tone != (120, 120, 120)
        out = compose.tone_match(colourful, lr, 16, colourless=True)
        chroma = out.astype(int) - out.astype(int).mean(axis=2, keepdims=True)
        want = np.array(tone) - np.mean(tone)
        assert np.abs(chroma - want).max() <= 2  # detail in luma only: the tint is the photo's


def test_grain_follows_the_photo() -> None:
    flat = np.full((100, 100, 3), 128, np.uint8)
    grainy = np.clip(flat + np.random.default_rng(2).normal(0, 8, (100, 100, 1)), 0,
                     255).astype(np.uint8)
    box = (30.0, 30.0, 60.0, 60.0)
    assert compose.grain_sigma(flat, box) == 0.0
    assert 4 < compose.grain_sigma(grainy, box) < 12
    face = np.full((64, 64, 3), 100, np.uint8)
    assert compose.add_grain(face, 16, 0.0, 0) is face
    assert compose.add_grain(face, 16, 8.0, 0).std() > 2


def test_upscale_sizes() -> None:
    photo = _photo(33, 47)
    assert compose.upscale_photo(photo, 1.0).shape == photo.shape
    assert compose.upscale_photo(photo, 2.5).shape == (82, 118, 3)
