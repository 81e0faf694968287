"""Helpers shared by tests (importable as `tests_support`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def make_jpeg(path: Path, seed: int, size: tuple[int, int] = (320, 240)) -> Path:
    """A small JPEG with content unique to its seed."""
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 255, (size[1] // 8, size[0] // 8, 3), dtype=np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).resize(size, Image.Resampling.NEAREST).save(path, quality=90)
    return path
