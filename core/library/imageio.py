"""Reading images safely: every failure becomes an ImageReadError with a kind and a reason.

Originals are only ever opened read-only. Pillow does the decoding (HEIC/HEIF through
pillow-heif); sizes are checked from the header before any pixel is decoded, so a
decompression bomb costs nothing.
"""

from __future__ import annotations

import io
import struct
import warnings
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError
from pillow_heif import register_heif_opener

from core.errors import ImageReadError

register_heif_opener()

SUPPORTED_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".tif", ".tiff", ".webp", ".bmp", ".gif",
     ".heic", ".heif", ".hif"}
)
# Formats we accept once the header is read (a `.jpg` holding a PNG is fine).
SUPPORTED_FORMATS = frozenset(
    {"JPEG", "MPO", "PNG", "TIFF", "WEBP", "BMP", "GIF", "HEIF", "DIB"}
)

_EXIF_ORIENTATION = 0x0112
_EXIF_DATETIME = 0x0132
_EXIF_IFD = 0x8769
_EXIF_DATETIME_ORIGINAL = 0x9003
_TRANSPOSE = {
    2: [Image.Transpose.FLIP_LEFT_RIGHT],
    3: [Image.Transpose.ROTATE_180],
    4: [Image.Transpose.FLIP_TOP_BOTTOM],
    5: [Image.Transpose.TRANSPOSE],
    6: [Image.Transpose.ROTATE_270],
    7: [Image.Transpose.TRANSVERSE],
    8: [Image.Transpose.ROTATE_90],
}
# What Pillow raises on damaged files, besides OSError.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, struct.error, EOFError, IndexError,
                  TypeError, KeyError, zlib.error, Image.DecompressionBombError)


@dataclass(frozen=True)
class ImageInfo:
    """What the index records about a readable image. Width/height are as displayed."""

    format: str
    width: int
    height: int
    orientation: int
    captured_at: datetime | None
    mode: str


def suffix_supported(name: str) -> bool:
    """Whether a file name has an image suffix we index."""
    dot = name.rfind(".")
    return dot >= 0 and name[dot:].lower() in SUPPORTED_SUFFIXES


def _parse_exif_datetime(value: object) -> datetime | None:
    if isinstance(value, bytes):
        value = value.decode("ascii", "ignore")
    if not isinstance(value, str):
        return None
    text = value.strip().strip("\x00")[:19]
    try:
        parsed = datetime.strptime(text, "%Y:%m:%d %H:%M:%S")
    except ValueError:
        try:
            parsed = datetime.strptime(text[:10], "%Y:%m:%d")
        except ValueError:
            return None
    if not 1826 <= parsed.year <= 2200:  # the first photograph .. far future: else nonsense
        return None
    # EXIF has no zone; we keep wall-clock time and label it UTC consistently.
    return parsed.replace(tzinfo=UTC)


def _read_exif(img: Image.Image) -> tuple[int, datetime | None]:
    try:
        exif = img.getexif()
        orientation = exif.get(_EXIF_ORIENTATION, 1)
        if not isinstance(orientation, int) or not 1 <= orientation <= 8:
            orientation = 1
        taken = _parse_exif_datetime(exif.get_ifd(_EXIF_IFD).get(_EXIF_DATETIME_ORIGINAL))
        if taken is None:
            taken = _parse_exif_datetime(exif.get(_EXIF_DATETIME))
        return orientation, taken
    except Exception:  # noqa: BLE001 - EXIF is optional; absurd EXIF must not fail the photo
        return 1, None


def apply_orientation(img: Image.Image, orientation: int) -> Image.Image:
    """Rotate/flip pixels so the image shows upright, per its EXIF orientation."""
    for op in _TRANSPOSE.get(orientation, []):
        img = img.transpose(op)
    return img


def to_display_mode(img: Image.Image) -> Image.Image:
    """Convert any Pillow mode (16-bit, CMYK, palette, alpha...) to 8-bit RGB or L."""
    mode = img.mode
    if mode in ("RGB", "L"):
        return img
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        if mode.startswith("I;16"):
            arr = arr / 257.0
        elif arr.size and arr.max() > 255:
            arr = arr * (255.0 / arr.max())
        return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "L")
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or (mode == "P" and "transparency" in img.info):
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    if mode == "1":
        return img.convert("L")
    return img.convert("RGB")


def _open(source: bytes | Path) -> Image.Image:
    stream: io.BytesIO | Path = io.BytesIO(source) if isinstance(source, bytes) else source
    with warnings.catch_warnings():
        # We check sizes ourselves (below) against the user's limit.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            return Image.open(stream, formats=None)
        except FileNotFoundError as exc:
            raise ImageReadError("vanished", "the file was deleted while being read") from exc
        except PermissionError as exc:
            raise ImageReadError("unreadable", "permission denied") from exc
        except UnidentifiedImageError as exc:
            raise ImageReadError("not_an_image", "not an image in a supported format") from exc
        except Image.DecompressionBombError as exc:
            raise ImageReadError("too_large", f"image dimensions are absurdly large ({exc})") from exc
        except _DECODE_ERRORS as exc:
            raise ImageReadError("corrupt", f"damaged image header: {exc}") from exc


def _checked_open(source: bytes | Path, max_pixels: int) -> Image.Image:
    """Open and check format and size from the header alone; the caller closes the image."""
    if isinstance(source, bytes) and not source:
        raise ImageReadError("empty", "empty file (0 bytes)")
    img = _open(source)
    fmt = (img.format or "").upper()
    width, height = img.size
    problem = None
    if fmt not in SUPPORTED_FORMATS:
        problem = ImageReadError("unsupported", f"image format {fmt or 'unknown'} is not supported")
    elif width <= 0 or height <= 0:
        problem = ImageReadError("corrupt", f"image claims impossible size {width}×{height}")
    elif width * height > max_pixels:
        problem = ImageReadError(
            "too_large",
            f"image is {width}×{height} ({width * height / 1e6:.0f} MP), above the "
            f"{max_pixels / 1e6:.0f} MP limit",
        )
    if problem:
        img.close()
        raise problem
    return img


def _decode(img: Image.Image) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            img.load()
        except MemoryError as exc:
            raise ImageReadError("too_large", "not enough memory to decode this image") from exc
        except _DECODE_ERRORS as exc:
            kind = "truncated" if "truncated" in str(exc).lower() else "corrupt"
            raise ImageReadError(kind, f"image data is damaged: {exc}") from exc


def inspect_image(
    source: bytes | Path, *, max_pixels: int, thumb_size: int | None = None
) -> tuple[ImageInfo, Image.Image | None]:
    """Read header and metadata, decode fully (which proves the file is whole), and
    return an upright thumbnail no larger than `thumb_size` if one is asked for."""
    img = _checked_open(source, max_pixels)
    try:
        fmt = (img.format or "").upper()
        width, height = img.size
        orientation, taken = _read_exif(img)
        mode = img.mode
        if thumb_size and fmt == "JPEG":
            img.draft(img.mode if img.mode in ("RGB", "L") else None, (thumb_size, thumb_size))
        _decode(img)
        if orientation in (5, 6, 7, 8):
            width, height = height, width
        info = ImageInfo(fmt, width, height, orientation, taken, mode)
        if not thumb_size:
            return info, None
        try:
            thumb = to_display_mode(img)
            w, h = thumb.size
            scale = thumb_size / max(w, h)
            if scale < 1:  # resize returns a new image, independent of `img`, closed below
                size = (max(1, round(w * scale)), max(1, round(h * scale)))
                thumb = thumb.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
            elif thumb is img:
                thumb = img.copy()
            thumb = apply_orientation(thumb, orientation)
        except _DECODE_ERRORS as exc:
            raise ImageReadError("corrupt", f"image data is damaged: {exc}") from exc
        return info, thumb
    finally:
        img.close()


def load_image(path: Path, *, max_pixels: int = 250_000_000) -> Image.Image:
    """Open an image upright as 8-bit RGB or L, or raise ImageReadError with a clear reason."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImageReadError("unreadable", f"cannot read file: {exc.strerror or exc}") from exc
    img = _checked_open(data, max_pixels)
    try:
        orientation, _ = _read_exif(img)
        _decode(img)
        result = apply_orientation(to_display_mode(img), orientation)
    except BaseException:
        img.close()
        raise
    if result is not img:
        img.close()
    return result
