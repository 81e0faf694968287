"""One training (or fitting) example: degrade the ground truth, mask it, warp the reference.

The same function serves stage 1 (with condition dropout) and stage 2 (without), so
fitting sees exactly the conditions the network was trained on.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from core.faces.align import apply, mirror_landmarks
from core.idfsr.conditioning import build_condition, to_unit, warp_reference
from core.idfsr.config import ConditioningConfig
from core.idfsr.degrade import DegradationConfig, random_degrade

Example = dict[str, NDArray[Any]]


def unit(v: NDArray[Any]) -> NDArray[np.float32]:
    """v scaled to unit L2 norm (zero stays zero)."""
    out = np.asarray(v, np.float32)
    n = float(np.linalg.norm(out))
    return (out / n).astype(np.float32) if n > 0 else out


def augment_reference(
    face: NDArray[np.uint8], landmarks: NDArray[Any], rng: np.random.Generator, *, strong: bool
) -> tuple[NDArray[np.uint8], NDArray[np.float64]]:
    """A reference made from a face: photometric jitter always, geometry and blur if strong.

    A strong copy stands in for "another photo of the same person" where the data has
    no labels; it must differ enough that the network cannot simply copy it.
    """
    size = face.shape[0]
    img = face.astype(np.float32) / 255.0
    lms = np.asarray(landmarks, np.float64)
    if strong:
        if rng.random() < 0.5:
            img, lms = img[:, ::-1].copy(), mirror_landmarks(lms, size)
        angle = rng.uniform(-12, 12)
        scale = rng.uniform(0.9, 1.1)
        m = cv2.getRotationMatrix2D(((size - 1) / 2, (size - 1) / 2), angle, scale)
        m[:, 2] += rng.uniform(-0.04, 0.04, 2) * size
        img = np.asarray(cv2.warpAffine(img, m, (size, size), flags=cv2.INTER_LINEAR,
                                        borderMode=cv2.BORDER_REFLECT101), np.float32)
        lms = apply(m.astype(np.float64), lms)
        if rng.random() < 0.5:
            small = max(8, int(size / rng.uniform(1.5, 3.0)))
            shrunk = cv2.resize(img, (small, small), interpolation=cv2.INTER_AREA)
            img = np.asarray(cv2.resize(shrunk, (size, size), interpolation=cv2.INTER_CUBIC),
                             np.float32)
        # Landmarks that are a little off make the warp imperfect, as between real photos.
        lms = lms + rng.normal(0.0, 0.02 * size, lms.shape)
    gray = img @ np.array([0.299, 0.587, 0.114], np.float32)
    sat = rng.uniform(0.5, 1.4) if rng.random() > 0.15 else 0.0
    img = gray[..., None] + (img - gray[..., None]) * sat
    img = (img - 0.5) * rng.uniform(0.75, 1.25) + 0.5 + rng.uniform(-0.12, 0.12)
    img = img * rng.uniform(0.9, 1.1, 3).astype(np.float32)  # colour cast
    out = np.clip(np.rint(img * 255.0), 0, 255).astype(np.uint8)
    return out, lms


def make_example(
    gt: NDArray[np.uint8],
    gt_landmarks: NDArray[Any],
    reference: NDArray[np.uint8] | None,
    ref_landmarks: NDArray[Any] | None,
    id_embedding: NDArray[Any],
    rng: np.random.Generator,
    *,
    conditioning: ConditioningConfig,
    degradation: DegradationConfig,
    dropout: bool = True,
    valid: NDArray[np.float32] | None = None,
) -> Example:
    """target, condition, id, drop_id, weight (1,S,S: where the loss counts), lr (S,S,3 uint8).

    `valid` marks the part of the crop that shows the photo; the rest (edge padding of
    tightly cropped sources) gets no loss.
    """
    size = gt.shape[0]
    deg = random_degrade(gt, rng, degradation)
    # The mask and the warp use landmarks as noisy as a detector's on a tiny face.
    jitter = conditioning.landmark_jitter * size
    lms = np.asarray(gt_landmarks, np.float64) + rng.normal(0.0, jitter, (5, 2))
    u = rng.random()
    opacity = (0.0 if u < conditioning.p_open_mask
               else float(rng.uniform(0, 1)) if u < conditioning.p_open_mask
               + conditioning.p_partial_mask else 1.0)
    grow = float(rng.uniform(*conditioning.mask_grow))
    drop_ref = dropout and rng.random() < conditioning.p_drop_ref
    warped = None
    if reference is not None and ref_landmarks is not None and not drop_ref:
        warped = warp_reference(reference, ref_landmarks, lms, size,
                                nonrigid=conditioning.nonrigid_ref)
    condition = build_condition(deg.lr_up, lms, warped, opacity=opacity, grow=grow)
    ident = unit(id_embedding)
    if conditioning.id_noise > 0:
        ident = unit(ident + rng.normal(0.0, conditioning.id_noise, ident.shape))
    drop_id = dropout and rng.random() < conditioning.p_drop_id
    return {
        "target": to_unit(gt),
        "condition": condition,
        "id": ident.astype(np.float32),
        "drop_id": np.array(drop_id),
        "weight": (np.ones((1, size, size), np.float32) if valid is None
                   else valid[None].astype(np.float32)),
        "lr": deg.lr_up,
    }
