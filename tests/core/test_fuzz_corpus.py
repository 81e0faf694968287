"""A fuzz-style corpus through the index and the face pass: every supported format cut short
at many offsets and damaged at several places, under file and folder names with odd
characters. Zero tracebacks: every file gets a row, every failure a known kind and a
plain reason, nothing is logged as an unexpected error, and the CLI stays clean.

(tests/core/test_bad_inputs.py holds the hand-made hostile files: bombs, pipes, loops.)
"""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from squares_backend import SquaresBackend

from core.context import AppContext
from core.db.models import PhotoStatus
from core.faces.scan import scan_faces
from core.library import indexer, service

KNOWN_KINDS = {"truncated", "corrupt", "empty", "unsupported", "not_an_image", "too_large"}


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


@pytest.fixture
def corpus(tmp_path: Path) -> tuple[Path, dict[bytes, str], int]:
    root = tmp_path / "odd library ünï"
    files, damaged = build(root)
    return root, files, damaged


def test_corpus_through_index_and_faces(app: AppContext, corpus,
                                        caplog: pytest.LogCaptureFixture) -> None:
    root, files, damaged = corpus
    assert damaged >= 14 * 20
    service.add_root(app, root)
    with caplog.at_level(logging.WARNING):
        report = indexer.index_library(app)
        faces = scan_faces(app, SquaresBackend())
    photos = {os.fsencode(p.path): p for p in service.list_photos(app)}
    assert set(photos) == set(files)
    kinds: dict[str, int] = {}
    for path, label in files.items():
        p = photos[path]
        if label.endswith("/good"):
            assert p.status == PhotoStatus.OK, (label, p.error)
            continue
        if p.status == PhotoStatus.ERROR:
            assert p.error_kind in KNOWN_KINDS, (label, p.error_kind, p.error)
            assert p.error and "Traceback" not in p.error and "\n" not in p.error, label
            kinds[p.error_kind] = kinds.get(p.error_kind, 0) + 1
        else:
            assert p.status == PhotoStatus.OK and p.width and p.height, label
    assert report.errors == sum(kinds.values()) >= damaged // 2, kinds
    # Every cut through the magic bytes and header is an error, never an empty "photo".
    for path, label in files.items():
        if label.split("/")[1] in {"cut1", "cut2", "cut4", "cut8"}:
            assert photos[path].status == PhotoStatus.ERROR, label
    assert faces.photos + faces.errors == len(photos) - report.errors
    assert all("Traceback" not in f["reason"] for f in faces.error_files)
    unexpected = [r for r in caplog.records if r.exc_info or "unexpected" in r.getMessage()]
    assert unexpected == [], [r.getMessage() for r in unexpected]


def test_corpus_through_the_cli(isolated_home: Path, corpus) -> None:
    root, files, _ = corpus
    exe = Path(sys.executable).with_name("idfsr")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-c",
                                           "from core.cli import entry; entry()"]

    def run(*args: str) -> subprocess.CompletedProcess[bytes]:
        proc = subprocess.run([*cmd, "--home", str(isolated_home), *args],
                              capture_output=True, timeout=300, check=False)
        err = proc.stderr.decode("utf-8", "replace")
        assert proc.returncode == 0, err[-3000:]
        assert b"Traceback" not in proc.stdout and "Traceback" not in err
        return proc

    run("--face-backend", "embedded", "library", "add", str(root))
    indexed = json.loads(run("--face-backend", "embedded", "index", "--json").stdout)
    assert indexed["seen"] == len(files)
    assert indexed["faces"]["photos"] + indexed["faces"]["errors"] == (
        len(files) - indexed["errors"])
    status = json.loads(run("library", "status", "--json", "--all").stdout)
    assert status["photos"]["total"] == len(files)
    assert all(p["reason"] for p in status["problems"])
    listing = run("library", "list").stdout.decode("utf-8")  # odd names printed, not crashed
    assert "\\xff\\xfe" in listing
