"""Seeded synthetic damage on clean photos: scratches, cracks, dust, spots and fading.

For measuring (bench/bench_photo_repair.py) and testing the damage detector, the repair
and the tone correction: every painted pixel is known, so a mask can be scored pixel by
pixel and a repair compared with the clean photo.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

Image = NDArray[np.uint8]
TRUE_ALPHA = 0.25  # a painted pixel counts as damage from this opacity up
VISIBLE = 12.0  # ... and where it changed the luma by this much (0..255): a white scratch
# over white sky is no damage anyone can see, find or needs to repair


@dataclass(frozen=True)
class Damaged:
    """A clean photo, the same photo damaged, and where the damage was painted."""

    clean: Image
    damaged: Image
    mask: NDArray[np.bool_]  # painted damage (fading excluded: it touches every pixel)
    faded: bool


def _colour(rng: np.random.Generator, bright: bool) -> NDArray[np.float32]:
    # Bright damage is the paper showing through (cream to white), dark is dirt or ink.
    if bright:
        base = rng.uniform(205, 250)
        tint = np.array([1.0, 0.97, 0.9]) if rng.random() < 0.5 else np.ones(3)
    else:
        base = rng.uniform(10, 60)
        tint = np.ones(3)
    return np.asarray(base * tint, np.float32)


def _polyline(rng: np.random.Generator, w: int, h: int, length: float,
              wiggle: float) -> NDArray[np.int32]:
    """A long, gently bending line starting anywhere, as points (x, y) in 1/16 px."""
    x, y = rng.uniform(0, w), rng.uniform(0, h)
    angle = rng.uniform(0, np.pi * 2)
    points = [(x, y)]
    step = 6.0
    for _ in range(max(2, int(length / step))):
        angle += rng.normal(0, wiggle)
        x, y = x + step * np.cos(angle), y + step * np.sin(angle)
        points.append((x, y))
    return (np.asarray(points) * 16).astype(np.int32)


def _unit(shape: NDArray[np.uint8]) -> NDArray[np.float32]:
    return np.asarray(shape, np.float32) / np.float32(255)


def _paint(layer: NDArray[np.float32], alpha: NDArray[np.float32], colour: NDArray[np.float32],
           shape_alpha: NDArray[np.float32], opacity: float) -> None:
    a = shape_alpha * opacity
    layer[:] = layer * (1 - a[..., None]) + colour * a[..., None]
    np.maximum(alpha, a, out=alpha)


def paint_damage(clean: Image, seed: int, *, scratches: int = 3, cracks: int = 2,
                 dust: int | None = None, spots: int = 3, thick_cracks: int = 1,
                 fade: bool = False) -> Damaged:
    """`clean` with seeded damage painted over it (RGB uint8 in, RGB uint8 out).

    Scratches: long thin lines (1-3 px), bright or dark. Cracks: branching, bending
    bright lines (1-2 px). Thick cracks: branching bright cracks 3-8 px wide, where the
    emulsion has split open (drawn from their own seeded stream, so adding them leaves the
    rest of the damage as it was). Dust: specks of 1-3 px (by default one per 4,000 pixels).
    Spots: blotches of 4-12 px. Fading (optional): contrast lowered towards a warm cast.
    """
    rng = np.random.default_rng(seed)
    h, w = clean.shape[:2]
    size = float(np.hypot(w, h))
    img = clean.astype(np.float32)
    alpha = np.zeros((h, w), np.float32)
    shape = np.zeros((h, w), np.uint8)

    def stroke(points: NDArray[np.int32], width: int) -> NDArray[np.float32]:
        shape[:] = 0
        cv2.polylines(shape, [points], False, 255, width, cv2.LINE_AA, shift=4)
        return shape.astype(np.float32) / 255.0

    for _ in range(scratches):
        pts = _polyline(rng, w, h, rng.uniform(0.3, 0.8) * size, 0.03)
        _paint(img, alpha, _colour(rng, rng.random() < 0.6),
               stroke(pts, int(rng.integers(1, 4))), rng.uniform(0.7, 1.0))
    for _ in range(cracks):
        pts = _polyline(rng, w, h, rng.uniform(0.2, 0.5) * size, 0.35)
        colour = _colour(rng, True)
        _paint(img, alpha, colour, stroke(pts, int(rng.integers(1, 3))), 0.95)
        for _ in range(int(rng.integers(1, 4))):  # branches off the crack
            start = pts[int(rng.integers(0, len(pts)))] / 16.0
            branch = _polyline(rng, w, h, rng.uniform(0.05, 0.15) * size, 0.4)
            branch = branch - branch[0] + (start * 16).astype(np.int32)
            _paint(img, alpha, colour, stroke(branch, 1), 0.9)
    thick = np.random.default_rng([seed, 1])
    for _ in range(thick_cracks):
        pts = _polyline(thick, w, h, thick.uniform(0.15, 0.35) * size, 0.3)
        colour = _colour(thick, True)
        width = int(thick.integers(3, 9))
        _paint(img, alpha, colour, stroke(pts, width), 0.95)
        for _ in range(int(thick.integers(1, 4))):  # narrower branches off the crack
            start = pts[int(thick.integers(0, len(pts)))]
            branch = _polyline(thick, w, h, thick.uniform(0.05, 0.15) * size, 0.4)
            branch = branch - branch[0] + start
            _paint(img, alpha, colour, stroke(branch, max(2, width // 2)), 0.9)
    n_dust = dust if dust is not None else max(1, h * w // 4000)
    for _ in range(n_dust):
        shape[:] = 0
        centre = (int(rng.uniform(0, w) * 16), int(rng.uniform(0, h) * 16))
        cv2.circle(shape, centre, int(rng.uniform(0.6, 1.6) * 16), 255, -1, cv2.LINE_AA, 4)
        _paint(img, alpha, _colour(rng, rng.random() < 0.5), _unit(shape), rng.uniform(0.75, 1.0))
    for _ in range(spots):
        shape[:] = 0
        centre = (int(rng.uniform(0, w) * 16), int(rng.uniform(0, h) * 16))
        axes = (int(rng.uniform(2, 6) * 16), int(rng.uniform(2, 6) * 16))
        cv2.ellipse(shape, centre, axes, rng.uniform(0, 180), 0, 360, 255, -1, cv2.LINE_AA, 4)
        _paint(img, alpha, _colour(rng, rng.random() < 0.5), _unit(shape), rng.uniform(0.8, 1.0))
    luma = np.array([0.299, 0.587, 0.114], np.float32)
    visible = np.abs((img - clean.astype(np.float32)) @ luma) >= VISIBLE
    if fade:
        img = fade_photo(img, rng)
    damaged = np.clip(np.rint(img), 0, 255).astype(np.uint8)
    return Damaged(clean, damaged, (alpha >= TRUE_ALPHA) & visible, fade)


def fade_photo(img: NDArray[np.float32], rng: np.random.Generator) -> NDArray[np.float32]:
    """An old print's fading: contrast lowered towards a warm, light cast, per channel."""
    amount = rng.uniform(0.3, 0.55)
    cast = np.array([rng.uniform(190, 225), rng.uniform(165, 200), rng.uniform(120, 160)],
                    np.float32)
    # Dyes fade unevenly: blue most, red least.
    keep = (1 - amount) * np.array([1.0, 0.93, 0.82], np.float32)
    return img * keep + cast * (1 - keep)


def faded(clean: Image, seed: int) -> Image:
    """`clean` faded only (no painted damage)."""
    rng = np.random.default_rng(seed)
    return np.clip(np.rint(fade_photo(clean.astype(np.float32), rng)), 0, 255).astype(np.uint8)
