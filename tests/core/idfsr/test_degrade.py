"""Old-photo degradations: seeded, deterministic, each one active, antialiased downscale."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from idfsr_support import make_faces

from core.idfsr.degrade import (
    DegradationConfig,
    DegradationParams,
    blur_kernel,
    degrade,
    downscale,
    lr_size_for,
    sample_degradation,
)

FACE = make_faces(1, seed=3, size=64)[0][0]
HEAVY = DegradationParams(scale=6.0, seed=11, blur="motion", blur_size=1.5, blur_angle=30,
                          noise=0.03, tone="sepia", fade=0.3, scan_factor=3.0, grain=0.08,
                          dust=10, scratches=2, jpeg=40)


def test_same_params_same_bytes() -> None:
    a, b = degrade(FACE, HEAVY), degrade(FACE, HEAVY)
    assert np.array_equal(a.lr_up, b.lr_up)
    assert a.lr_up.shape == FACE.shape and a.lr_up.dtype == np.uint8
    assert not np.array_equal(degrade(FACE, replace(HEAVY, seed=12)).lr_up, a.lr_up)


def test_sampling_is_seeded() -> None:
    cfg = DegradationConfig()
    draw = [sample_degradation(np.random.default_rng(5), cfg) for _ in range(2)]
    assert draw[0] == draw[1]
    many = [sample_degradation(np.random.default_rng(s), cfg) for s in range(200)]
    scales = np.array([p.scale for p in many])
    assert scales.min() >= 4.0 and scales.max() <= 32.0
    assert {p.blur for p in many} == {"none", "gaussian", "motion", "defocus"}
    assert {p.tone for p in many} == {"color", "gray", "sepia"}
    assert any(p.jpeg for p in many) and any(p.dust for p in many)
    assert any(p.scratches for p in many)


@pytest.mark.parametrize("change", [
    {"blur": "gaussian", "blur_size": 1.0}, {"blur": "motion", "blur_size": 2.0},
    {"blur": "defocus", "blur_size": 1.0}, {"noise": 0.05}, {"noise": 0.05, "mono_noise": True},
    {"tone": "gray"}, {"tone": "sepia"}, {"fade": 0.4}, {"grain": 0.1}, {"dust": 8},
    {"scratches": 3}, {"jpeg": 20},
])
def test_each_degradation_changes_the_image(change: dict) -> None:
    plain = DegradationParams(scale=4.0, seed=1, scan_factor=4.0)
    base = degrade(FACE, plain).lr_up
    out = degrade(FACE, replace(plain, **change)).lr_up
    assert not np.array_equal(out, base), change
    if change.get("tone") == "gray":
        assert np.ptp(out.astype(int), axis=2).max() <= 2  # channels agree (JPEG aside)


def test_scale_sets_the_lr_resolution() -> None:
    assert lr_size_for(64, 4.0) == 16 and lr_size_for(64, 32.0) == 2
    assert degrade(FACE, DegradationParams(scale=8.0, seed=0)).lr_size == 8


def test_downscale_is_antialiased() -> None:
    stripes = np.zeros((64, 64, 3), np.float32)
    stripes[:, ::2] = 1.0  # the finest pattern a 64 px image holds
    small = downscale(stripes, 8)
    assert np.abs(small - 0.5).max() < 0.02  # averaged to grey, no moiré


def test_blur_kernels_are_normalised() -> None:
    for kind in ("gaussian", "motion", "defocus"):
        k = blur_kernel(kind, 3.0, 45.0)
        assert k is not None and abs(float(k.sum()) - 1.0) < 1e-5
    assert blur_kernel("none", 3.0, 0.0) is None
