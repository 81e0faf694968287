"""The image conditions of the network: the masked LR face, its mask, the warped reference.

Geometry is in crop pixels of the S x S canonical crop (see core.faces.align). The
network input is, on channels: noisy image (3) | LR face with the facial region masked
(3) | mask (1) | reference warped onto the LR face (3). Images are float32 in -1..1,
channels first.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from core.faces.align import as_points, landmark_warp, mirror_landmarks, roll_yaw_pitch

CONDITION_CHANNELS = 7  # LR (3) + mask (1) + reference (3)
IMAGE_CHANNELS = 3

Float = NDArray[np.float32]


def to_unit(image: NDArray[np.uint8]) -> Float:
    """H x W x 3 uint8 -> 3 x H x W float32 in -1..1."""
    return (image.astype(np.float32).transpose(2, 0, 1) / 127.5 - 1.0).astype(np.float32)


def from_unit(array: NDArray[Any]) -> NDArray[np.uint8]:
    """3 x H x W in -1..1 -> H x W x 3 uint8."""
    x = (np.asarray(array, dtype=np.float32).transpose(1, 2, 0) + 1.0) * 127.5
    return np.clip(np.rint(x), 0, 255).astype(np.uint8)


def face_mask(
    landmarks: object, size: int, *, grow: float = 1.0, softness: float = 0.15
) -> Float:
    """A soft ellipse over brows, eyes, nose, mouth and chin of the face with these landmarks.

    It follows the eye line's roll; hair, ears and the face outline stay outside, so the
    LR keeps telling pose, colour and light while identity comes from elsewhere.
    `softness` is the width of the edge as a fraction of the ellipse radius.
    """
    le, re, _, lm, rm = as_points(landmarks)
    eye_mid, mouth_mid = (le + re) / 2, (lm + rm) / 2
    up = eye_mid - mouth_mid  # mouth -> eyes
    d = float(np.hypot(*up)) or 1.0
    e = float(np.hypot(*(re - le))) or 1.0
    # Span from the chin (0.7 d below the mouth) to the brows (0.55 d above the eyes).
    centre = mouth_mid + 0.425 * up
    half_h = 1.125 * d * grow
    half_w = 0.95 * e * grow
    axis_y = up / d
    axis_x = np.array([-axis_y[1], axis_y[0]])
    idx = np.arange(size, dtype=np.float64)
    gx, gy = np.meshgrid(idx, idx)
    px, py = gx - centre[0], gy - centre[1]
    u = (px * axis_x[0] + py * axis_x[1]) / half_w
    v = (px * axis_y[0] + py * axis_y[1]) / half_h
    r = np.sqrt(u * u + v * v)
    t = np.clip((r - (1.0 - softness)) / (2.0 * softness), 0.0, 1.0)
    return (1.0 - t * t * (3.0 - 2.0 * t)).astype(np.float32)


def warp_reference(
    reference: NDArray[np.uint8],
    ref_landmarks: object,
    target_landmarks: object,
    size: int,
    *,
    nonrigid: float = 1.0,
    allow_flip: bool = True,
) -> NDArray[np.uint8]:
    """Warp a reference face onto the target's landmarks (similarity + non-rigid refinement).

    When the two faces look to opposite sides the reference is mirrored first, so the
    side of the face the target shows is the side the reference shows.
    """
    ref_pts = as_points(ref_landmarks)
    tgt_pts = as_points(target_landmarks)
    if allow_flip:
        _, yaw_ref, _ = roll_yaw_pitch(ref_pts)
        _, yaw_tgt, _ = roll_yaw_pitch(tgt_pts)
        if yaw_ref * yaw_tgt < 0 and abs(yaw_ref - yaw_tgt) > 0.25:
            reference = np.ascontiguousarray(reference[:, ::-1])
            ref_pts = mirror_landmarks(ref_pts, reference.shape[1])
    return landmark_warp(reference, ref_pts, tgt_pts, size, nonrigid=nonrigid)


def build_condition(
    lr_up: NDArray[np.uint8],
    landmarks: object,
    reference_warped: NDArray[np.uint8] | None,
    *,
    opacity: float = 1.0,
    grow: float = 1.0,
) -> Float:
    """The 7 x S x S condition: masked LR face, mask, warped reference (zeros if none).

    `opacity` is how much of the facial region is hidden: 1 hides it (the model's
    default), lower values let that share of the LR face through (more fidelity to
    the input, less freedom for identity).
    """
    size = lr_up.shape[0]
    mask = face_mask(landmarks, size, grow=grow) * float(np.clip(opacity, 0.0, 1.0))
    lr = to_unit(lr_up) * (1.0 - mask)[None]
    ref = (to_unit(reference_warped) if reference_warped is not None
           else np.zeros((3, size, size), np.float32))
    return np.concatenate([lr, mask[None], ref], axis=0).astype(np.float32)
