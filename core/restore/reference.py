"""Choosing the reference photo of a person for one face: closest pose, best quality, nearest date.

The reference is warped onto the tiny face and gives the network the person's
appearance, so it should look like the tiny face would up close: the same pose (the
warp mirrors a face turned the other way, so only how far it is turned matters), a
good photo, and the same age (people age: the photo nearest in date). Each part is a
factor in 0..1; their product ranks the person's usable faces.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from core.faces.align import roll_yaw_pitch
from core.restore.library_faces import LibraryCrop

YAW_SCALE = 0.25  # yaw difference (eye-distance units) at which the pose factor is e^-1
PITCH_SCALE = 0.2
DATE_SCALE_YEARS = 15.0  # years apart at which the date factor is e^-1
NO_DATE = 0.8  # the date factor when either date is unknown: no evidence either way


@dataclass(frozen=True)
class ReferenceChoice:
    """The chosen reference and why."""

    crop: LibraryCrop
    score: float
    pose: float
    quality: float
    date: float

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON output."""
        f = self.crop.face
        return {"face_id": f.id, "photo": f.photo_path, "score": round(self.score, 4),
                "pose": round(self.pose, 3), "quality": round(self.quality, 3),
                "date": round(self.date, 3),
                "captured_at": self.crop.captured_at.isoformat() if self.crop.captured_at
                else None}


def _pose_factor(ref: object, target: object) -> float:
    _, yaw_r, pitch_r = roll_yaw_pitch(ref)
    _, yaw_t, pitch_t = roll_yaw_pitch(target)
    dy = (abs(yaw_r) - abs(yaw_t)) / YAW_SCALE
    dp = (pitch_r - pitch_t) / PITCH_SCALE
    return float(np.exp(-(dy * dy + dp * dp) / 2))


def _date_factor(ref: datetime | None, target: datetime | None) -> float:
    if ref is None or target is None:
        return NO_DATE
    years = abs((ref - target).total_seconds()) / (365.25 * 86400)
    return float(np.exp(-years / DATE_SCALE_YEARS))


def rank_references(
    crops: Sequence[LibraryCrop], target_landmarks: object, photo_date: datetime | None
) -> list[ReferenceChoice]:
    """A person's usable faces as references for a face with these landmarks, best first."""
    ranked = []
    for c in crops:
        pose = _pose_factor(c.face.landmarks, target_landmarks)
        quality = float(np.clip(c.face.quality, 0.05, 1.0))
        date = _date_factor(c.captured_at, photo_date)
        ranked.append(ReferenceChoice(c, pose * quality * date, pose, quality, date))
    # Stable: equal scores keep the library's order.
    return sorted(ranked, key=lambda r: -r.score)


def choose_reference(
    crops: Sequence[LibraryCrop], target_landmarks: object, photo_date: datetime | None
) -> ReferenceChoice | None:
    """The best reference among a person's usable faces for a face with these landmarks."""
    ranked = rank_references(crops, target_landmarks, photo_date)
    return ranked[0] if ranked else None
