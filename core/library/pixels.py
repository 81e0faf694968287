"""Pixel-level conversions shared by every image reader: orientation and display modes."""

from __future__ import annotations

import numpy as np
from PIL import Image

_TRANSPOSE = {
    2: [Image.Transpose.FLIP_LEFT_RIGHT],
    3: [Image.Transpose.ROTATE_180],
    4: [Image.Transpose.FLIP_TOP_BOTTOM],
    5: [Image.Transpose.TRANSPOSE],
    6: [Image.Transpose.ROTATE_270],
    7: [Image.Transpose.TRANSVERSE],
    8: [Image.Transpose.ROTATE_90],
}


def apply_orientation(img: Image.Image, orientation: int) -> Image.Image:
    """Rotate/flip pixels so the image shows upright, per its EXIF orientation."""
    for op in _TRANSPOSE.get(orientation, []):
        img = img.transpose(op)
    return img


def to_display_mode(img: Image.Image) -> Image.Image:
    """Convert any Pillow mode (16-bit, float, CMYK, palette, alpha...) to 8-bit RGB or L.

    16-bit samples keep their high byte (÷257); float images in 0..1 are scaled to 0..255;
    anything transparent is laid on white."""
    mode = img.mode
    if mode in ("RGB", "L"):
        return img
    if mode.startswith("I;16") or mode in ("I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        top = float(np.nanmax(arr)) if arr.size else 0.0
        if mode.startswith("I;16"):
            arr = arr / 257.0
        elif mode == "F" and top <= 1.0:
            arr = arr * 255.0
        elif top > 65535:
            arr = arr * (255.0 / top)
        elif top > 255:
            arr = arr / 257.0
        arr = np.nan_to_num(arr, nan=0.0)
        return Image.fromarray(np.clip(np.rint(arr), 0, 255).astype(np.uint8), "L")
    if mode in ("La", "RGBa"):  # premultiplied: over white is colour + (255 - alpha)
        arr = np.asarray(img, dtype=np.uint16)
        out = np.minimum(arr[..., :-1] + (255 - arr[..., -1:]), 255).astype(np.uint8)
        return Image.fromarray(out[..., 0], "L") if mode == "La" else Image.fromarray(out, "RGB")
    if mode in ("RGBA", "LA", "PA") or (mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    if mode == "1":
        return img.convert("L")
    return img.convert("RGB")
