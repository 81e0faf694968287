"""The restored photo encoded like its source: format, EXIF, ICC profile and alpha kept.

The image keeps the original's format where a restored photo can be stored in it, its
EXIF (orientation set to upright, as the pixels now are) and its ICC profile; the XMP
packet that says faces were restored by AI (core.restore.notes) is embedded where the
format has room for it.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image, PngImagePlugin

from core.library.pixels import apply_orientation

log = logging.getLogger(__name__)

_ORIENTATION = 0x0112
_SOFTWARE = 0x0131
_EXIF_IFD = 0x8769
_PIXEL_X, _PIXEL_Y = 0xA002, 0xA003
# (Pillow format to save, file suffix) per source format; GIF's 256 colours cannot hold a
# restored photo, and formats Pillow cannot write become PNG.
_FORMATS = {"JPEG": ("JPEG", ".jpg"), "MPO": ("JPEG", ".jpg"), "PNG": ("PNG", ".png"),
            "TIFF": ("TIFF", ".tif"), "WEBP": ("WEBP", ".webp"), "BMP": ("BMP", ".bmp"),
            "DIB": ("BMP", ".bmp"), "HEIF": ("HEIF", ".heic"), "GIF": ("PNG", ".png")}
_SUFFIXES = {"JPEG": {".jpg", ".jpeg", ".jpe"}, "TIFF": {".tif", ".tiff"},
             "HEIF": {".heic", ".heif", ".hif"}}


def app_version() -> str:
    """The installed app's version, for the image's metadata and the notes."""
    try:
        return metadata.version("idfsr-desktop")
    except metadata.PackageNotFoundError:
        return "dev"


@dataclass(frozen=True)
class SourceInfo:
    """What the output keeps from the original file."""

    format: str  # Pillow's name of the source format
    suffix: str  # the source file's suffix, lower case
    exif: Image.Exif | None
    icc: bytes | None
    alpha: NDArray[np.uint8] | None  # upright alpha, when the original has transparency
    high_bit_depth: bool


def read_source_info(path: Path) -> SourceInfo:
    """Format, EXIF, ICC and alpha of an original that load_image has already read."""
    suffix = path.suffix.lower()
    try:
        with Image.open(path) as img:
            fmt = (img.format or "PNG").upper()
            exif = img.getexif()
            orientation = exif.get(_ORIENTATION, 1)
            icc = img.info.get("icc_profile")
            mode = img.mode
            alpha = None
            if mode in ("RGBA", "LA", "PA", "La", "RGBa") or (
                    mode == "P" and "transparency" in img.info):
                band = img.convert("RGBA").getchannel("A")
                upright = apply_orientation(band, orientation if isinstance(orientation, int)
                                            else 1)
                alpha = np.asarray(upright, np.uint8)
            high = mode.startswith("I;16") or mode in ("I", "F")
    except Exception as exc:  # noqa: BLE001 - metadata is a courtesy; the pixels were read
        log.info("could not read metadata of %s: %s", path, exc)
        return SourceInfo("PNG", suffix, None, None, None, False)
    return SourceInfo(fmt, suffix, exif if len(exif) else None,
                      icc if isinstance(icc, bytes) else None, alpha, high)


def output_format(info: SourceInfo) -> tuple[str, str]:
    """(Pillow format, suffix) of the output for this source."""
    fmt, suffix = _FORMATS.get(info.format, ("PNG", ".png"))
    if info.suffix in _SUFFIXES.get(fmt, {suffix}):
        suffix = info.suffix  # keep `.jpeg`, `.tiff`, ... as the user named them
    return fmt, suffix


def _exif_bytes(info: SourceInfo, size: tuple[int, int]) -> bytes | None:
    exif = Image.Exif()
    if info.exif is not None:
        exif = info.exif
        try:
            sub = exif.get_ifd(_EXIF_IFD)
            if _PIXEL_X in sub:
                sub[_PIXEL_X], sub[_PIXEL_Y] = size
        except Exception:  # noqa: BLE001 - a damaged EXIF sub-IFD: keep the rest
            pass
    exif[_ORIENTATION] = 1
    exif[_SOFTWARE] = f"IDFSR Desktop {app_version()} (faces restored by AI)"
    try:
        return bytes(exif.tobytes())
    except Exception as exc:  # noqa: BLE001 - EXIF we cannot write again is dropped, said so
        log.info("EXIF of the source could not be kept: %s", exc)
        return None


_TIFF_KEEP = (270, 271, 272, 306, 315, 33432)  # description, make, model, date, artist, (c)


def _tiff_tags(info: SourceInfo) -> dict[int, Any]:
    tags: dict[int, Any] = {}
    if info.exif is not None:
        tags.update({t: info.exif[t] for t in _TIFF_KEEP if t in info.exif})
    tags[_ORIENTATION] = 1
    tags[_SOFTWARE] = f"IDFSR Desktop {app_version()} (faces restored by AI)"
    return tags


def encode_image(pixels: NDArray[np.uint8], info: SourceInfo, xmp: bytes
                 ) -> tuple[bytes, str, list[str]]:
    """The restored photo encoded like its source: (bytes, suffix, warnings)."""
    warnings: list[str] = []
    fmt, suffix = output_format(info)
    if info.format not in _FORMATS:
        warnings.append(f"{info.format} cannot be written; saved as PNG")
    elif info.format == "GIF":
        warnings.append("a restored photo needs more than GIF's 256 colours; saved as PNG")
    if info.high_bit_depth:
        warnings.append("the source has more than 8 bits per sample; the output has 8")
    img = Image.fromarray(pixels)
    if info.alpha is not None and fmt in ("PNG", "WEBP", "TIFF"):
        alpha = Image.fromarray(info.alpha).resize(img.size, Image.Resampling.BICUBIC)
        img = img.convert("RGBA" if img.mode == "RGB" else "LA")
        img.putalpha(alpha)
    elif info.alpha is not None:
        warnings.append(f"{fmt} has no transparency; it was laid on white")
    kw: dict[str, Any] = {}
    exif = _exif_bytes(info, img.size)
    if info.icc:
        kw["icc_profile"] = info.icc
    if fmt == "JPEG" or fmt == "WEBP":
        kw.update(quality=95, xmp=xmp)
    elif fmt == "PNG":
        png = PngImagePlugin.PngInfo()
        png.add_itxt("XML:com.adobe.xmp", xmp.decode("utf-8"))
        kw["pnginfo"] = png
    elif fmt == "TIFF":
        # A TIFF's "EXIF" is its own IFD (strip offsets and all): carry the descriptive
        # tags over, not the layout.
        kw["compression"] = "tiff_deflate"
        kw["tiffinfo"] = _tiff_tags(info)
        exif = None
    elif fmt == "HEIF":
        kw["quality"] = 92
    if exif is not None and fmt != "BMP":
        kw["exif"] = exif
    buf = io.BytesIO()
    try:
        img.save(buf, fmt, **kw)
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        if fmt == "JPEG":
            raise
        warnings.append(f"{fmt} could not be written ({exc}); saved as JPEG")
        buf = io.BytesIO()
        img.convert("RGB" if img.mode != "L" else "L").save(
            buf, "JPEG", quality=95, xmp=xmp, **({"exif": exif} if exif else {}))
        suffix = ".jpg"
    return buf.getvalue(), suffix, warnings


def png_bytes(pixels: NDArray[np.uint8]) -> bytes:
    """Pixels as the bytes of a PNG file."""
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "PNG")
    return buf.getvalue()
