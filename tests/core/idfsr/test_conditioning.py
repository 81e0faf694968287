"""Geometry of the conditions: the soft face mask, the landmark warp, the condition tensor."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from core.faces.align import (
    apply,
    canonical_template,
    landmark_warp,
    mirror_landmarks,
)
from core.idfsr.conditioning import build_condition, face_mask, to_unit, warp_reference

S = 64


def test_mask_covers_the_inner_face_with_soft_edges() -> None:
    t = canonical_template(S)
    m = face_mask(t, S)
    assert m.shape == (S, S) and m.dtype == np.float32
    for x, y in t:  # eyes, nose, mouth corners inside
        assert m[int(round(y)), int(round(x))] > 0.95
    assert m[0, 0] == 0 and m[0, S // 2] == 0 and m[S - 1, 0] == 0  # hair and corners outside
    assert ((m > 0.05) & (m < 0.95)).sum() > 2 * S  # a soft band, not a hard edge


def test_mask_follows_the_face() -> None:
    t = canonical_template(S)
    rot = cv2.getRotationMatrix2D(((S - 1) / 2, (S - 1) / 2), 90, 1.0)
    turned = face_mask(apply(rot, t), S)
    expected = cv2.warpAffine(face_mask(t, S), rot, (S, S))
    assert np.abs(turned - expected).mean() < 0.02
    assert face_mask(t, S, grow=1.3).sum() > face_mask(t, S).sum()


def _dots(points: np.ndarray, size: int) -> np.ndarray:
    img = np.zeros((size, size, 3), np.uint8)
    for x, y in points:
        cv2.circle(img, (int(round(x)), int(round(y))), 2, (255, 255, 255), -1, cv2.LINE_AA)
    return img


def _centroids(img: np.ndarray, near: np.ndarray) -> np.ndarray:
    gray = img[..., 0].astype(np.float64)
    ys, xs = np.mgrid[: img.shape[0], : img.shape[1]]
    out = []
    for x, y in near:
        w = gray * (np.hypot(xs - x, ys - y) < 5)
        out.append([(w * xs).sum() / w.sum(), (w * ys).sum() / w.sum()])
    return np.array(out)


def test_similarity_warp_puts_landmarks_on_the_target() -> None:
    dst = canonical_template(S)
    m = cv2.getRotationMatrix2D((40, 50), 20, 1.3)
    src = apply(m, dst) + [10, 5]
    warped = landmark_warp(_dots(src, 100), src, dst, S, nonrigid=0.0)
    assert np.abs(_centroids(warped, dst) - dst).max() < 0.6


def test_nonrigid_warp_fixes_what_a_similarity_cannot() -> None:
    dst = canonical_template(S)
    src = dst.copy()
    src[3:, 1] += 4.0  # a longer face: mouth further from the eyes
    src[2, 0] += 2.0
    rigid = landmark_warp(_dots(src, S), src, dst, S, nonrigid=0.0)
    fine = landmark_warp(_dots(src, S), src, dst, S, nonrigid=1.0)
    err_rigid = np.abs(_centroids(rigid, dst) - dst).max()
    err_fine = np.abs(_centroids(fine, dst) - dst).max()
    assert err_fine < 0.6 < err_rigid


def test_nonrigid_warp_is_damped_for_very_different_shapes() -> None:
    dst = canonical_template(S)
    src = dst.copy()
    src[2, 0] += 20.0  # a nose far off: a profile, or a bad landmark
    img = _dots(src, S)
    warped = landmark_warp(img, src, dst, S, nonrigid=1.0, max_shift=0.05)
    assert np.isfinite(warped.astype(float)).all()
    assert warped.shape == (S, S, 3)


def test_reference_looking_the_other_way_is_mirrored() -> None:
    t = canonical_template(S)
    left = t.copy()
    left[2, 0] -= 8  # nose off to the viewer's left
    right = mirror_landmarks(left, S)
    ref = np.zeros((S, S, 3), np.uint8)
    ref[:, : S // 2] = 255  # the reference's left half is white
    out = warp_reference(ref, left, right, S, nonrigid=0.0)
    assert out[:, : S // 2].mean() < out[:, S // 2 :].mean()
    kept = warp_reference(ref, left, right, S, nonrigid=0.0, allow_flip=False)
    assert kept[:, : S // 2].mean() > kept[:, S // 2 :].mean()


@pytest.mark.parametrize("opacity", [1.0, 0.5, 0.0])
def test_condition_hides_the_face_by_opacity(opacity: float) -> None:
    t = canonical_template(S)
    lr = np.full((S, S, 3), 200, np.uint8)
    ref = np.full((S, S, 3), 50, np.uint8)
    c = build_condition(lr, t, ref, opacity=opacity)
    assert c.shape == (7, S, S) and c.dtype == np.float32
    nose = int(round(t[2, 1])), int(round(t[2, 0]))
    lr_value = to_unit(lr)[0, 0, 0]
    assert c[0][nose] == pytest.approx(lr_value * (1 - opacity), abs=1e-5)
    assert c[3][nose] == pytest.approx(opacity, abs=1e-5)
    assert c[0, 0, 0] == pytest.approx(lr_value)  # outside the face the LR is untouched
    np.testing.assert_allclose(c[4:], to_unit(ref))
    assert not build_condition(lr, t, None)[4:].any()  # no reference: zeros
