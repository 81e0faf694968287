"""core.faces.align: templates, similarity fits, and exact round trips (points and pixels)."""

from __future__ import annotations

import numpy as np
import pytest

from core.faces import align


def _similarity(angle_deg: float, scale: float, tx: float, ty: float) -> np.ndarray:
    a = np.radians(angle_deg)
    c, s = scale * np.cos(a), scale * np.sin(a)
    return np.array([[c, -s, tx], [s, c, ty]])


def _blob_image(centres: np.ndarray, shape: tuple[int, int], sigma: float = 2.5) -> np.ndarray:
    """Grey image with Gaussian blobs at sub-pixel centres (pixel centres at integers)."""
    ys, xs = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float64)
    img = np.zeros(shape)
    for cx, cy in centres:
        img += np.exp(-((xs - cx) ** 2 + (ys - cy) ** 2) / (2 * sigma**2))
    return np.clip(img * 230.0, 0, 255).astype(np.uint8)


def _centroid(img: np.ndarray, near: np.ndarray, radius: int) -> np.ndarray:
    """Intensity-weighted centroid of the blob around `near`."""
    x0, y0 = (int(round(v)) - radius for v in near)
    win = img[y0 : y0 + 2 * radius + 1, x0 : x0 + 2 * radius + 1].astype(np.float64)
    win = np.clip(win - 0.1 * win.max(), 0, None)  # ignore the faint tails of other blobs
    ys, xs = np.mgrid[0 : win.shape[0], 0 : win.shape[1]]
    return np.array([(xs * win).sum() / win.sum() + x0, (ys * win).sum() / win.sum() + y0])


def test_points_round_trip_exactly() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        truth = _similarity(rng.uniform(-60, 60), rng.uniform(0.2, 5), *rng.uniform(-300, 300, 2))
        photo_pts = rng.uniform(0, 2000, (5, 2))
        matrix = align.estimate_similarity(photo_pts, align.apply(truth, photo_pts))
        fitted = align.Alignment(matrix, 112)
        np.testing.assert_allclose(fitted.matrix, truth, atol=1e-8)
        back = fitted.to_photo(fitted.to_crop(photo_pts))
        assert np.abs(back - photo_pts).max() < 1e-6  # far below the 0.5 px requirement


@pytest.mark.parametrize("scale", [1.7, 0.6])
def test_image_crop_and_paste_round_trip_within_half_a_pixel(scale: float) -> None:
    # Blobs at sub-pixel photo positions; the alignment rotates 17 degrees and scales.
    photo_centres = np.array([[150.3, 140.7], [210.6, 150.2], [180.25, 200.8], [140.9, 230.4]])
    photo = _blob_image(photo_centres, (400, 400), sigma=3.0)
    size = 256
    matrix = _similarity(17.0, scale, 0.0, 0.0)
    # Put the blobs' middle at the crop's middle.
    matrix[:, 2] = (size - 1) / 2 - align.apply(matrix, photo_centres.mean(axis=0))[0]
    alignment = align.Alignment(matrix, size)
    crop = alignment.crop(photo)
    expected_in_crop = alignment.to_crop(photo_centres)
    radius = max(4, int(round(3.0 * scale * 2.5)))
    # Measured ~0.01 px. The bound is well under 0.5 px because a half-pixel convention
    # slip (pixel corners vs centres) would show as exactly 0.5 px times the scale.
    for want in expected_in_crop:
        assert np.linalg.norm(_centroid(crop, want, radius) - want) < 0.1
    pasted = alignment.paste(crop, np.zeros_like(photo), mask=np.ones((size, size), np.float32))
    for want in photo_centres:
        assert np.linalg.norm(_centroid(pasted, want, 8) - want) < 0.1


def test_templates_map_onto_themselves() -> None:
    np.testing.assert_allclose(
        align.arcface_alignment(align.ARCFACE_TEMPLATE).matrix, np.eye(2, 3), atol=1e-9
    )
    np.testing.assert_allclose(
        align.dlib_chip_alignment(align.DLIB_CHIP_TEMPLATE).matrix, np.eye(2, 3), atol=1e-9
    )
    for size in (64, 256, 512):
        a = align.canonical_alignment(align.canonical_template(size), size)
        np.testing.assert_allclose(a.matrix, np.eye(2, 3), atol=1e-9)


@pytest.mark.parametrize("kind,size", [("arcface", 112), ("dlib", 150), ("canonical", 256)])
def test_face_in_a_photo_lands_on_the_template(kind: str, size: int) -> None:
    template = {
        "arcface": align.ARCFACE_TEMPLATE,
        "dlib": align.DLIB_CHIP_TEMPLATE,
        "canonical": align.canonical_template(size),
    }[kind]
    # The same face, rotated, scaled and moved somewhere in a photo.
    photo_pts = align.apply(_similarity(-23.0, 0.37, 812.0, 455.0), template)
    a = align.template_alignment(kind, photo_pts, size)
    assert a.size == size
    np.testing.assert_allclose(a.to_crop(photo_pts), template, atol=1e-6)
    assert a.scale == pytest.approx(1 / 0.37)
    assert a.rotation_degrees == pytest.approx(23.0)


@pytest.mark.parametrize(
    "template,size",
    [
        (align.ARCFACE_TEMPLATE, align.ARCFACE_SIZE),
        (align.DLIB_CHIP_TEMPLATE, align.DLIB_CHIP_SIZE),
        (align.canonical_template(512), 512),
    ],
)
def test_templates_have_face_geometry(template: np.ndarray, size: int) -> None:
    le, re, nose, lm, rm = template
    assert le[0] < re[0] and lm[0] < rm[0]  # viewer's left first
    assert max(le[1], re[1]) < nose[1] < min(lm[1], rm[1])  # eyes, nose, mouth downwards
    assert abs((le[0] + re[0]) / 2 - (size - 1) / 2) < 0.03 * size  # centred
    assert np.all((template > 0) & (template < size))


def test_degenerate_landmarks_are_refused() -> None:
    with pytest.raises(ValueError, match="degenerate"):
        align.arcface_alignment(np.full((5, 2), 7.0))
    with pytest.raises(ValueError, match="NaN"):
        align.arcface_alignment(np.array([[1, 2], [3, 4], [np.nan, 5], [6, 7], [8, 9]]))
    with pytest.raises(ValueError, match="5 landmarks"):
        align.arcface_alignment(np.zeros((4, 2)))
    with pytest.raises(ValueError):
        align.template_alignment("canonical", align.ARCFACE_TEMPLATE)  # no size
    with pytest.raises(ValueError, match="unknown"):
        align.template_alignment("nonsense", align.ARCFACE_TEMPLATE)


def test_pose_and_mirroring() -> None:
    tilted = align.apply(_similarity(12.0, 2.0, 50.0, 80.0), align.ARCFACE_TEMPLATE)
    roll, yaw, pitch = align.roll_yaw_pitch(tilted)
    assert roll == pytest.approx(12.0, abs=0.5)
    assert abs(yaw) < 0.05 and 0.3 < pitch < 0.6
    mirrored = align.mirror_landmarks(tilted, 400)
    assert mirrored[0, 0] < mirrored[1, 0]  # still viewer's left eye first
    np.testing.assert_allclose(align.mirror_landmarks(mirrored, 400), tilted)


def _tps_field_by_hand(centres: np.ndarray, values: np.ndarray, size: int,
                       smoothing: float) -> np.ndarray:
    """The thin-plate spline solved as its textbook linear system (what align.py did before
    it used scipy): kernel r^2 log r plus an affine part, evaluated on the S x S grid."""

    def kernel(r2: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.nan_to_num(0.5 * r2 * np.log(r2), nan=0.0, posinf=0.0, neginf=0.0)

    c = centres / size
    k = len(c)
    system = np.zeros((k + 3, k + 3))
    system[:k, :k] = kernel(((c[:, None] - c[None]) ** 2).sum(-1)) + smoothing * np.eye(k)
    system[:k, k], system[:k, k + 1:] = 1.0, c
    system[k, :k], system[k + 1:, :k] = 1.0, c.T
    rhs = np.zeros((k + 3, 2))
    rhs[:k] = values
    coef = np.linalg.solve(system, rhs)
    axis = np.arange(size, dtype=np.float64) / size
    gx, gy = np.meshgrid(axis, axis)
    grid = np.stack([gx.ravel(), gy.ravel()], axis=1)
    g2 = ((grid[:, None] - c[None]) ** 2).sum(-1)
    return (kernel(g2) @ coef[:k] + coef[k] + grid @ coef[k + 1:]).reshape(size, size, 2)


@pytest.mark.parametrize("size", [64, 200])
def test_the_thin_plate_warp_matches_the_linear_system_solved_by_hand(
        size: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(size)
    dst = align.canonical_template(size)
    s = size - 1
    anchors = np.array([[0, 0], [s / 2, 0], [s, 0], [0, s / 2], [s, s / 2], [0, s],
                        [s / 2, s], [s, s]], dtype=np.float64)
    centres = np.concatenate([dst, anchors])
    values = np.concatenate([rng.normal(0, 0.02, (5, 2)), np.zeros((8, 2))])
    field = align._tps_field(centres, values, size, smoothing=1e-3)
    expected = _tps_field_by_hand(centres, values, size, smoothing=1e-3)
    assert np.abs(field - expected).max() < 1e-9
    assert np.abs(field).max() > 0.005  # a real correction was compared, not zeros

    # The whole warp, as the reference conditioning uses it, is the same to the pixel.
    image = rng.integers(0, 255, (size, size, 3), dtype=np.uint8)
    src = dst * 0.9 + rng.normal(0, size * 0.02, dst.shape) + size * 0.05
    warped = align.landmark_warp(image, src, dst, size)
    rigid = align.landmark_warp(image, src, dst, size, nonrigid=0.0)
    assert np.abs(warped.astype(int) - rigid).max() > 50  # the nonrigid part moved pixels
    monkeypatch.setattr(align, "_tps_field", _tps_field_by_hand)
    by_hand = align.landmark_warp(image, src, dst, size)
    assert np.abs(warped.astype(int) - by_hand).max() <= 1

