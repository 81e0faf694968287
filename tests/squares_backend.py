"""A deterministic face backend for testing the face pass itself: every bright square
in an image is a "face", and its colour is its "identity". The real backends have
their own tests on real photos."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from core.faces.store import normalise
from core.faces.types import DetectedFace


class SquaresBackend:
    name = "squares"
    embedding_dim = 8

    def __init__(self, model_id: str = "squares-v1") -> None:
        self.model_id = model_id
        self.calls = 0

    def detect(self, image: np.ndarray) -> list[DetectedFace]:
        self.calls += 1
        mask = (image.max(axis=2) > 60).astype(np.uint8)
        n, _, stats, _ = cv2.connectedComponentsWithStats(mask)
        faces = []
        for x, y, w, h, area in stats[1:n]:
            if area < 16:
                continue
            lm = np.array([[x + 0.3 * w, y + 0.4 * h], [x + 0.7 * w, y + 0.4 * h],
                           [x + 0.5 * w, y + 0.6 * h], [x + 0.35 * w, y + 0.8 * h],
                           [x + 0.65 * w, y + 0.8 * h]])
            faces.append(DetectedFace((float(x), float(y), float(x + w), float(y + h)), lm, 0.99,
                                      "squares"))
        return faces

    def embed(self, image: np.ndarray, faces: Sequence[DetectedFace]) -> np.ndarray:
        rows = []
        for f in faces:
            x0, y0, x1, y1 = (int(v) for v in f.box)
            colour = image[y0:y1, x0:x1].reshape(-1, 3).mean(axis=0)
            rows.append(np.concatenate([colour, [1, 1, 1, 1, 1]]))
        return normalise(np.array(rows, dtype=np.float32))


def squares_photo(path: Path, squares: list[tuple[int, int, int, tuple[int, int, int]]],
                  size: tuple[int, int] = (320, 240)) -> Path:
    """A black photo with coloured squares (x, y, side, colour)."""
    arr = np.zeros((size[1], size[0], 3), np.uint8)
    for x, y, side, colour in squares:
        arr[y:y + side, x:x + side] = colour
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path, quality=95)
    return path
