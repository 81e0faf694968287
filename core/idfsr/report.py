"""Pictures of a training run: sample grids and the loss curve (PNG, drawn with Pillow)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageDraw


def image_grid(rows: Sequence[Sequence[NDArray[np.uint8]]], pad: int = 2) -> NDArray[np.uint8]:
    """Tile equally sized H x W x 3 images into rows (white gutters)."""
    h, w = rows[0][0].shape[:2]
    cols = max(len(r) for r in rows)
    grid = np.full((len(rows) * (h + pad) + pad, cols * (w + pad) + pad, 3), 255, np.uint8)
    for r, row in enumerate(rows):
        for c, img in enumerate(row):
            y, x = pad + r * (h + pad), pad + c * (w + pad)
            grid[y:y + h, x:x + w] = img
    return grid


def save_png(image: NDArray[np.uint8], path: Path) -> Path:
    """Write an RGB uint8 image as PNG."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(path)
    return path


def smooth(values: Sequence[float], window: int) -> NDArray[np.float64]:
    """Trailing moving average (same length as the input)."""
    v = np.asarray(values, np.float64)
    if len(v) == 0:
        return v
    c = np.cumsum(np.insert(v, 0, 0.0))
    idx = np.arange(1, len(v) + 1)
    lo = np.maximum(0, idx - window)
    return (c[idx] - c[lo]) / (idx - lo)


def loss_curve_png(losses: Sequence[float], path: Path, size: tuple[int, int] = (640, 360)) -> Path:
    """Plot the per-step loss (grey) and its moving average (blue) on a log scale."""
    w, h = size
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    left, right, top, bottom = 60, w - 10, 10, h - 30
    draw.rectangle([left, top, right, bottom], outline="black")
    v = np.asarray(losses, np.float64)
    v = v[np.isfinite(v) & (v > 0)]
    if len(v) >= 2:
        lo, hi = np.log10(v.min()), np.log10(v.max())
        hi = hi if hi > lo else lo + 1.0

        def xy(i: int, value: float) -> tuple[float, float]:
            x = left + (right - left) * i / (len(v) - 1)
            y = bottom - (bottom - top) * (np.log10(value) - lo) / (hi - lo)
            return float(x), float(y)

        draw.line([xy(i, x) for i, x in enumerate(v)], fill=(190, 190, 190))
        avg = smooth(v.tolist(), max(1, len(v) // 50))
        draw.line([xy(i, x) for i, x in enumerate(avg)], fill=(30, 80, 200), width=2)
        draw.text((4, top), f"{10**hi:.3g}", fill="black")
        draw.text((4, bottom - 10), f"{10**lo:.3g}", fill="black")
    draw.text((left, bottom + 8), f"loss per step (log), {len(v)} steps", fill="black")
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
    return path


def write_loss_csv(losses: Sequence[float], lrs: Sequence[float], path: Path) -> Path:
    """step,loss,lr rows."""
    lines = ["step,loss,lr"] + [f"{i + 1},{loss:.6g},{lr:.6g}"
                                for i, (loss, lr) in enumerate(zip(losses, lrs, strict=False))]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
