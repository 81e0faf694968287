"""A person's faces as the restoration model needs them: aligned crops cut from the originals.

The library stores each face's five landmarks in the upright photo's pixels, so a
crop at any size comes straight from the original file through core.faces.align, the
same geometry the training data and the restored faces use. Used by fitting (the
faces an identity is fitted on) and by restoration (reference candidates).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import select

from core.db.models import Photo
from core.errors import ImageReadError
from core.faces.service import FaceInfo
from core.faces.types import DetectedFace
from core.faces.usable import CropRules, check_face
from core.jobs import CancelToken, Progress, ProgressCallback, no_progress
from core.library.imageio import load_image

if TYPE_CHECKING:
    from core.context import AppContext

log = logging.getLogger(__name__)

STAGE = "faces"


@dataclass(frozen=True)
class LibraryCrop:
    """One library face aligned on the canonical template at the model's size."""

    face: FaceInfo
    crop: NDArray[np.uint8]  # S x S x 3
    landmarks: NDArray[np.float64]  # (5, 2) in crop pixels
    face_px: float  # the face's own resolution across the crop (photo pixels)
    captured_at: datetime | None


def photo_dates(ctx: AppContext, photo_ids: Sequence[int]) -> dict[int, datetime | None]:
    """Capture dates of photos by id (None where unknown)."""
    if not photo_ids:
        return {}
    with ctx.db.session() as s:
        rows = s.execute(select(Photo.id, Photo.captured_at)
                         .where(Photo.id.in_(set(photo_ids)))).all()
    return {int(r[0]): r[1] for r in rows}


def _detected(face: FaceInfo) -> DetectedFace:
    return DetectedFace(face.box, np.asarray(face.landmarks, np.float64), face.det_score,
                        face.detector)


def library_crops(
    ctx: AppContext,
    faces: Sequence[FaceInfo],
    size: int,
    *,
    min_face_ratio: float = 0.5,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> list[LibraryCrop]:
    """Aligned crops of these faces that are usable as training faces or references.

    A face is left out when its photo cannot be read any more, or when the dataset
    filters of `idfsr data prepare` reject it (too small for `min_face_ratio` * S, a
    profile, mostly outside its photo). The order of `faces` is kept.
    """
    rules = CropRules(size=size, min_face_ratio=min_face_ratio, min_score=0.0)
    dates = photo_dates(ctx, [f.photo_id for f in faces])
    by_photo: dict[str, list[int]] = {}
    for i, f in enumerate(faces):
        by_photo.setdefault(f.photo_path, []).append(i)
    out: dict[int, LibraryCrop] = {}
    for n, (path, members) in enumerate(by_photo.items()):
        if cancel is not None:
            cancel.raise_if_cancelled()
        progress(Progress(STAGE, n, len(by_photo), "reading the person's photos"))
        try:
            with load_image(Path(os.fsdecode(path)),
                            max_pixels=ctx.settings.index.max_image_pixels) as img:
                rgb = np.asarray(img.convert("RGB"))
        except ImageReadError as exc:
            log.info("skipping %s for fitting/reference: %s", path, exc)
            continue
        for i in members:
            face = faces[i]
            reason, item, crop, lms = check_face(_detected(face), rgb, rules)
            if reason:
                continue
            out[i] = LibraryCrop(face, crop, np.asarray(lms, np.float64),
                                 float(item["face_px"]), dates.get(face.photo_id))
    progress(Progress(STAGE, len(by_photo), len(by_photo), "reading the person's photos"))
    return [out[i] for i in sorted(out)]
