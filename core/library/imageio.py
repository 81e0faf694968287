"""Reading images safely: every failure becomes an ImageReadError with a kind and a reason.

Originals are only ever opened read-only. Pillow does the decoding (HEIC/HEIF through
pillow-heif; TIFFs Pillow cannot read, such as float RGB, through OpenCV); sizes are
checked from the header before any pixel is decoded, so a decompression bomb costs
nothing. The public functions raise nothing but ImageReadError (and MemoryError becomes
one too): a damaged file must never stop a scan.
"""

from __future__ import annotations

import functools
import io
import re
import struct
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import ParamSpec, TypeVar

import numpy as np
from PIL import Image, UnidentifiedImageError
from pillow_heif import register_heif_opener

from core.errors import ImageReadError
from core.fsutil import display_path
from core.library.pixels import apply_orientation, to_display_mode

register_heif_opener()

P = ParamSpec("P")
R = TypeVar("R")

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
# What Pillow raises on damaged files, besides OSError.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, struct.error, EOFError, IndexError,
                  TypeError, KeyError, zlib.error, Image.DecompressionBombError)
_TIFF_MAGIC = (b"II*\x00", b"MM\x00*")
_BOMB_PIXELS = re.compile(r"\((\d+) pixels\)")


@dataclass(frozen=True)
class ImageInfo:
    """What the index records about a readable image. Width/height are as displayed."""

    format: str
    width: int
    height: int
    orientation: int
    captured_at: datetime | None
    mode: str


def _text(exc: BaseException) -> str:
    """An exception as one printable line (no surrogates: the DB stores it as text)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    try:
        return display_path(text)
    except UnicodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _mp(pixels: float) -> str:
    """Megapixels for people: 1.5 MP, 12 MP, 250 MP."""
    mp = pixels / 1e6
    return f"{mp:.0f}" if mp >= 10 or mp == round(mp) else f"{mp:.1f}"


def _os_error(exc: OSError) -> ImageReadError:
    """A real I/O error (one with an errno), as opposed to Pillow's 'broken data' OSErrors."""
    if isinstance(exc, FileNotFoundError):
        return ImageReadError("vanished", "the file was deleted while being read")
    if isinstance(exc, PermissionError):
        return ImageReadError("unreadable", "permission denied")
    return ImageReadError("unreadable", f"cannot read file: {exc.strerror or _text(exc)}")


def _let_pillow_open_up_to(max_pixels: int) -> None:
    """Pillow refuses images above 2 × Image.MAX_IMAGE_PIXELS (~179 MP) on its own, below
    our default limit (250 MP). Raise its threshold (never lower it) to the user's limit so
    that our check, with its clearer message, is the one that applies."""
    limit = Image.MAX_IMAGE_PIXELS
    if limit is not None and 2 * limit < max_pixels:
        Image.MAX_IMAGE_PIXELS = -(-max_pixels // 2)


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


def _open(source: bytes | Path, max_pixels: int) -> Image.Image:
    stream: io.BytesIO | Path = io.BytesIO(source) if isinstance(source, bytes) else source
    try:
        return Image.open(stream, formats=None)
    except UnidentifiedImageError as exc:
        tiff = _open_tiff_with_opencv(source, max_pixels)
        if tiff is not None:
            return tiff
        raise ImageReadError(
            "not_an_image", "not an image: the content is in no image format the app reads"
        ) from exc
    except Image.DecompressionBombError as exc:
        found = _BOMB_PIXELS.search(str(exc))
        claimed = f"{_mp(int(found.group(1)))} MP" if found else "an absurd number of pixels"
        raise ImageReadError(
            "too_large",
            f"image header claims {claimed}, far above the {_mp(max_pixels)} MP limit; "
            "refused without decoding (a likely decompression bomb)",
        ) from exc
    except OSError as exc:
        if exc.errno is not None:
            raise _os_error(exc) from exc
        raise _damaged(exc, "damaged image header") from exc
    except _DECODE_ERRORS as exc:
        raise _damaged(exc, "damaged image header") from exc


def _tiff_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from the first IFD of a classic TIFF, or None."""
    try:
        order = "<" if data[:2] == b"II" else ">"
        (ifd,) = struct.unpack_from(order + "I", data, 4)
        (count,) = struct.unpack_from(order + "H", data, ifd)
        tags: dict[int, int] = {}
        for i in range(min(count, 512)):
            tag, typ, _, value = struct.unpack_from(order + "HHI4s", data, ifd + 2 + 12 * i)
            if typ == 3:  # SHORT
                tags[tag] = struct.unpack_from(order + "H", value)[0]
            elif typ == 4:  # LONG
                tags[tag] = struct.unpack_from(order + "I", value)[0]
        return tags[256], tags[257]
    except (struct.error, KeyError):
        return None


def _open_tiff_with_opencv(source: bytes | Path, max_pixels: int) -> Image.Image | None:
    """TIFFs Pillow cannot identify (float RGB, for one), decoded by OpenCV; None if not one."""
    try:
        if isinstance(source, bytes):
            data = source
        else:
            with open(source, "rb") as f:
                if f.read(4) not in _TIFF_MAGIC:
                    return None
            data = source.read_bytes()
    except OSError as exc:
        raise _os_error(exc) from exc
    if data[:4] not in _TIFF_MAGIC:
        return None
    import cv2  # only here: most runs never need it, and it is slow to import
    size = _tiff_size(data)
    if size is None:
        raise ImageReadError("corrupt", "damaged TIFF header")
    _check_size(*size, max_pixels)
    # OpenCV's TIFF decoder applies the Orientation tag itself: these pixels come upright,
    # so no orientation is left to record.
    arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if arr is None or arr.size == 0:
        raise ImageReadError("corrupt", "TIFF image data is damaged or in an unsupported layout")
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[..., 0]
    if arr.ndim == 3:
        arr = cv2.cvtColor(arr, cv2.COLOR_BGRA2RGBA if arr.shape[2] == 4 else cv2.COLOR_BGR2RGB)
    if arr.dtype != np.uint8:
        values = arr.astype(np.float64)
        top = float(np.nanmax(values))
        if arr.dtype == np.uint16:
            values /= 257.0
        elif arr.dtype.kind == "f" and top <= 1.0:
            values *= 255.0
        elif top > 255:
            values *= 255.0 / top
        arr = np.clip(np.rint(np.nan_to_num(values)), 0, 255).astype(np.uint8)
    img = Image.fromarray(arr)
    img.format = "TIFF"
    return img


def _check_size(width: int, height: int, max_pixels: int) -> None:
    if width <= 0 or height <= 0:
        raise ImageReadError("corrupt", f"image claims an impossible size, {width}×{height}")
    if width * height > max_pixels:
        raise ImageReadError(
            "too_large",
            f"image is {width}×{height} ({_mp(width * height)} MP), above the "
            f"{_mp(max_pixels)} MP limit",
        )


def _checked_open(source: bytes | Path, max_pixels: int) -> Image.Image:
    """Open and check format and size from the header alone; the caller closes the image."""
    if isinstance(source, bytes) and not source:
        raise ImageReadError("empty", "empty file (0 bytes)")
    if isinstance(source, Path):
        try:
            if source.stat().st_size == 0:
                raise ImageReadError("empty", "empty file (0 bytes)")
        except OSError as exc:
            raise _os_error(exc) from exc
    _let_pillow_open_up_to(max_pixels)
    img = _open(source, max_pixels)
    try:
        fmt = (img.format or "").upper()
        if fmt not in SUPPORTED_FORMATS:
            raise ImageReadError("unsupported", f"image format {fmt or 'unknown'} is not supported")
        _check_size(*img.size, max_pixels)
    except BaseException:
        img.close()
        raise
    return img


def _decode(img: Image.Image) -> None:
    try:
        img.load()
    except MemoryError as exc:
        raise ImageReadError("too_large", "not enough memory to decode this image") from exc
    except OSError as exc:
        if exc.errno is not None:
            raise _os_error(exc) from exc
        raise _damaged(exc) from exc
    except _DECODE_ERRORS as exc:
        raise _damaged(exc) from exc


def _damaged(exc: BaseException, what: str = "image data is damaged") -> ImageReadError:
    text = _text(exc)
    if isinstance(exc, EOFError) or "truncated" in text.lower():
        return ImageReadError("truncated", "the file is truncated: it ends before the image does")
    return ImageReadError("corrupt", f"{what}: {text}")


def _guarded(fn: Callable[P, R]) -> Callable[P, R]:
    """Whatever a decoder raises on a hostile file comes out as an ImageReadError."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with warnings.catch_warnings():
            # We check sizes ourselves against the user's limit; damaged metadata is ours to judge.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            warnings.filterwarnings("ignore", category=UserWarning, module=r"PIL\.")
            try:
                return fn(*args, **kwargs)
            except ImageReadError:
                raise
            except MemoryError as exc:
                raise ImageReadError("too_large", "not enough memory to decode this image") from exc
            except Exception as exc:  # noqa: BLE001 - a decoder bug must not stop a scan
                raise ImageReadError(
                    "corrupt", f"could not decode the image ({type(exc).__name__}: {_text(exc)})"
                ) from exc

    return wrapper


@_guarded
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
            raise _damaged(exc) from exc
        return info, thumb
    finally:
        img.close()


@_guarded
def load_image(path: Path, *, max_pixels: int = 250_000_000) -> Image.Image:
    """Open an image upright as 8-bit RGB or L, or raise ImageReadError with a clear reason."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise _os_error(exc) from exc
    img = _checked_open(data, max_pixels)
    try:
        orientation, _ = _read_exif(img)
        _decode(img)
        result = apply_orientation(to_display_mode(img), orientation)
    except _DECODE_ERRORS as exc:
        img.close()
        raise _damaged(exc) from exc
    except BaseException:
        img.close()
        raise
    if result is not img:
        img.close()
    return result
