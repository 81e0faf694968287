"""How useful a detected face is for recognition and as a reference: one number in 0..1.

Used to pick a person's good photos (identity fitting, reference choice) and to
rank faces in the GUI. Backend independent: it looks only at the photo, the box,
the five landmarks and the detector's score.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from core.faces import align
from core.faces.types import DetectedFace, RGBImage

# Size: below ~10 px a face holds no identity; from ~100 px on a 112-150 px recognizer
# input sees everything the photo has.
SIZE_ZERO_PX, SIZE_FULL_PX = 10.0, 100.0
# Sharpness: variance of the Laplacian on the lightly smoothed 112 px aligned crop.
# Measured on the fixtures: sharp portraits 50-175, faces shrunk to 48 px 20-80, to
# 24 px 5-17, to 16 px 1-6; the half-way point sits between "usable" and "smeared".
SHARPNESS_HALF = 25.0
# Pose: yaw as align.roll_yaw_pitch measures it (0 frontal, ~0.5 a strong turn);
# pitch is ~0.58 for the frontal fixture faces (0.39-0.84 seen).
YAW_ZERO = 0.6
PITCH_FRONTAL, PITCH_ZERO = 0.58, 0.45
# Weights of the geometric mean: resolution matters most, then blur and pose; the
# detector's score mostly separates real faces from lookalikes.
WEIGHTS = {"size": 0.35, "sharpness": 0.25, "pose": 0.25, "detector": 0.15}
_FLOOR = 0.01  # keeps the mean finite and the ranking meaningful when a part is ~0


@dataclass(frozen=True)
class QualityParts:
    """The four factors (each 0..1) and their combination."""

    size: float
    sharpness: float
    pose: float
    detector: float

    @property
    def total(self) -> float:
        """Weighted geometric mean of the factors."""
        parts = {
            "size": self.size,
            "sharpness": self.sharpness,
            "pose": self.pose,
            "detector": self.detector,
        }
        log_sum = sum(w * np.log(max(parts[k], _FLOOR)) for k, w in WEIGHTS.items())
        return float(np.clip(np.exp(log_sum), 0.0, 1.0))


def sharpness(image: RGBImage, landmarks: object) -> float:
    """Variance of the Laplacian over the inner face of the aligned 112 px crop."""
    crop = align.arcface_alignment(landmarks).crop(image)
    gray = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY) if crop.ndim == 3 else crop
    # A light blur first, so that JPEG blocking and film grain do not read as detail.
    smooth = cv2.GaussianBlur(gray.astype(np.float32), (0, 0), 0.8)
    lap = cv2.Laplacian(smooth, cv2.CV_32F)
    return float(lap[16:96, 16:96].var())  # the inner face: no hair, no background


def quality_parts(image: RGBImage, face: DetectedFace) -> QualityParts:
    """The four quality factors of one face."""
    size = np.log(max(face.size_px, 1e-6) / SIZE_ZERO_PX) / np.log(SIZE_FULL_PX / SIZE_ZERO_PX)
    sharp = sharpness(image, face.landmarks)
    _, yaw, pitch = align.roll_yaw_pitch(face.landmarks)
    pose = max(0.0, 1.0 - (yaw / YAW_ZERO) ** 2)
    pose *= max(0.0, 1.0 - ((pitch - PITCH_FRONTAL) / PITCH_ZERO) ** 2)
    return QualityParts(
        size=float(np.clip(size, 0.0, 1.0)),
        sharpness=sharp / (sharp + SHARPNESS_HALF),
        pose=float(pose),
        detector=float(np.clip(face.score, 0.0, 1.0)),
    )


def face_quality(image: RGBImage, face: DetectedFace) -> float:
    """Quality in 0..1: a weighted geometric mean of size, sharpness, pose and detector score.

    Why this form: a face is only as useful as its weakest aspect (a large but
    smeared face, or a sharp profile, is a poor reference), which a geometric mean
    expresses and an average does not. Size is judged on a log scale between 10 px
    (no identity left) and 100 px (all a recognizer can use); sharpness is the
    variance of the Laplacian of the aligned crop, saturating as v / (v + 25); pose
    falls quadratically with yaw (zero at a profile-like 0.6) and with pitch away
    from frontal; roll is ignored because alignment removes it. The weights put
    resolution first, since that is what the restoration is for.
    """
    return quality_parts(image, face).total
