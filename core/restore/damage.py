"""Where an old print is damaged: scratches, cracks, dust and spots, as a mask.

Classical and local: damage is thin or small, and brighter (paper showing through) or
darker (dirt) than what surrounds it. Morphological top-hat (bright) and black-hat
(dark) responses measure exactly that. Rules against the photo's own structure:
- a line must run straight for a while at one orientation (an opening of the response
  with line elements at 12 orientations), so texture and short strokes are not lines;
  weaker parts of a line are kept only where they join a strong one (hysteresis);
- a speck or spot must be small, compact and stand out of its neighbourhood's own
  texture by a wide margin;
- every threshold is a multiple of the photo's grain (a robust noise estimate).
Large photos are handled in tiles with overlap, so memory stays bounded.

The mask is a uint8 array (0 or 255) of the photo's size; the GUI edits it with
`paint_stroke` and repairs with the edited mask.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from core.jobs import CancelToken

Mask = NDArray[np.uint8]
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)

TILE = 1024  # tiles of this size (plus a margin) bound the detector's memory
MARGIN = 32
LINE_WIDTH = 7  # top-hat element for lines: structures up to ~5 px wide
SPOT_WIDTH = 15  # top-hat element for specks and spots: up to ~12 px across
LINE_LENGTH = 11  # a line must run this long at one orientation
ORIENTATIONS = 12
WIDE_WIDTH = 17  # top-hat element for wide cracks: bright lines up to ~12 px wide
WIDE_LENGTH = 25  # a wide crack must run this long at one orientation
WIDE_SPAN = 80  # px: a wide crack's extent at least
LINE_STRONG = 6.0  # line seeds: this many noise sigmas (and at least MIN_CONTRAST)
LINE_WEAK = 0.5  # grown along the line where it keeps this share of the seed threshold
LINE_TEXTURE = 4.0  # a line must exceed its surroundings' response this many times
TEXTURE_WINDOW = 31
EDGE_SPAN = 4.0  # px over which the photo's own step is compared with a line's contrast
MIN_LINE_SPAN = 40  # px: a line's extent at least
MIN_CONTRAST = 16.0  # 0..255 luma; below this nothing counts as damage
SPOT_STRONG = 6.0
SPOT_CONTRAST = 1.5  # specks need this times MIN_CONTRAST
SPOT_TEXTURE = 4.5  # a spot must exceed its surroundings' response this many times
SPOT_MAX_AREA = 130  # pixels; larger blobs are the photo's own shapes
SPOT_RING = 0.3  # a spot's surround may vary at most this share of the spot's contrast
SPOT_RING_AREA = 20  # pixels: smaller specks are dust wherever they land
FACE_GROW = 0.25
FRAME_SIDE = 30  # px: a rectangle outline's sides at least this long
FRAME_BAND = 8  # px from a side within which a line runs along it
FRAME_COVER = 0.7  # share of a side's length a line must run along
GROW = 1  # the mask grown by this many pixels, to take in a line's soft fringe


@dataclass(frozen=True)
class DamageStats:
    """What the mask covers, for the restore note."""

    pixels: int
    fraction: float
    regions: int

    def to_dict(self) -> dict[str, float | int]:
        """Plain data."""
        return {"pixels": self.pixels, "fraction": round(self.fraction, 6),
                "regions": self.regions}


def luma(rgb: NDArray[np.uint8]) -> NDArray[np.float32]:
    """Luma 0..255 as float32 (a grey photo passes through)."""
    if rgb.ndim == 2:
        return rgb.astype(np.float32)
    return (rgb.astype(np.float32) @ _LUMA).astype(np.float32)


def noise_sigma(gray: NDArray[np.float32]) -> float:
    """Robust grain level: the MAD of what a 3x3 median takes away, on a subsample."""
    step = max(1, int(np.sqrt(gray.size / 2_000_000)))
    g = np.ascontiguousarray(gray[::step, ::step], np.float32)
    residual = g - cv2.medianBlur(g, 3)
    return float(1.4826 * np.median(np.abs(residual)))


def _line_kernels(length: int, count: int) -> list[NDArray[np.uint8]]:
    kernels = []
    c = length // 2
    for k in range(count):
        t = np.pi * k / count
        kern = np.zeros((length, length), np.uint8)
        dx, dy = c * np.cos(t), c * np.sin(t)
        cv2.line(kern, (round(c - dx), round(c - dy)), (round(c + dx), round(c + dy)), 1, 1)
        kernels.append(kern)
    return kernels


_KERNELS = _line_kernels(LINE_LENGTH, ORIENTATIONS)
_WIDE_KERNELS = _line_kernels(WIDE_LENGTH, ORIENTATIONS)


def _ellipse(size: int) -> NDArray[np.uint8]:
    return np.asarray(cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)), np.uint8)


def _responses(gray: NDArray[np.float32], width: int) -> tuple[NDArray[np.float32], ...]:
    """Bright (top-hat) and dark (black-hat) thin-structure responses."""
    kern = _ellipse(width)
    bright = cv2.morphologyEx(gray, cv2.MORPH_TOPHAT, kern)
    dark = cv2.morphologyEx(gray, cv2.MORPH_BLACKHAT, kern)
    return np.asarray(bright, np.float32), np.asarray(dark, np.float32)


def _hysteresis(strong: NDArray[np.bool_], weak: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """The weak pixels connected to a strong one."""
    count, labels = cv2.connectedComponents(weak.astype(np.uint8), connectivity=8)
    if count <= 1:
        return np.zeros_like(weak)
    keep = np.zeros(count, bool)
    keep[np.unique(labels[strong & weak])] = True
    keep[0] = False
    return keep[labels]


def _edges(gray: NDArray[np.float32], thin: int = 7) -> NDArray[np.float32]:
    """How much the photo itself steps across a few pixels, structure under `thin` px removed."""
    g = np.ascontiguousarray(np.clip(gray, 0, 255).astype(np.uint8))
    base = cv2.GaussianBlur(cv2.medianBlur(g, thin).astype(np.float32), (0, 0), 1.0)
    gx = cv2.Sobel(base, cv2.CV_32F, 1, 0, ksize=3) / 8
    gy = cv2.Sobel(base, cv2.CV_32F, 0, 1, ksize=3) / 8
    step = np.hypot(gx, gy) * EDGE_SPAN
    return np.asarray(cv2.dilate(step, _ellipse(5)), np.float32)


def _lines(response: NDArray[np.float32], sigma: float, step: NDArray[np.float32],
           kernels: Sequence[NDArray[np.uint8]] = _KERNELS, min_span: float = MIN_LINE_SPAN
           ) -> NDArray[np.bool_]:
    linear = np.zeros_like(response)
    for kern in kernels:
        np.maximum(linear, cv2.morphologyEx(response, cv2.MORPH_OPEN, kern), out=linear)
    threshold = max(MIN_CONTRAST, LINE_STRONG * sigma)
    # The photo's own thin structure (wires, fabric, hair) comes in crowds; a scratch
    # crosses what is around it, standing far above the neighbourhood's level.
    around = cv2.blur(response, (TEXTURE_WINDOW, TEXTURE_WINDOW))
    # A halo along an edge is thin and bright too; a scratch stands above the step the
    # photo itself makes there.
    strong = (linear > threshold) & (linear > LINE_TEXTURE * around) & (linear > step)
    weak = ((response > threshold * LINE_WEAK) & (response > LINE_TEXTURE * 0.6 * around)
            & (response > 0.6 * step))
    grown = _hysteresis(strong, weak)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(grown.astype(np.uint8),
                                                               connectivity=8)
    span = np.hypot(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT])
    # Long and thin: a short stub or a thick patch is not a scratch.
    ok = span >= min_span
    ok[0] = False
    return _open(ok, np.asarray(labels, np.int32), np.asarray(stats, np.int32))[labels]


def _open(ok: NDArray[np.bool_], labels: NDArray[np.int32], stats: NDArray[np.int32]
          ) -> NDArray[np.bool_]:
    """Of the candidate lines, those that are not part of a rectangle's outline.

    A scratch or a crack runs open across the photo; a line that runs straight along two
    sides of a rectangle (a corner, or two sides with the third between them) is the white
    border of a print on an album page or a frame: the photo's own, and filling it would
    erase it.
    """
    ok = ok.copy()
    for n in np.flatnonzero(ok):
        x, y, w, h = stats[n, :4]
        if min(w, h) < FRAME_SIDE:
            continue  # runs one way only: a line, whatever its angle
        ys, xs = np.nonzero(labels[y:y + h, x:x + w] == n)
        pts = np.column_stack([xs, ys]).astype(np.float32)
        angle = np.deg2rad(cv2.minAreaRect(pts)[2])
        u = xs * np.cos(angle) + ys * np.sin(angle)
        v = ys * np.cos(angle) - xs * np.sin(angle)
        sides = 0
        for across, along in ((u, v), (v, u)):
            length = float(along.max() - along.min())
            if float(across.max() - across.min()) < FRAME_SIDE or length < FRAME_SIDE:
                continue
            for edge in np.percentile(across, [2, 98]):
                near = along[np.abs(across - edge) < FRAME_BAND]
                covered = len(np.unique(np.round(near).astype(np.int64)))
                sides += covered >= FRAME_COVER * length
        ok[n] = sides < 2
    return ok


def _spots(response: NDArray[np.float32], sigma: float, step: NDArray[np.float32],
           gray: NDArray[np.float32]) -> NDArray[np.bool_]:
    peak = (response > max(MIN_CONTRAST * SPOT_CONTRAST, SPOT_STRONG * sigma)) & (response > step)
    if not peak.any():
        return peak
    # The neighbourhood's own level of such responses (texture, foliage, print grain):
    # a spot counts only where it stands far above it.
    around = cv2.blur(response, (TEXTURE_WINDOW, TEXTURE_WINDOW))
    peak &= response > SPOT_TEXTURE * around
    weak = response > max(MIN_CONTRAST * 0.5, LINE_WEAK * sigma)
    grown = _hysteresis(peak, weak)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(grown.astype(np.uint8),
                                                               connectivity=8)
    area = stats[:, cv2.CC_STAT_AREA]
    box = np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT])
    # Compact and small: a blob filling a good part of its box, not a stroke.
    ok = (area <= SPOT_MAX_AREA) & (area >= 0.3 * box * box * 0.5)
    ok[0] = False
    return _isolated(ok, np.asarray(labels, np.int32), np.asarray(stats, np.int32), response,
                     gray, sigma)[labels]


def _isolated(ok: NDArray[np.bool_], labels: NDArray[np.int32], stats: NDArray[np.int32],
              response: NDArray[np.float32], gray: NDArray[np.float32], sigma: float
              ) -> NDArray[np.bool_]:
    """Of the candidate spots, those on a flat surround.

    Dust lands anywhere, so what is around a speck is the photo's plain surface; a button,
    an eye or a stud has its own rim and shadow around it. The ring just outside a spot
    must vary far less than the spot stands out.
    """
    ok = ok.copy()
    h, w = labels.shape
    inner, outer = _ellipse(5), _ellipse(11)
    for n in np.flatnonzero(ok):
        x, y, bw, bh = stats[n, :4]
        x0, y0 = max(0, x - 6), max(0, y - 6)
        x1, y1 = min(w, x + bw + 6), min(h, y + bh + 6)
        if stats[n, cv2.CC_STAT_AREA] < SPOT_RING_AREA:
            continue  # a speck of dust: too small to be a thing with its own rim
        blob = (labels[y0:y1, x0:x1] == n).astype(np.uint8)
        ring = (cv2.dilate(blob, outer) > 0) & ~(cv2.dilate(blob, inner) > 0)
        if ring.sum() < 8:
            continue
        around = gray[y0:y1, x0:x1][ring]
        spread = float(np.percentile(around, 90) - np.percentile(around, 10))
        contrast = float(response[y0:y1, x0:x1][blob > 0].max())
        ok[n] = spread <= max(4.0 * sigma, SPOT_RING * contrast)
    return ok


def _detect_tile(gray: NDArray[np.float32], sigma: float, faces: NDArray[np.bool_]
                 ) -> NDArray[np.bool_]:
    smooth = np.asarray(cv2.GaussianBlur(gray, (0, 0), 0.7), np.float32)
    mask = np.zeros(gray.shape, bool)
    step = _edges(smooth)
    bright, dark = _responses(smooth, LINE_WIDTH)
    mask |= _lines(bright, sigma, step)
    # On a face, thin dark lines and dots are its brows, lashes, nostrils and lips far
    # more often than dirt: only bright damage (the paper showing) is taken there.
    mask |= _lines(dark, sigma, step) & ~faces
    # Cracks where the emulsion split open are wider than scratches: bright lines at a
    # wider scale, compared with the photo's steps once those wider lines are taken out.
    wide, _ = _responses(smooth, WIDE_WIDTH)
    mask |= _lines(wide, sigma, _edges(smooth, 15), _WIDE_KERNELS, WIDE_SPAN)
    bright, dark = _responses(smooth, SPOT_WIDTH)
    mask |= _spots(bright, sigma, step, smooth)
    mask |= _spots(dark, sigma, step, smooth) & ~faces
    return mask


def face_region(shape: tuple[int, ...], boxes: Sequence[Sequence[float]]) -> NDArray[np.bool_]:
    """Where the faces are (their boxes grown by a quarter), as a mask of the photo's size."""
    region = np.zeros(shape[:2], bool)
    for x0, y0, x1, y1 in boxes:
        gx, gy = (x1 - x0) * FACE_GROW, (y1 - y0) * FACE_GROW
        region[max(0, int(y0 - gy)):max(0, int(np.ceil(y1 + gy))),
               max(0, int(x0 - gx)):max(0, int(np.ceil(x1 + gx)))] = True
    return region


def detect_damage(rgb: NDArray[np.uint8], *, faces: Sequence[Sequence[float]] = (),
                  cancel: CancelToken | None = None) -> Mask:
    """The damage mask of a photo (uint8, 0 or 255, the photo's height and width).

    `faces`: boxes (x0, y0, x1, y1) where only bright damage is looked for.
    """
    cancel = cancel or CancelToken()
    gray = luma(rgb)
    h, w = gray.shape
    sigma = noise_sigma(gray)
    on_face = face_region(gray.shape, faces)
    mask = np.zeros((h, w), np.uint8)
    for y in range(0, h, TILE):
        for x in range(0, w, TILE):
            cancel.raise_if_cancelled()
            ya, xa = max(0, y - MARGIN), max(0, x - MARGIN)
            yb, xb = min(h, y + TILE + MARGIN), min(w, x + TILE + MARGIN)
            found = _detect_tile(gray[ya:yb, xa:xb], sigma, on_face[ya:yb, xa:xb])
            inner = found[y - ya:min(h, y + TILE) - ya, x - xa:min(w, x + TILE) - xa]
            mask[y:y + TILE, x:x + TILE][inner] = 255
    if GROW:
        mask = np.asarray(cv2.dilate(mask, _ellipse(2 * GROW + 1)), np.uint8)
    return mask


def damage_stats(mask: Mask) -> DamageStats:
    """Pixels, share of the photo and separate regions that a mask marks."""
    on = (mask > 0).astype(np.uint8)
    pixels = int(on.sum())
    regions = cv2.connectedComponents(on, connectivity=8)[0] - 1 if pixels else 0
    return DamageStats(pixels, pixels / max(1, mask.size), int(regions))


def paint_stroke(mask: Mask, points: Sequence[tuple[float, float]], radius: float, *,
                 erase: bool = False) -> Mask:
    """A copy of `mask` with a brush stroke (photo pixels x, y) added, or erased."""
    out = mask.copy()
    value = 0 if erase else 255
    r = max(1, round(radius))
    pts = [(round(x), round(y)) for x, y in points]
    for p in pts:
        cv2.circle(out, p, r, value, -1)
    for a, b in zip(pts, pts[1:], strict=False):
        cv2.line(out, a, b, value, 2 * r)
    return out
