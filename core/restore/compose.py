"""From photo to aligned face and back: the LR crop, tone matching, and the paste into the
enlarged photo.

Geometry comes from core.faces.align only: the crop the model restores is cut by the
face's Alignment, and the restored crop goes back through the exact inverse of that same
alignment composed with the photo's enlargement. Pixel centres sit at integer
coordinates in every space (OpenCV's convention, which cv2.resize follows too).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from core.faces.align import Alignment, canonical_alignment, feathered_square
from core.idfsr.conditioning import face_mask

Image = NDArray[np.uint8]
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)

# The pasted region: the facial ellipse grown to take in the hair and the neck, where the
# restoration is as clean as on the face (at 1.3 a clean face sat in grainy hair).
MASK_GROW = 1.8
MASK_SOFTNESS = 0.3
COLOURLESS = 0.06  # mean |chroma| (0..1) under which a face counts as grey or toned
TONE_SHARE = 0.25  # tone is matched below this share of the face's own resolution


@dataclass(frozen=True)
class AlignedFace:
    """One face of the photo on the canonical crop at the model's size."""

    alignment: Alignment
    lr_up: Image  # S x S x 3: the photo's pixels, enlarged onto the crop
    lr_size: int  # the face's own resolution across the crop, in photo pixels (<= S)
    landmarks: NDArray[np.float64]  # (5, 2) in crop pixels
    face_px: float  # the same resolution, not clipped to the crop's size


def align_face(photo: Image, landmarks: object, size: int) -> AlignedFace:
    """The aligned LR crop of one face (edges replicated where the crop leaves the photo)."""
    alignment = canonical_alignment(landmarks, size)
    crop = alignment.crop(photo, border=cv2.BORDER_REPLICATE)
    face_px = face_span(landmarks, size)
    lr_size = int(np.clip(round(face_px), 2, size))
    return AlignedFace(alignment, np.ascontiguousarray(crop), lr_size,
                       alignment.to_crop(landmarks), float(face_px))


def face_span(landmarks: object, size: int) -> float:
    """How many photo pixels the face's canonical crop spans (its own resolution)."""
    return size / canonical_alignment(landmarks, size).scale


def is_colourless(image: Image, threshold: float = COLOURLESS) -> bool:
    """Whether an RGB image is grey or one tone (sepia included)."""
    x = image.astype(np.float32) / 255.0
    luma = x @ _LUMA
    return bool(np.abs(x - luma[..., None]).mean() < threshold)


def _low(image: NDArray[np.float32], lr_size: int) -> NDArray[np.float32]:
    """What survives at `lr_size` pixels across, brought back to full size."""
    size = image.shape[0]
    small = cv2.resize(image, (lr_size, lr_size), interpolation=cv2.INTER_AREA)
    return np.asarray(cv2.resize(small, (size, size), interpolation=cv2.INTER_CUBIC),
                      np.float32)


def tone_size(lr_size: int) -> int:
    """The resolution below which the photo's tone is taken (see tone_match)."""
    return max(3, round(lr_size * TONE_SHARE))


def tone_match(restored: Image, lr_up: Image, lr_size: int, *, colourless: bool) -> Image:
    """The restored face with the photo's colour, exposure and light.

    The network adds detail; the photo's tone (exposure, colour cast, fading) is taken
    from it at a quarter of the face's own resolution: coarse enough that the grain,
    noise and blur of the old print, which live at its finest scale, stay out of the
    restoration, fine enough that light and shadow across the face are the photo's.
    A colourless photo gets detail in luma only, so grey stays grey and sepia sepia.
    """
    r = restored.astype(np.float32)
    lr = lr_up.astype(np.float32)
    low = tone_size(min(lr_size, restored.shape[0]))
    if colourless:
        luma = r @ _LUMA
        detail = luma - _low(luma, low)
        out = _low(lr, low) + detail[..., None]
    else:
        out = r - _low(r, low) + _low(lr, low)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def grain_sigma(photo: Image, box: tuple[float, float, float, float]) -> float:
    """Robust std of the photo's fine grain around a face (luma, 0..255)."""
    h, w = photo.shape[:2]
    x0, y0, x1, y1 = box
    pad = max(x1 - x0, y1 - y0)
    xa, ya = int(max(0, x0 - pad)), int(max(0, y0 - pad))
    xb, yb = int(min(w, x1 + pad)), int(min(h, y1 + pad))
    if xb - xa < 3 or yb - ya < 3:
        return 0.0
    luma = (photo[ya:yb, xa:xb].astype(np.float32) @ _LUMA).astype(np.float32)
    residual = luma - cv2.medianBlur(np.clip(luma, 0, 255).astype(np.uint8), 3)
    return float(1.4826 * np.median(np.abs(residual)))


def add_grain(face: Image, lr_size: int, sigma: float, seed: int) -> Image:
    """Luma grain of the photo's own size (one grain per photo pixel) over a restored crop."""
    if sigma <= 0:
        return face
    size = face.shape[0]
    rng = np.random.default_rng(seed)
    noise = rng.standard_normal((lr_size, lr_size)).astype(np.float32) * sigma
    grain = cv2.resize(noise, (size, size), interpolation=cv2.INTER_CUBIC)
    out = face.astype(np.float32) + grain[..., None]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def blend_mask(landmarks: object, size: int) -> NDArray[np.float32]:
    """Where the restored crop replaces the photo: the face, feathered, never the crop edge."""
    face = face_mask(landmarks, size, grow=MASK_GROW, softness=MASK_SOFTNESS)
    return (face * feathered_square(size, 0.08)).astype(np.float32)


def output_size(width: int, height: int, scale: float) -> tuple[int, int]:
    """The enlarged photo's size."""
    return max(1, round(width * scale)), max(1, round(height * scale))


def upscale_photo(photo: Image, scale: float) -> Image:
    """The whole photo enlarged conventionally (Lanczos; area when shrinking)."""
    h, w = photo.shape[:2]
    size = output_size(w, h, scale)
    if size == (w, h):
        return photo.copy()
    flag = cv2.INTER_LANCZOS4 if scale > 1 else cv2.INTER_AREA
    return np.ascontiguousarray(cv2.resize(photo, size, interpolation=flag))


def enlarged(alignment: Alignment, photo_shape: tuple[int, ...], out_shape: tuple[int, ...]
             ) -> Alignment:
    """The same crop seen from the enlarged photo: alignment after the inverse enlargement.

    cv2.resize maps an output pixel x to the input pixel (x + 0.5) / s - 0.5 per axis.
    """
    sx = out_shape[1] / photo_shape[1]
    sy = out_shape[0] / photo_shape[0]
    back = np.array([[1 / sx, 0.0, 0.5 / sx - 0.5], [0.0, 1 / sy, 0.5 / sy - 0.5]])
    m = alignment.matrix
    matrix = np.empty((2, 3), np.float64)
    matrix[:, :2] = m[:, :2] @ back[:, :2]
    matrix[:, 2] = m[:, :2] @ back[:, 2] + m[:, 2]
    return Alignment(matrix, alignment.size)


def paste_face(canvas: Image, face: Image, aligned: AlignedFace,
               photo_shape: tuple[int, ...]) -> None:
    """Blend the restored crop into the enlarged photo, in place, through the exact inverse.

    Only the face's region is copied and written: a huge photo costs what its face does.
    """
    where = enlarged(aligned.alignment, photo_shape, canvas.shape)
    x0, y0, x1, y1 = where.photo_box(canvas.shape)
    if x1 <= x0 or y1 <= y0:
        return
    local = where.matrix.copy()
    local[:, 2] += where.matrix[:, :2] @ np.array([x0, y0], np.float64)
    region = canvas[y0:y1, x0:x1]
    mask = blend_mask(aligned.landmarks, aligned.alignment.size)
    canvas[y0:y1, x0:x1] = Alignment(local, where.size).paste(face, region, mask=mask)
