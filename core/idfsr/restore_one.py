"""Loading a single aligned face (and reference) from image files, for `idfsr restore-face`."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from core.faces.align import canonical_template
from core.idfsr.degrade import upscale
from core.idfsr.sample import FaceInput
from core.library.imageio import load_image


def load_aligned_face(image: Path, size: int, reference: Path | None = None) -> FaceInput:
    """A FaceInput from a crop on the canonical template (any size; its side is the LR size)."""
    lr = np.asarray(load_image(image).convert("RGB"))
    if lr.shape[0] != lr.shape[1]:
        raise ValueError(f"{image.name} is {lr.shape[1]}x{lr.shape[0]}; an aligned face is square")
    lr_up = upscale(lr, size) if lr.shape[0] != size else lr
    template = canonical_template(size)
    ref = None
    if reference is not None:
        r = np.asarray(load_image(reference).convert("RGB"))
        ref = np.asarray(cv2.resize(r, (size, size), interpolation=cv2.INTER_AREA
                                    if r.shape[0] > size else cv2.INTER_CUBIC), np.uint8)
    return FaceInput(np.ascontiguousarray(lr_up), min(lr.shape[0], size), template, ref,
                     template if ref is not None else None)
