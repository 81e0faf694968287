"""Whether a detected face gives a usable aligned crop at S x S, and that crop.

The same filters pick the faces a model is trained on (core.idfsr.prepare) and a
person's library faces that fitting and restoration use (core.restore.library_faces):
the detector's score, the face's own resolution against S, the pose, how much of the
crop the photo covers, and sharpness.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from core.faces.align import canonical_alignment, roll_yaw_pitch
from core.faces.types import DetectedFace


@dataclass(frozen=True)
class CropRules:
    """What a face must be to be cut out at `size`."""

    size: int = 64
    min_score: float = 0.5
    min_face_ratio: float = 0.5  # the face's own resolution must be >= ratio * S
    max_yaw: float = 0.6
    # Share of the crop inside the photo. Tight crops (UTKFace) fill ~0.45: kept, and
    # training ignores the padding through each face's photo outline.
    min_coverage: float = 0.4
    min_sharpness: float = 0.0


def sharpness(crop: NDArray[np.uint8]) -> float:
    """Laplacian energy relative to contrast: low for blurry or upscaled faces."""
    gray = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return float(cv2.Laplacian(gray, cv2.CV_32F).var() / (gray.var() + 1.0))


def coverage(matrix: NDArray[np.float64], size: int, shape: tuple[int, ...]) -> float:
    """Share of the S x S crop that falls inside the photo (the rest is mirrored padding)."""
    ones = np.ones(shape[:2], np.uint8)
    inside = cv2.warpAffine(ones, matrix, (size, size), flags=cv2.INTER_NEAREST,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return float(inside.mean())


def check_face(face: DetectedFace, image: NDArray[np.uint8], rules: CropRules
                ) -> tuple[str, dict[str, Any], NDArray[np.uint8], NDArray[Any]]:
    """('' or the reason to reject, item metadata, crop, crop landmarks) for one face."""
    size = rules.size
    empty = np.zeros((0,), np.uint8)
    if face.score < rules.min_score:
        return "low_score", {}, empty, empty
    align = canonical_alignment(face.landmarks, size)
    face_px = size / align.scale  # the face's own resolution across the crop
    if face_px < rules.min_face_ratio * size:
        return "too_small", {}, empty, empty
    _, yaw, _ = roll_yaw_pitch(face.landmarks)
    if abs(yaw) > rules.max_yaw:
        return "profile", {}, empty, empty
    cov = coverage(align.matrix, size, image.shape)
    if cov < rules.min_coverage:
        return "cut_off", {}, empty, empty
    # Replicated edges, not mirrored ones: a mirrored half face would teach the model ghosts.
    crop = align.crop(image, border=cv2.BORDER_REPLICATE)
    sharp = sharpness(crop)
    if sharp < rules.min_sharpness:
        return "blurry", {}, empty, empty
    item: dict[str, Any] = {"score": round(float(face.score), 4), "face_px": round(face_px, 1),
                            "yaw": round(yaw, 3), "coverage": round(cov, 3),
                            "sharpness": round(sharp, 4)}
    if cov < 0.999:
        h, w = image.shape[:2]
        quad = align.to_crop([[-0.5, -0.5], [w - 0.5, -0.5], [w - 0.5, h - 0.5], [-0.5, h - 0.5]])
        item["photo_quad"] = np.round(quad, 2).tolist()
    return "", item, crop, align.to_crop(face.landmarks)
