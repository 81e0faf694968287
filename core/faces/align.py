"""The face templates and the similarity transforms onto them.

This module is the single owner of face geometry. Every crop in the product (the
112x112 crop the recognizer embeds, the wider canonical crop the restoration model
works on, the face thumbnails of the GUI) comes from an :class:`Alignment` made here,
and every restored face goes back into its photo through the same object's exact
inverse.

Landmarks are always five points in this order, in pixel coordinates (x, y) of the
upright (orientation-applied) image: left eye, right eye, nose tip, left mouth
corner, right mouth corner, "left" meaning the viewer's left.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

Points = NDArray[np.float64]  # (5, 2)
Matrix = NDArray[np.float64]  # (2, 3) affine, rows act on homogeneous (x, y, 1)
Image = NDArray[Any]  # H x W (x C), usually uint8

# Where the recognizers expect the five points in their 112x112 input (the layout
# ArcFace-family models are trained on).
ARCFACE_SIZE = 112
NEUTRAL_GREY = 128  # what a crop shown to people holds past the photo's edge
ARCFACE_TEMPLATE: Points = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    dtype=np.float64,
)

# The canonical restoration crop, in units of the crop side: the face with hair,
# chin and some neck, eyes a little above the middle (FFHQ-like margins). At any
# size S the template is this times S.
CANONICAL_TEMPLATE_UNIT: Points = np.array(
    [
        [0.37692, 0.46865],
        [0.62286, 0.46913],
        [0.50124, 0.61332],
        [0.39309, 0.72541],
        [0.61150, 0.72490],
    ],
    dtype=np.float64,
)


# Where our five landmarks sit in dlib's 150x150 face chip (dlib.get_face_chip, padding
# 0.25), the input of its ResNet recognizer. dlib aligns on its own five points (eye
# corners, nose base), so this was measured, not copied: bench/derive_dlib_template.py
# maps RetinaFace landmarks of 92 fixture faces into dlib's exact chips and averages
# them; embeddings of chips cut with it match dlib's own at mean cosine 0.9955.
DLIB_CHIP_SIZE = 150
DLIB_CHIP_TEMPLATE: Points = np.array(
    [
        [46.27, 44.84],
        [101.14, 44.46],
        [73.52, 77.52],
        [49.73, 99.98],
        [99.30, 99.63],
    ],
    dtype=np.float64,
)


def canonical_template(size: int) -> Points:
    """The five canonical landmark positions in an S x S restoration crop."""
    if size <= 0:
        raise ValueError(f"crop size must be positive, got {size}")
    return CANONICAL_TEMPLATE_UNIT * float(size)


def as_points(landmarks: object) -> Points:
    """Validate five (x, y) landmarks and return them as a float64 array."""
    pts = np.asarray(landmarks, dtype=np.float64).reshape(-1, 2)
    if pts.shape != (5, 2):
        raise ValueError(f"expected 5 landmarks (x, y), got shape {pts.shape}")
    if not np.all(np.isfinite(pts)):
        raise ValueError("landmarks contain NaN or infinity")
    return pts


def estimate_similarity(src: Points, dst: Points) -> Matrix:
    """Least-squares similarity (rotation, uniform scale, translation) taking src to dst.

    Umeyama's closed form, without reflection. Raises ValueError for degenerate
    input (all points on top of each other).
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    src_var = float((src_c**2).sum()) / len(src)
    if src_var < 1e-12:
        raise ValueError("landmarks are degenerate (all at one point)")
    cov = dst_c.T @ src_c / len(src)
    u, s, vt = np.linalg.svd(cov)
    d = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[-1] = -1.0
    rot = u @ np.diag(d) @ vt
    scale = float((s * d).sum()) / src_var
    matrix = np.empty((2, 3), dtype=np.float64)
    matrix[:, :2] = scale * rot
    matrix[:, 2] = dst_mean - scale * rot @ src_mean
    return matrix


def invert(matrix: Matrix) -> Matrix:
    """The exact inverse of a 2x3 affine matrix."""
    a = matrix[:, :2]
    a_inv = np.linalg.inv(a)
    out = np.empty((2, 3), dtype=np.float64)
    out[:, :2] = a_inv
    out[:, 2] = -a_inv @ matrix[:, 2]
    return out


def apply(matrix: Matrix, points: object) -> Points:
    """Map (N, 2) points through a 2x3 affine matrix."""
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    return pts @ matrix[:, :2].T + matrix[:, 2]


@dataclass(frozen=True)
class Alignment:
    """How one face in one photo maps onto an S x S template crop, and back.

    `matrix` takes photo pixel coordinates to crop pixel coordinates. Pixel centres
    are at integer coordinates in both spaces (OpenCV's convention), so points,
    crops and paste-back all agree.
    """

    matrix: Matrix
    size: int

    @property
    def inverse(self) -> Matrix:
        return invert(self.matrix)

    @property
    def scale(self) -> float:
        """Crop pixels per photo pixel (above 1: the crop enlarges the face)."""
        return float(np.sqrt(abs(np.linalg.det(self.matrix[:, :2]))))

    @property
    def rotation_degrees(self) -> float:
        """How far the face is rolled in the photo (positive: counter-clockwise on screen)."""
        return float(np.degrees(np.arctan2(self.matrix[1, 0], self.matrix[0, 0])))

    def to_crop(self, points: object) -> Points:
        return apply(self.matrix, points)

    def to_photo(self, points: object) -> Points:
        return apply(self.inverse, points)

    def crop(self, image: Image, *, border: int = cv2.BORDER_REFLECT101,
             fill: int = NEUTRAL_GREY) -> Image:
        """Cut the aligned S x S crop out of an H x W (x C) image.

        Where the crop reaches past the photo's edge the photo is mirrored, which
        keeps recognizers and the restoration model away from hard black bands;
        with `border=cv2.BORDER_CONSTANT` it is `fill` grey instead (crops people see).
        Downscaling uses area-like filtering (a pre-blur) so tiny crops do not alias.
        """
        if self.scale < 0.5:
            # Shrinking a lot: blur first so that bilinear sampling does not alias.
            sigma = 0.5 / self.scale * 0.6
            image = cv2.GaussianBlur(image, (0, 0), sigmaX=sigma, sigmaY=sigma)
        return cv2.warpAffine(
            image,
            self.matrix,
            (self.size, self.size),
            flags=cv2.INTER_CUBIC if self.scale > 1.0 else cv2.INTER_LINEAR,
            borderMode=border,
            borderValue=(fill, fill, fill),
        )

    def photo_box(self, photo_shape: tuple[int, ...]) -> tuple[int, int, int, int]:
        """The photo-pixel rectangle (x0, y0, x1, y1), clipped, that the crop covers."""
        s = self.size - 1
        corners = self.to_photo([[0, 0], [s, 0], [0, s], [s, s]])
        h, w = photo_shape[:2]
        x0 = int(np.clip(np.floor(corners[:, 0].min()) - 1, 0, w))
        y0 = int(np.clip(np.floor(corners[:, 1].min()) - 1, 0, h))
        x1 = int(np.clip(np.ceil(corners[:, 0].max()) + 2, 0, w))
        y1 = int(np.clip(np.ceil(corners[:, 1].max()) + 2, 0, h))
        return x0, y0, x1, y1

    def paste(
        self,
        crop: Image,
        photo: Image,
        mask: NDArray[np.float32] | None = None,
        feather: float = 0.06,
    ) -> Image:
        """Blend an S x S crop back into a copy of `photo` through the exact inverse.

        `mask` (S x S, 0..1) says where the crop replaces the photo; the default is
        the whole crop with edges feathered over `feather` of its side. Only the
        region the crop covers is touched, so huge photos cost little.
        """
        if crop.shape[0] != self.size or crop.shape[1] != self.size:
            raise ValueError(f"crop is {crop.shape[:2]}, alignment expects {self.size}x{self.size}")
        if mask is None:
            mask = feathered_square(self.size, feather)
        out = photo.copy()
        x0, y0, x1, y1 = self.photo_box(photo.shape)
        if x1 <= x0 or y1 <= y0:
            return out
        # Inverse warp into the region only: shift the inverse by the region origin.
        inv = self.inverse.copy()
        inv[:, 2] -= (x0, y0)
        region_size = (x1 - x0, y1 - y0)
        source = crop
        if self.scale > 2.0:
            # The crop is much finer than the photo: blur it so that sampling does not alias.
            sigma = 0.3 * self.scale
            source = cv2.GaussianBlur(crop, (0, 0), sigmaX=sigma, sigmaY=sigma)
        flags = cv2.INTER_CUBIC if self.scale < 1.0 else cv2.INTER_LINEAR
        warped = cv2.warpAffine(
            source, inv, region_size, flags=flags, borderMode=cv2.BORDER_REPLICATE
        )
        alpha = cv2.warpAffine(
            mask.astype(np.float32), inv, region_size, flags=cv2.INTER_LINEAR, borderValue=0.0
        )
        alpha = np.clip(alpha, 0.0, 1.0)
        region = out[y0:y1, x0:x1].astype(np.float32)
        if region.ndim == 3:
            alpha = alpha[..., None]
        blended = region * (1.0 - alpha) + warped.astype(np.float32) * alpha
        out[y0:y1, x0:x1] = np.clip(np.rint(blended), 0, 255).astype(out.dtype)
        return out


def feathered_square(size: int, feather: float = 0.06) -> NDArray[np.float32]:
    """An S x S mask that is 1 inside and falls smoothly to 0 over the outer `feather` band."""
    band = max(1.0, feather * size)
    idx = np.arange(size, dtype=np.float32)
    edge = np.minimum(idx, size - 1 - idx)
    ramp = np.clip(edge / band, 0.0, 1.0)
    ramp = ramp * ramp * (3.0 - 2.0 * ramp)  # smoothstep
    return np.outer(ramp, ramp).astype(np.float32)


def align_to(landmarks: object, template: Points, size: int) -> Alignment:
    """The alignment taking these photo landmarks onto `template` in an S x S crop."""
    return Alignment(estimate_similarity(as_points(landmarks), template), size)


def arcface_alignment(landmarks: object) -> Alignment:
    """Alignment onto the 112x112 recognizer template."""
    return align_to(landmarks, ARCFACE_TEMPLATE, ARCFACE_SIZE)


def canonical_alignment(landmarks: object, size: int) -> Alignment:
    """Alignment onto the canonical restoration template at size S."""
    return align_to(landmarks, canonical_template(size), size)


def dlib_chip_alignment(landmarks: object) -> Alignment:
    """Alignment onto dlib's 150x150 recognizer chip."""
    return align_to(landmarks, DLIB_CHIP_TEMPLATE, DLIB_CHIP_SIZE)


def template_alignment(kind: str, landmarks: object, size: int | None = None) -> Alignment:
    """Alignment by template name: "arcface" (112), "dlib" (150) or "canonical" (size required)."""
    if kind == "arcface":
        return arcface_alignment(landmarks)
    if kind == "dlib":
        return dlib_chip_alignment(landmarks)
    if kind == "canonical":
        if size is None:
            raise ValueError("the canonical template needs a crop size")
        return canonical_alignment(landmarks, size)
    raise ValueError(f"unknown face template {kind!r}")


def roll_yaw_pitch(landmarks: object) -> tuple[float, float, float]:
    """Rough head pose from five landmarks, in degrees (roll) and ratios (yaw, pitch).

    roll: angle of the eye line. yaw: how far the nose sits off the eyes' midline,
    relative to the eye distance (0 frontal, about +-0.5 in profile). pitch: where
    the nose sits between the eye line and the mouth line (about 0.45 frontal).
    """
    pts = as_points(landmarks)
    le, re, nose, lm, rm = pts
    eye_vec = re - le
    roll = float(np.degrees(np.arctan2(eye_vec[1], eye_vec[0])))
    eye_dist = float(np.hypot(*eye_vec)) or 1e-6
    # Work in the roll-corrected frame so that a tilted head is not read as a turn.
    c, s = np.cos(-np.radians(roll)), np.sin(-np.radians(roll))
    rot = np.array([[c, -s], [s, c]])
    le_r, re_r, nose_r, lm_r, rm_r = (rot @ p for p in (le, re, nose, lm, rm))
    eye_mid = (le_r + re_r) / 2
    mouth_mid = (lm_r + rm_r) / 2
    yaw = float((nose_r[0] - (eye_mid[0] + mouth_mid[0]) / 2) / eye_dist)
    span = float(mouth_mid[1] - eye_mid[1]) or 1e-6
    pitch = float((nose_r[1] - eye_mid[1]) / span)
    return roll, yaw, pitch


# Landmark index pairs that swap places when a face is mirrored left-right.
_MIRROR_ORDER = [1, 0, 2, 4, 3]


def mirror_landmarks(landmarks: object, width: int) -> Points:
    """Landmarks of the horizontally mirrored image (x -> width-1-x, left/right relabelled)."""
    pts = as_points(landmarks).copy()
    pts[:, 0] = (width - 1) - pts[:, 0]
    return pts[_MIRROR_ORDER]


def _tps_field(
    centres: Points, values: NDArray[np.float64], size: int, smoothing: float
) -> NDArray[np.float64]:
    """A thin-plate spline through `values` (k, 2) at `centres`, evaluated on the S x S grid."""
    from scipy.interpolate import RBFInterpolator  # ~0.9 s to import: only when warping

    # Unit coordinates keep the system well conditioned at any S.
    spline = RBFInterpolator(centres / size, values, kernel="thin_plate_spline",
                             smoothing=smoothing, degree=1)
    axis = np.arange(size, dtype=np.float64) / size
    gx, gy = np.meshgrid(axis, axis)
    field = spline(np.stack([gx.ravel(), gy.ravel()], axis=1))
    return np.asarray(field, np.float64).reshape(size, size, 2)


def landmark_warp(
    image: Image,
    src: object,
    dst: object,
    size: int,
    *,
    nonrigid: float = 1.0,
    max_shift: float = 0.06,
    border: int = cv2.BORDER_REFLECT101,
) -> Image:
    """Warp `image` into an S x S crop where its landmarks `src` land on `dst`.

    First the least-squares similarity; then, scaled by `nonrigid` (0 turns it off),
    a smooth thin-plate correction that moves each landmark the rest of the way,
    pinned to zero along the crop's border. When the two faces' shapes disagree by
    more than `max_shift` of the side (a different pose, a bad landmark) the
    correction is damped so that it never tears the face.
    """
    src_pts, dst_pts = as_points(src), as_points(dst)
    matrix = estimate_similarity(src_pts, dst_pts)
    inverse = invert(matrix)
    if nonrigid <= 0.0:
        return cv2.warpAffine(image, matrix, (size, size), flags=cv2.INTER_LINEAR,
                              borderMode=border)
    # Backward displacement: at dst_i the output must sample where the similarity put src_i.
    residual = apply(matrix, src_pts) - dst_pts
    worst = float(np.abs(residual).max())
    limit = max_shift * size
    damp = nonrigid * (1.0 if worst <= limit else limit / worst)
    s = size - 1
    anchors = np.array([[0, 0], [s / 2, 0], [s, 0], [0, s / 2], [s, s / 2],
                        [0, s], [s / 2, s], [s, s]], dtype=np.float64)
    centres = np.concatenate([dst_pts, anchors])
    values = np.concatenate([residual * damp, np.zeros_like(anchors)]) / size
    field = _tps_field(centres, values, size, smoothing=1e-3) * size
    axis = np.arange(size, dtype=np.float64)
    gx, gy = np.meshgrid(axis, axis)
    qx, qy = gx + field[..., 0], gy + field[..., 1]
    map_x = inverse[0, 0] * qx + inverse[0, 1] * qy + inverse[0, 2]
    map_y = inverse[1, 0] * qx + inverse[1, 1] * qy + inverse[1, 2]
    return cv2.remap(image, map_x.astype(np.float32), map_y.astype(np.float32),
                     interpolation=cv2.INTER_LINEAR, borderMode=border)
