"""What age does to a photographic print: tone (grey, sepia, fading), grain, dust, scratches.

Every function takes an H x W x 3 float32 image in 0..1 and returns a new one; the
random ones draw only from the generator they are given, so a seed fixes the result.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

Float = NDArray[np.float32]

# Rec. 601 luma weights (RGB order): what a black-and-white emulsion roughly sees.
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)
# Sepia toning maps grey g to g * tone (brown-warm highlights, never above 1 after clip).
_SEPIA = np.array([1.07, 0.94, 0.74], dtype=np.float32)
_PAPER = np.array([0.96, 0.92, 0.80], dtype=np.float32)  # aged paper white


def luma(image: Float) -> Float:
    """The luminance plane (H x W)."""
    return (image @ _LUMA).astype(np.float32)


def grayscale(image: Float) -> Float:
    """A black-and-white print: luminance copied to all three channels."""
    return np.repeat(luma(image)[..., None], 3, axis=2)


def sepia(image: Float, strength: float) -> Float:
    """Sepia toning, blended with the image by `strength` (0..1)."""
    toned = np.clip(luma(image)[..., None] * _SEPIA, 0.0, 1.0)
    return (image * (1.0 - strength) + toned * strength).astype(np.float32)


def fade(image: Float, amount: float) -> Float:
    """Faded print: contrast lost toward aged paper white, blacks lifted, a warm cast."""
    low = 0.25 * amount  # blacks turn grey as the silver/dye fades
    faded = low + image * (1.0 - low - 0.1 * amount)
    return (faded * (1.0 - 0.5 * amount) + _PAPER * (0.5 * amount) * faded.mean()).clip(
        0.0, 1.0
    ).astype(np.float32)


def film_grain(image: Float, strength: float, rng: np.random.Generator) -> Float:
    """Monochrome grain: clumped noise (slightly blurred) that is stronger in mid-tones."""
    h, w = image.shape[:2]
    grain = rng.standard_normal((h, w)).astype(np.float32)
    grain = np.asarray(cv2.GaussianBlur(grain, (0, 0), 0.6), np.float32)
    grain /= grain.std() + 1e-6
    y = luma(image)
    weight = 4.0 * y * (1.0 - y) + 0.15  # mid-tones show grain most
    return np.clip(image + (strength * grain * weight)[..., None], 0.0, 1.0).astype(np.float32)


def dust(image: Float, count: int, rng: np.random.Generator) -> Float:
    """Specks of dust and pin holes: small dark or bright dots and short hairs."""
    out = image.copy()
    h, w = image.shape[:2]
    layer = np.zeros((h, w), np.float32)
    values = np.zeros((h, w), np.float32)
    scale = max(h, w) / 128.0
    for _ in range(count):
        bright = rng.random() < 0.6  # white specks dominate on scanned prints
        value = float(rng.uniform(0.85, 1.0) if bright else rng.uniform(0.0, 0.15))
        alpha = float(rng.uniform(0.5, 1.0))
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        spot = np.zeros((h, w), np.float32)
        if rng.random() < 0.8:
            radius = max(0, int(round(rng.uniform(0.3, 1.5) * scale)))
            cv2.circle(spot, (x, y), radius, 1.0, -1, lineType=cv2.LINE_AA)
        else:  # a hair: a short curved stroke
            n = 4
            angle = rng.uniform(0, np.pi)
            length = rng.uniform(3, 10) * scale
            t = np.linspace(0, 1, n)
            bend = rng.uniform(-0.3, 0.3)
            px = x + np.cos(angle + bend * t) * length * t
            py = y + np.sin(angle + bend * t) * length * t
            pts = np.stack([px, py], 1).round().astype(np.int32)
            cv2.polylines(spot, [pts], False, 1.0, 1, lineType=cv2.LINE_AA)
        spot *= alpha
        values = np.where(spot > layer, value, values)
        layer = np.maximum(layer, spot)
    out = out * (1.0 - layer[..., None]) + values[..., None] * layer[..., None]
    return out.astype(np.float32)


def scratches(image: Float, count: int, rng: np.random.Generator) -> Float:
    """Long thin scratches, mostly near-vertical, bright (emulsion gone) or dark."""
    h, w = image.shape[:2]
    layer = np.zeros((h, w), np.float32)
    values = np.zeros((h, w), np.float32)
    for _ in range(count):
        value = float(rng.uniform(0.8, 1.0) if rng.random() < 0.75 else rng.uniform(0.0, 0.2))
        angle = np.pi / 2 + rng.normal(0.0, 0.35)
        length = rng.uniform(0.3, 1.2) * max(h, w)
        x0, y0 = rng.uniform(0, w), rng.uniform(0, h)
        t = np.linspace(-0.5, 0.5, 12)
        wobble = np.cumsum(rng.normal(0, 0.01, t.shape))  # scratches are rarely straight
        px = x0 + np.cos(angle + wobble) * length * t
        py = y0 + np.sin(angle + wobble) * length * t
        pts = np.stack([px, py], 1).round().astype(np.int32)
        line = np.zeros((h, w), np.float32)
        cv2.polylines(line, [pts], False, float(rng.uniform(0.4, 1.0)), 1, lineType=cv2.LINE_AA)
        values = np.where(line > layer, value, values)
        layer = np.maximum(layer, line)
    out = image * (1.0 - layer[..., None]) + values[..., None] * layer[..., None]
    return out.astype(np.float32)
