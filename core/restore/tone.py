"""Fading, colour cast and low contrast corrected, with a strength from 0 to 1.

Colour photos: per-channel robust levels (each dye faded on its own), then the cast
that remains taken out in CIELAB (the mean chroma of the mid-tones, gray-world), then
the lightness stretched to robust black and white points. Grey and toned photos (sepia,
cyanotype) are kept as they are: only their lightness is stretched, their a/b tone stays,
unless the user asks to neutralise them. The result is blended with the photo by the
strength; gains are bounded so that a dark night photo does not become day.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

Image = NDArray[np.uint8]
LOW, HIGH = 0.5, 99.5  # robust black and white points (percentiles)
MAX_GAIN = 2.5  # levels never stretch a channel more than this
MIN_RANGE_CHANGE = 0.02  # levels closer than this to 0..1 are left alone
# Fading lifts the black point (the dyes lose density); a warm paper or scene keeps deep
# blacks. Colour balance (channels levelled apart, the cast taken out) starts where the
# darkest channel's black is lifted 8% and is full at 18% (faded bench prints: 25-38%;
# the demo album page, brown with deep blacks: 5%).
LIFT_FROM, LIFT_SPAN = 0.08, 0.10
SAMPLE = 1_000_000  # percentiles are taken on at most this many pixels
ONE_TONE = 6.0  # mean CIELAB a/b distance from their median below which a photo is one tone
TONE_SHARE = 0.3  # ... and below this share of the tone's own chroma
GREY_SPREAD = 2.0  # below this spread a photo is grey or one tone whatever its chroma


@dataclass
class ToneChange:
    """What the tone correction did, for the restore note."""

    strength: float
    monochrome: bool
    neutralised: bool = False
    black: list[float] = field(default_factory=list)  # per channel (or lightness), 0..255
    white: list[float] = field(default_factory=list)
    cast_ab: list[float] = field(default_factory=list)  # the CIELAB a/b shift taken out

    @property
    def applied(self) -> bool:
        """Whether any pixel was changed."""
        return self.strength > 0 and bool(self.black or self.cast_ab)

    def to_dict(self) -> dict[str, Any]:
        """Plain data."""
        return {"strength": self.strength, "applied": self.applied,
                "monochrome": self.monochrome, "neutralised": self.neutralised,
                "black": [round(v, 1) for v in self.black],
                "white": [round(v, 1) for v in self.white],
                "cast_ab": [round(v, 2) for v in self.cast_ab]}


def _sample(x: NDArray[np.float32]) -> NDArray[np.float32]:
    step = max(1, int(np.sqrt(x.shape[0] * x.shape[1] / SAMPLE)))
    return x[::step, ::step]


def _levels(v: NDArray[np.float32], lo: float, hi: float) -> NDArray[np.float32]:
    """v (0..1) stretched so that lo..hi covers 0..1, the gain bounded."""
    span = max(hi - lo, 1.0 / MAX_GAIN)
    mid = (lo + hi) / 2
    lo, hi = max(0.0, mid - span / 2), min(1.0, mid + span / 2)
    return (v - lo) / max(hi - lo, 1e-6)


def _points(v: NDArray[np.float32]) -> tuple[float, float]:
    lo, hi = np.percentile(_sample(v), [LOW, HIGH])
    # Full range, or none at all (a plain field): nothing to stretch.
    if (lo < MIN_RANGE_CHANGE and hi > 1 - MIN_RANGE_CHANGE) or hi - lo < 1 / 255:
        return 0.0, 1.0
    return float(lo), float(hi)


def is_monochrome(rgb: Image) -> bool:
    """Grey or one tone (sepia, cyanotype): every pixel's chroma near one point.

    A toned print's a/b stay close to their median (measured on the real sepia prints of
    the fixtures: 2.5-5 CIELAB units on average, under 0.3 of the tone's own chroma);
    colour photos spread 8-20, faded ones 3-11 around a cast whose chroma is not much
    larger. Grey photos have neither spread nor tone.
    """
    lab = cv2.cvtColor(_sample(rgb.astype(np.float32) / 255.0), cv2.COLOR_RGB2LAB)
    a, b = lab[..., 1], lab[..., 2]
    ma, mb = float(np.median(a)), float(np.median(b))
    spread = float(np.hypot(a - ma, b - mb).mean())
    return bool(spread < GREY_SPREAD
                or (spread < ONE_TONE and spread < TONE_SHARE * np.hypot(ma, mb)))


def correct_tone(rgb: Image, strength: float, *, keep_monochrome: bool = True
                 ) -> tuple[Image, ToneChange]:
    """The photo with its tone corrected by `strength` (0: unchanged, 1: fully)."""
    strength = float(np.clip(strength, 0.0, 1.0))
    monochrome = is_monochrome(rgb)
    change = ToneChange(strength, monochrome)
    if strength == 0:
        return rgb.copy(), change
    x = rgb.astype(np.float32) / 255.0
    if monochrome and keep_monochrome:
        lab = np.asarray(cv2.cvtColor(x, cv2.COLOR_RGB2LAB), np.float32)
        lo, hi = _points(lab[..., 0] / 100.0)
        if (lo, hi) != (0.0, 1.0):
            lab[..., 0] = np.clip(_levels(lab[..., 0] / 100.0, lo, hi), 0, 1) * 100.0
            change.black, change.white = [lo * 255], [hi * 255]
        out = cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)
    else:
        out = np.empty_like(x)
        points = [_points(x[..., c]) for c in range(3)]
        # A scene may be warm or green on its own: the channels are levelled apart (and
        # the cast taken out) only as far as the photo is faded; otherwise one level for
        # all three stretches the contrast and keeps the colour.
        gate = float(np.clip((min(p[0] for p in points) - LIFT_FROM) / LIFT_SPAN, 0.0, 1.0))
        if monochrome:
            gate = 1.0
        common = (min(p[0] for p in points), max(p[1] for p in points))
        for c, (lo, hi) in enumerate(points):
            lo = common[0] + gate * (lo - common[0])
            hi = common[1] + gate * (hi - common[1])
            out[..., c] = _levels(x[..., c], lo, hi)
            change.black.append(lo * 255)
            change.white.append(hi * 255)
        if all(b == 0 for b in change.black) and all(w == 255 for w in change.white):
            change.black, change.white = [], []
        lab = np.asarray(cv2.cvtColor(np.clip(out, 0, 1), cv2.COLOR_RGB2LAB), np.float32)
        s = _sample(lab)
        # The cast: the mean chroma of the mid-tones, where a neutral scene is grey.
        mid = (s[..., 0] > 20) & (s[..., 0] < 90)
        chroma = np.hypot(s[..., 1], s[..., 2])
        mid &= chroma < np.percentile(chroma, 80) if chroma.size else mid
        if mid.any() and gate > 0:
            shift = [gate * float(np.median(s[..., 1][mid])),
                     gate * float(np.median(s[..., 2][mid]))]
            if monochrome:  # asked to neutralise: the toning goes entirely
                change.neutralised = True
            lab[..., 1] -= shift[0]
            lab[..., 2] -= shift[1]
            change.cast_ab = shift
        out = cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)
    blended = x + strength * (np.clip(out, 0, 1) - x)
    return np.clip(np.rint(blended * 255), 0, 255).astype(np.uint8), change
