"""Measures shared by the restoration benchmarks: fidelity at the input's size, sharpness,
the classical baseline, paired margins and grids.

- fidelity_psnr: the restored face and the ground truth, both blurred and brought down to
  the input's own resolution, compared (luma PSNR). Removing grain is not punished (the
  blur and the downscale remove it from both), inventing structure that the photo does
  not show is.
- sharpness: edge acutance of the inner face with a noise penalty, relative to the
  ground truth's (1: as crisp as the truth; grain does not count as detail).
- classical: what a careful user of an ordinary editor would do: non-local-means
  denoising at the photo's scale, bicubic enlargement, an unsharp mask.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from core.faces.align import canonical_template

Image = NDArray[np.uint8]


def luma(img: NDArray[np.uint8]) -> NDArray[np.float64]:
    """Rec. 601 luma in 0..255."""
    return img.astype(np.float64) @ np.array([0.299, 0.587, 0.114])


def psnr(a: NDArray[np.uint8], b: NDArray[np.uint8]) -> float:
    """PSNR of the luma, dB."""
    mse = float(np.mean((luma(a) - luma(b)) ** 2))
    return 99.0 if mse == 0 else float(10 * np.log10(255.0**2 / mse))


def to_input_size(img: Image, lr_size: int) -> Image:
    """The image as the photo could show it: blurred by half an input pixel, then area-
    downscaled to the input's size."""
    size = img.shape[0]
    sigma = 0.5 * size / lr_size
    blurred = cv2.GaussianBlur(img, (0, 0), sigmaX=sigma, sigmaY=sigma)
    return np.asarray(cv2.resize(blurred, (lr_size, lr_size), interpolation=cv2.INTER_AREA))


def fidelity_psnr(restored: Image, truth: Image, lr_size: int) -> float:
    """Luma PSNR of restored vs truth at the input's size (see the module docstring)."""
    return psnr(to_input_size(restored, lr_size), to_input_size(truth, lr_size))


def inner_face_mask(size: int) -> NDArray[np.bool_]:
    """Brows to chin, cheek to cheek, on the canonical crop."""
    pts = canonical_template(size)
    x0, x1 = pts[:, 0].min(), pts[:, 0].max()
    y0, y1 = pts[:, 1].min(), pts[:, 1].max()
    pad_x, pad_y = 0.25 * (x1 - x0), 0.35 * (y1 - y0)
    mask = np.zeros((size, size), bool)
    mask[int(y0 - pad_y):int(y1 + pad_y * 0.6), int(x0 - pad_x):int(x1 + pad_x)] = True
    return mask


def _gradient(img: Image) -> NDArray[np.float32]:
    y = luma(img).astype(np.float32)
    gx = cv2.Sobel(y, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(y, cv2.CV_32F, 0, 1, ksize=3)
    return np.asarray(np.hypot(gx, gy), np.float32)


def sharpness(img: Image, truth: Image) -> float:
    """Edge acutance with a noise penalty, relative to the ground truth (1: as crisp).

    The gradient magnitude at the truth's edges (its strongest 10 % inside the inner
    face) minus that on its flat parts (its weakest 50 %), divided by the same for the
    truth. Blur lowers the first term; grain, noise and invented texture raise the
    second: a noisy enlargement does not pass for a sharp one.
    """
    inner = inner_face_mask(img.shape[0])
    g_truth, g_img = _gradient(truth)[inner], _gradient(img)[inner]
    edges = g_truth >= np.percentile(g_truth, 90)
    flat = g_truth <= np.percentile(g_truth, 50)
    contrast = float(g_truth[edges].mean() - g_truth[flat].mean())
    return float(g_img[edges].mean() - g_img[flat].mean()) / max(contrast, 1e-6)


def classical(lr_up: Image, lr_size: int) -> Image:
    """Denoise at the photo's own scale, enlarge, unsharp-mask (the classical baseline)."""
    size = lr_up.shape[0]
    small = cv2.resize(lr_up, (lr_size, lr_size), interpolation=cv2.INTER_AREA)
    clean = cv2.fastNlMeansDenoisingColored(small, None, 7, 7, 3, 7)
    up = cv2.resize(clean, (size, size), interpolation=cv2.INTER_CUBIC).astype(np.float32)
    sigma = 0.8 * size / lr_size
    soft = cv2.GaussianBlur(up, (0, 0), sigmaX=sigma, sigmaY=sigma)
    return np.clip(np.rint(up + 0.8 * (up - soft)), 0, 255).astype(np.uint8)


def paired_margin(a: list[float], b: list[float], seed: int = 0) -> dict[str, object]:
    """Mean of a - b with a 95 % bootstrap interval, and the share where a > b."""
    d = np.asarray(a, np.float64) - np.asarray(b, np.float64)
    rng = np.random.default_rng(seed)
    boots = rng.choice(d, (4000, len(d))).mean(axis=1)
    return {"mean": round(float(d.mean()), 4),
            "ci95": [round(float(np.percentile(boots, 2.5)), 4),
                     round(float(np.percentile(boots, 97.5)), 4)],
            "wins": round(float((d > 0).mean()), 3), "n": int(len(d))}


def grid(rows: list[list[Image]], zoom: int = 2, labels: list[str] | None = None) -> Image:
    """Rows of equally sized tiles as one image (nearest-neighbour zoom, white gaps), with
    an optional header of column labels."""
    s = rows[0][0].shape[0] * zoom
    cols = max(len(r) for r in rows)
    head = 18 if labels else 0
    canvas = np.full((head + len(rows) * (s + 2), cols * (s + 2), 3), 255, np.uint8)
    if labels:
        for c, text in enumerate(labels):
            cv2.putText(canvas, text, (c * (s + 2) + 3, 13), cv2.FONT_HERSHEY_SIMPLEX, 0.42,
                        (0, 0, 0), 1, cv2.LINE_AA)
    for r, row in enumerate(rows):
        for c, tile in enumerate(row):
            big = cv2.resize(tile, (s, s), interpolation=cv2.INTER_NEAREST)
            y, x = head + r * (s + 2), c * (s + 2)
            canvas[y:y + s, x:x + s] = big
    return canvas
