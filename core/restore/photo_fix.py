"""The whole photo before its faces: damage found and filled, tone corrected, enlarged.

One plain function for the restore job, choosing another candidate, and the desktop
app's mask editor: `fix_photo` takes the photo at its own size (and, optionally, a mask
the user edited) and returns the repaired pixels with what was done; `PhotoFix.enlarge`
makes the canvas the restored faces are pasted on. The faces are restored from the
repaired pixels, so a scratch across a face is gone before the face model sees it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from core.errors import IdfsrError
from core.jobs import CancelToken
from core.restore import compose
from core.restore.damage import DamageStats, Mask, damage_stats, detect_damage
from core.restore.enlarge import DEFAULT_CHAIN, enlarge
from core.restore.inpaint import DEFAULT_METHOD, repair
from core.restore.tone import ToneChange, correct_tone

Image = NDArray[np.uint8]


@dataclass
class PhotoFix:
    """A photo repaired and toned at its own size, and what was done to it."""

    pixels: Image
    mask: Mask | None  # None: repair was off
    stats: DamageStats | None
    tone: ToneChange | None  # None: tone strength 0
    chain: str | None  # how the background is enlarged (None: plain Lanczos)
    mask_edited: bool = False

    def enlarge(self, scale: float) -> Image:
        """The canvas: the repaired photo enlarged (plain Lanczos when repair is off)."""
        if self.chain is None:
            return compose.upscale_photo(self.pixels, scale)
        return enlarge(self.pixels, scale, self.chain)

    @property
    def changed(self) -> bool:
        """Whether damage was filled or the tone corrected (not only colour-space rounding)."""
        return bool(self.stats and self.stats.pixels) or bool(self.tone and self.tone.applied)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for the restore note."""
        damage: dict[str, Any] | None = None
        if self.stats is not None:
            damage = {**self.stats.to_dict(), "method": DEFAULT_METHOD,
                      "mask": "edited" if self.mask_edited else "detected"}
        return {"damage": damage, "tone": self.tone.to_dict() if self.tone else None,
                "enlarge": self.chain or "lanczos"}


def fix_photo(rgb: Image, *, repair_damage: bool = True, tone: float = 0.0,
              keep_monochrome: bool = True, mask: NDArray[Any] | None = None,
              faces: Sequence[Sequence[float]] = (),
              cancel: CancelToken | None = None) -> PhotoFix:
    """Repair (detected or given mask) and tone-correct an RGB photo; the input is not changed.

    `mask` (the photo's height and width, nonzero = damaged) replaces detection, e.g. a
    mask the user edited. `faces`: face boxes, where only bright damage is detected.
    """
    cancel = cancel or CancelToken()
    pixels = rgb
    found: Mask | None = None
    stats = None
    chain = None
    if repair_damage:
        if mask is not None:
            if mask.shape[:2] != rgb.shape[:2]:
                raise IdfsrError(f"the damage mask is {mask.shape[1]}x{mask.shape[0]}, the "
                                 f"photo {rgb.shape[1]}x{rgb.shape[0]}")
            found = np.where(np.asarray(mask)[..., 0] if mask.ndim == 3 else np.asarray(mask),
                             255, 0).astype(np.uint8)
        else:
            found = detect_damage(rgb, faces=faces, cancel=cancel)
        cancel.raise_if_cancelled()
        stats = damage_stats(found)
        if stats.pixels:
            pixels = repair(rgb, found, cancel=cancel)
        chain = DEFAULT_CHAIN
    change = None
    if tone > 0:
        cancel.raise_if_cancelled()
        pixels, change = correct_tone(pixels, tone, keep_monochrome=keep_monochrome)
    if pixels is rgb:
        pixels = rgb.copy()
    return PhotoFix(pixels, found, stats, change, chain, mask_edited=mask is not None)
