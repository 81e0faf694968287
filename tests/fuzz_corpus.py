"""The fuzz corpus: every supported format cut short at many offsets and damaged at
several places, under file and folder names with odd characters. Used by the index, CLI
and GUI drop tests."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image


def _picture(mode: str = "RGB") -> Image.Image:
    """64×48: a gradient with noise and a bright square (a "face" for the squares backend)."""
    rng = np.random.default_rng(3)
    x = np.linspace(0, 255, 64)[None, :, None]
    arr = np.clip(x * 0.5 + rng.normal(0, 20, (48, 64, 3)), 0, 255).astype(np.uint8)
    arr[10:30, 20:40] = (250, 200, 40)
    img = Image.fromarray(arr, "RGB")
    return img.convert(mode) if mode != "RGB" else img


def _encode(fmt: str, mode: str = "RGB", **kw: object) -> Callable[[], bytes]:
    def make() -> bytes:
        buf = io.BytesIO()
        _picture(mode).save(buf, fmt, **kw)
        return buf.getvalue()
    return make


def _tiff16() -> bytes:
    import cv2

    arr = (np.linspace(0, 65535, 64 * 48).reshape(48, 64)).astype(np.uint16)
    ok, data = cv2.imencode(".tif", arr)
    assert ok
    return data.tobytes()


def _gif_animated() -> bytes:
    buf = io.BytesIO()
    frames = [_picture("P"), _picture("L").convert("P")]
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=50)
    return buf.getvalue()


FORMATS: dict[str, tuple[str, Callable[[], bytes]]] = {
    "jpeg": (".jpg", _encode("JPEG", quality=90)),
    "jpeg-progressive": (".jpeg", _encode("JPEG", quality=90, progressive=True)),
    "jpeg-cmyk": (".jpg", _encode("JPEG", "CMYK")),
    "png": (".png", _encode("PNG")),
    "png-rgba": (".png", _encode("PNG", "RGBA")),
    "png-palette": (".png", _encode("PNG", "P")),
    "tiff": (".tif", _encode("TIFF")),
    "tiff-lzw": (".tiff", _encode("TIFF", compression="tiff_lzw")),
    "tiff-16bit": (".tif", _tiff16),
    "webp": (".webp", _encode("WEBP", quality=80)),
    "webp-lossless": (".webp", _encode("WEBP", lossless=True)),
    "bmp": (".bmp", _encode("BMP")),
    "gif": (".gif", _gif_animated),
    "heif": (".heic", _encode("HEIF", quality=80)),
}

# Names that have broken tools before: spaces, Unicode in several scripts and forms, shell
# and glob characters, control characters, leading dashes, very long names.
ODD_NAMES = [
    "plain", "with space", " leading space", "trailing space ", "ünïcødé",
    "e\u0301-decomposed", "漢字", "кириллица", "emoji 😀", "new\nline", "tab\tchar",
    "-leading-dash", "--help", "#hash %20 &amp;", "quote'\"", "back\\slash", "$(echo x)",
    "*?[glob]", "dots..in..name", "CON", "x" * 180,
]
ODD_DIRS = ["", "dir with spaces", "ünï/漢字", "-dash/$(x)", "deep/" * 12]
NON_UTF8 = b"bytes-\xff\xfe-\xc3\x28"


def _variants(data: bytes) -> dict[str, bytes]:
    """Cuts at offsets through magic, header and data; flips at several places."""
    n = len(data)
    cuts = sorted({1, 2, 4, 8, 12, 16, 24, 32, 64, n // 8, n // 4, n // 2, 3 * n // 4, n - 16,
                   n - 1} - {0, n})
    out = {f"cut{c}": data[:c] for c in cuts}
    for frac in (0.02, 0.1, 0.3, 0.5, 0.9):
        at = min(n - 8, int(n * frac))
        hurt = bytearray(data)
        hurt[at:at + 8] = bytes(b ^ 0xA5 for b in hurt[at:at + 8])
        out[f"flip{int(frac * 100)}"] = bytes(hurt)
    out["header-zeroed"] = data[:4] + bytes(min(60, n - 4)) + data[64:]
    out["doubled"] = data + data
    out["tail-garbage"] = data + os.urandom(512)
    return out


def build(root: Path) -> tuple[dict[bytes, str], int]:
    """Write the corpus; {path bytes: label} and how many files are damaged."""
    files: dict[bytes, str] = {}
    damaged = 0
    i = 0
    for fmt, (suffix, make) in FORMATS.items():
        data = make()
        for label, blob in {"good": data, **_variants(data)}.items():
            name = ODD_NAMES[i % len(ODD_NAMES)]
            folder = root / ODD_DIRS[i % len(ODD_DIRS)]
            folder.mkdir(parents=True, exist_ok=True)
            path = os.path.join(os.fsencode(folder), os.fsencode(f"{name}-{fmt}-{label}{suffix}"))
            if i % 17 == 0:  # now and then a name that is not UTF-8 at all
                path = os.path.join(os.fsencode(folder), NON_UTF8 + f"-{fmt}-{label}".encode()
                                    + suffix.encode())
            with open(path, "wb") as f:
                f.write(blob)
            files[path] = f"{fmt}/{label}"
            damaged += label != "good"
            i += 1
    return files, damaged
