"""Bad input never stops a scan, and every bad file is recorded with a clear reason.

The corpus is generated here, in tmp_path (no binary fixtures): good photos in every
format and mode we claim to read, next to damaged, hostile and vanishing files.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from core.context import AppContext
from core.db.models import PhotoStatus
from core.fsutil import display_path
from core.library import indexer, service
from core.library.thumbnails import thumbnail_file

RED = (255, 0, 0)
GREEN = (0, 255, 0)
BLUE = (0, 0, 255)
WHITE = (255, 255, 255)
NON_UTF8_NAME = b"bad\xff\xfename.jpg"


# ---- building the corpus ---------------------------------------------------------------

def _jpeg(img: Image.Image, **kw: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=95, **kw)
    return buf.getvalue()


def _noise(w: int, h: int, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8), "RGB")


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(
        ">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny, well-formed PNG whose IHDR (valid CRC) claims an enormous size."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr)
            + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + _png_chunk(b"IEND", b""))


def png_cut_mid_idat() -> bytes:
    buf = io.BytesIO()
    _noise(64, 64, seed=1).save(buf, "PNG")
    data = buf.getvalue()
    idat = data.index(b"IDAT")
    (length,) = struct.unpack(">I", data[idat - 4:idat])
    assert length > 1000  # noise does not compress: the cut really lands inside IDAT
    return data[: idat + 4 + length // 2]


def exif_bytes(orientation: int | None = None, original: str | None = None,
               make: bytes | None = None) -> bytes:
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    if make is not None:
        exif[0x010F] = make
    if original is not None:
        exif.get_ifd(0x8769)[0x9003] = original
    return exif.tobytes()


def jpeg_with_raw_app1(payload: bytes) -> bytes:
    """A JPEG with an APP1 'Exif' segment holding arbitrary bytes."""
    data = _jpeg(Image.new("RGB", (24, 16), GREEN))
    seg = b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload
    return data[:2] + seg + data[2:]


def oriented_source() -> Image.Image:
    """64 wide x 32 high as stored; the top-left quarter red, the rest blue."""
    img = Image.new("RGB", (64, 32), BLUE)
    img.paste(RED, (0, 0, 32, 16))
    return img


@dataclass(frozen=True)
class Bad:
    """What the index must record for a bad input."""

    where: str  # "error" / "missing" (a photo row) or "issue" (a scan issue)
    kind: str
    words: tuple[str, ...]  # each must appear (case-insensitively) in the reason


@dataclass
class Corpus:
    root: Path
    good: dict[str, Path]
    bad: dict[str, tuple[Path, Bad]]
    locked: Path
    doomed: Path
    non_utf8: bytes


def build_corpus(root: Path) -> Corpus:
    root.mkdir()
    good: dict[str, Path] = {}
    bad: dict[str, tuple[Path, Bad]] = {}

    def put(name: str, data: bytes) -> Path:
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        return p

    def save(name: str, img: Image.Image, fmt: str, **kw: object) -> Path:
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        img.save(p, fmt, **kw)
        return p

    # -- good photos --------------------------------------------------------------------
    good["plain.jpg"] = put("plain.jpg", _jpeg(Image.new("RGB", (40, 30), RED)))
    good["sub/plain.png"] = save("sub/plain.png", Image.new("RGB", (30, 20), GREEN), "PNG")
    good["cmyk.jpg"] = save("cmyk.jpg", Image.new("CMYK", (32, 24), (0, 255, 255, 0)), "JPEG",
                            quality=95)
    gray16 = np.full((24, 32), 40000, np.uint16)
    assert cv2.imwrite(str(root / "gray16.tif"), gray16)
    good["gray16.tif"] = root / "gray16.tif"
    rgb48 = np.zeros((24, 32, 3), np.uint16)  # cv2 order is BGR
    rgb48[..., 2], rgb48[..., 1], rgb48[..., 0] = 65535, 30000, 0
    assert cv2.imwrite(str(root / "rgb48.tif"), rgb48)
    good["rgb48.tif"] = root / "rgb48.tif"
    pal = Image.new("P", (32, 16), 0)
    pal.putpalette([0, 0, 0, 255, 0, 0] + [0] * (256 * 3 - 6))
    pal.paste(1, (16, 0, 32, 16))  # left: index 0 (transparent), right: red
    good["palette.png"] = save("palette.png", pal, "PNG", transparency=0)
    rgba = Image.new("RGBA", (32, 16), (255, 0, 0, 0))
    rgba.paste((0, 0, 255, 255), (16, 0, 32, 16))
    good["rgba.png"] = save("rgba.png", rgba, "PNG")
    la = Image.new("LA", (32, 16), (0, 0))
    la.paste((50, 255), (16, 0, 32, 16))
    good["la.png"] = save("la.png", la, "PNG")
    bw = Image.new("1", (32, 16), 0)
    bw.paste(1, (16, 0, 32, 16))
    good["bw.bmp"] = save("bw.bmp", bw, "BMP")
    frames = [Image.new("RGB", (32, 16), RED), Image.new("RGB", (32, 16), BLUE)]
    good["anim.gif"] = save("anim.gif", frames[0], "GIF", save_all=True,
                            append_images=frames[1:], duration=100, loop=0)
    good["green.webp"] = save("green.webp", Image.new("RGB", (32, 16), GREEN), "WEBP",
                              quality=95)
    good["red.heic"] = save("red.heic", Image.new("RGB", (32, 16), RED), "HEIF", quality=95)
    good["rotated.jpg"] = put("rotated.jpg", _jpeg(oriented_source(),
                                                   exif=exif_bytes(orientation=6)))
    good["absurd-exif.jpg"] = put("absurd-exif.jpg", _jpeg(
        Image.new("RGB", (24, 16), GREEN),
        exif=exif_bytes(orientation=99, original="0000:00:00 00:00:00",
                        make=b"\xff\xfe\x00\x9c garbage \x00\x01")))
    good["garbage-app1.jpg"] = put("garbage-app1.jpg", jpeg_with_raw_app1(
        b"Exif\x00\x00MM\x00\x2a\xff\xff\xff\xf0" + bytes(range(256)) * 2))
    good["dated.jpg"] = put("dated.jpg", _jpeg(Image.new("RGB", (24, 16), RED),
                                               exif=exif_bytes(original="2001:02:03 04:05:06")))
    good["jpeg-inside.png"] = put("jpeg-inside.png", _jpeg(Image.new("RGB", (16, 16), RED)))
    non_utf8 = os.path.join(os.fsencode(root), NON_UTF8_NAME)
    with open(non_utf8, "wb") as f:
        f.write(_jpeg(Image.new("RGB", (20, 20), GREEN)))
    good["non-utf8"] = Path(os.fsdecode(non_utf8))

    # -- bad inputs ---------------------------------------------------------------------
    def bad_file(name: str, data: bytes, expect: Bad) -> Path:
        p = put(name, data)
        bad[name] = (p, expect)
        return p

    bad_file("empty.jpg", b"", Bad("error", "empty", ("empty", "0 bytes")))
    whole = _jpeg(_noise(64, 64))
    bad_file("truncated.jpg", whole[: len(whole) // 2], Bad("error", "truncated", ("truncated",)))
    bad_file("text.jpg", b"Dear diary, today I saved a note with a .jpg name.\n" * 5,
             Bad("error", "not_an_image", ("not an image",)))
    bad_file("bomb.png", png_bomb(),
             Bad("error", "too_large", ("10000 MP", "1 MP limit", "decompression bomb")))
    bad_file("cut.png", png_cut_mid_idat(), Bad("error", "truncated", ("truncated",)))
    ico = io.BytesIO()
    Image.new("RGB", (16, 16), RED).save(ico, "ICO")
    bad_file("icon.png", ico.getvalue(), Bad("error", "unsupported", ("ICO", "not supported")))
    # 1500×1000 = 1.5 MP, above the 1 MP limit the test sets (valid, but too big)
    huge = root / "huge.png"
    Image.new("RGB", (1500, 1000), BLUE).save(huge, "PNG")
    bad["huge.png"] = (huge, Bad("error", "too_large", ("1500×1000", "1.5 MP", "1 MP limit")))
    locked = bad_file("locked.jpg", _jpeg(Image.new("RGB", (16, 16), RED)),
                      Bad("error", "unreadable", ("permission denied",)))
    locked.chmod(0)
    doomed = bad_file("doomed.jpg", _jpeg(Image.new("RGB", (16, 16), RED)),
                      Bad("missing", "vanished", ("deleted", "scan")))

    (root / "loop").mkdir()
    (root / "loop" / "inside.jpg").write_bytes(_jpeg(Image.new("RGB", (16, 16), BLUE)))
    good["loop/inside.jpg"] = root / "loop" / "inside.jpg"
    os.symlink("..", root / "loop" / "up")
    bad["loop/up"] = (root / "loop" / "up",
                      Bad("issue", "symlink_loop", ("loop", "already scanned")))
    os.symlink("self.jpg", root / "self.jpg")
    bad["self.jpg"] = (root / "self.jpg", Bad("issue", "symlink_loop", ("loop", "itself")))
    os.symlink("nowhere/gone.jpg", root / "x.jpg")
    bad["x.jpg"] = (root / "x.jpg",
                    Bad("issue", "broken_link", ("broken", "nowhere/gone.jpg", "does not exist")))
    os.mkfifo(root / "pipe.jpg")  # opening it would block forever
    bad["pipe.jpg"] = (root / "pipe.jpg", Bad("issue", "not_a_file", ("named pipe",)))
    return Corpus(root, good, bad, locked, doomed, non_utf8)


def snapshot(root: Path) -> dict[bytes, tuple[str, int] | bytes]:
    """sha256 and mtime of every file under root (links: their target), without following."""
    out: dict[bytes, tuple[str, int] | bytes] = {}
    for folder, dirs, files in os.walk(os.fsencode(root)):
        for name in dirs + files:
            p = os.path.join(folder, name)
            st = os.lstat(p)
            if os.path.islink(p):
                out[p] = os.readlink(p)
            elif name in files and not stat.S_ISFIFO(st.st_mode):
                mode = st.st_mode & 0o7777
                os.chmod(p, 0o600)  # so that a run as non-root can read the locked file too
                try:
                    with open(p, "rb") as f:
                        digest = hashlib.sha256(f.read()).hexdigest()
                finally:
                    os.chmod(p, mode)
                assert os.lstat(p).st_mtime_ns == st.st_mtime_ns
                out[p] = (digest, st.st_mtime_ns)
    return out


# ---- the scan --------------------------------------------------------------------------

def _pixel(path: Path, xy: tuple[int, int]) -> tuple[int, ...]:
    with Image.open(path) as im:
        return im.convert("RGB").getpixel(xy)  # type: ignore[return-value]


def _near(a: tuple[int, ...], b: tuple[int, ...], tol: int = 40) -> bool:
    return all(abs(x - y) <= tol for x, y in zip(a, b, strict=True))


@pytest.fixture
def scanned(app: AppContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    corpus = build_corpus(tmp_path / "photos")
    before = snapshot(corpus.root)
    monkeypatch.setattr(app.settings.index, "max_image_pixels", 1_000_000)
    service.add_root(app, corpus.root)

    original: Callable[[str], tuple[str, bytes | None]] = indexer._hash_file
    hashed: list[str] = []

    def hostile_hash(path: str) -> tuple[str, bytes | None]:
        hashed.append(path)
        if path == str(corpus.locked):  # root ignores chmod 000: deny it the way the OS would
            raise PermissionError(13, "Permission denied", path)
        if path == str(corpus.doomed):  # really gone by the time it is opened
            os.remove(path)
        return original(path)

    monkeypatch.setattr(indexer, "_hash_file", hostile_hash)
    report = indexer.index_library(app)
    after = snapshot(corpus.root)
    return app, corpus, report, before, after, hashed


def test_scan_survives_and_records_every_bad_file(scanned) -> None:
    app, corpus, report, _, _, hashed = scanned
    assert str(corpus.locked) in hashed and str(corpus.doomed) in hashed

    photos = {p.path: p for p in service.list_photos(app)}
    for name, path in corpus.good.items():
        p = photos[str(path)]
        assert p.status == PhotoStatus.OK, f"{name}: {p.error_kind}: {p.error}"
        assert p.error is None and p.width and p.height and p.content_hash
        assert 1 <= p.orientation <= 8
        assert thumbnail_file(app.paths.thumbnails, p.content_hash).exists(), name

    issues = {}
    status = service.library_status(app)
    for i in status["scan_issues"]:
        issues[i["path"]] = i
    problems = {i["path"]: i for i in status["problems"]}
    for name, (path, expect) in corpus.bad.items():
        if expect.where == "issue":
            item = issues.get(str(path))
            assert item is not None, f"{name} not reported as a scan issue: {issues}"
            assert str(path) not in photos
        else:
            p = photos[str(path)]
            assert p.status == expect.where, f"{name}: {p.status}"
            assert p.error_kind == expect.kind, f"{name}: {p.error_kind}: {p.error}"
            item = problems.get(str(path))
            assert item is not None and item["status"] == expect.where
        assert item["kind"] == expect.kind, f"{name}: {item}"
        reason = item["reason"]
        for word in expect.words:
            assert word.lower() in reason.lower(), f"{name}: {word!r} not in {reason!r}"
        assert "Traceback" not in reason and "Errno" not in reason

    n_errors = sum(1 for _, b in corpus.bad.values() if b.where == "error")
    n_issues = sum(1 for _, b in corpus.bad.values() if b.where == "issue")
    assert report.errors == n_errors
    assert report.issues == n_issues
    assert status["photos"] == {"total": len(corpus.good) + n_errors + 1, "ok": len(corpus.good),
                                "error": n_errors, "missing": 1}
    assert {f["path"] for f in report.error_files} == {
        str(p) for p, b in corpus.bad.values() if b.where != "issue"}


def test_metadata_and_thumbnails_of_awkward_photos(scanned) -> None:
    app, corpus, *_ = scanned
    photos = {p.path: p for p in service.list_photos(app)}

    def thumb(name: str) -> Path:
        p = photos[str(corpus.good[name])]
        assert p.content_hash is not None
        return thumbnail_file(app.paths.thumbnails, p.content_hash)

    # EXIF orientation 6: size as displayed, thumbnail upright (red quarter now top right)
    rot = photos[str(corpus.good["rotated.jpg"])]
    assert (rot.width, rot.height, rot.orientation) == (32, 64, 6)
    with Image.open(thumb("rotated.jpg")) as t:
        assert t.size == (32, 64)
    assert _near(_pixel(thumb("rotated.jpg"), (24, 8)), RED)
    assert _near(_pixel(thumb("rotated.jpg"), (8, 8)), BLUE)
    assert _near(_pixel(thumb("rotated.jpg"), (24, 48)), BLUE)

    absurd = photos[str(corpus.good["absurd-exif.jpg"])]
    assert (absurd.orientation, absurd.captured_at, absurd.width) == (1, None, 24)
    garbage = photos[str(corpus.good["garbage-app1.jpg"])]
    assert (garbage.orientation, garbage.captured_at) == (1, None)
    dated = photos[str(corpus.good["dated.jpg"])]
    assert dated.captured_at == datetime(2001, 2, 3, 4, 5, 6, tzinfo=UTC)
    assert photos[str(corpus.good["plain.jpg"])].captured_at is None

    expected = {
        "cmyk.jpg": [((16, 12), RED)],
        "gray16.tif": [((16, 12), (155, 155, 155))],
        "rgb48.tif": [((16, 12), (255, 117, 0))],
        "palette.png": [((4, 8), WHITE), ((28, 8), RED)],
        "rgba.png": [((4, 8), WHITE), ((28, 8), BLUE)],
        "la.png": [((4, 8), WHITE), ((28, 8), (50, 50, 50))],
        "bw.bmp": [((4, 8), (0, 0, 0)), ((28, 8), WHITE)],
        "anim.gif": [((16, 8), RED)],  # the first frame, not the blue second
        "green.webp": [((16, 8), GREEN)],
        "red.heic": [((16, 8), RED)],
        "non-utf8": [((10, 10), GREEN)],
    }
    for name, checks in expected.items():
        with Image.open(thumb(name)) as t:
            assert t.mode in ("RGB", "L"), name
        for xy, colour in checks:
            got = _pixel(thumb(name), xy)
            assert _near(got, colour, tol=12 if "tif" in name else 40), f"{name} {xy}: {got}"
    assert photos[str(corpus.good["red.heic"])].format == "HEIF"
    assert photos[str(corpus.good["rgb48.tif"])].format == "TIFF"
    assert photos[str(corpus.good["anim.gif"])].format == "GIF"


def test_non_utf8_name_round_trips(scanned) -> None:
    app, corpus, *_ = scanned
    matches = [p for p in service.list_photos(app) if os.fsencode(p.path) == corpus.non_utf8]
    assert len(matches) == 1
    assert matches[0].status == PhotoStatus.OK
    assert matches[0].path == os.fsdecode(corpus.non_utf8)
    assert (matches[0].width, matches[0].height) == (20, 20)
    shown = display_path(matches[0].path)
    assert shown.endswith("bad\\xff\\xfename.jpg")
    listed = _cli(app, "library", "list", "--json")
    assert [p["status"] for p in listed if p["path"] == shown] == ["ok"]


def test_originals_untouched(scanned) -> None:
    _, corpus, _, before, after, _ = scanned
    doomed = os.fsencode(corpus.doomed)
    assert doomed in before and doomed not in after  # deleted by the test, mid-scan
    del before[doomed]
    assert after == before
    assert len(after) == len(corpus.good) + len(corpus.bad) - 2  # not the doomed, nor the FIFO


def _cli(app: AppContext, *args: str):
    exe = Path(sys.executable).with_name("idfsr")
    cmd = [str(exe)] if exe.exists() else [
        sys.executable, "-c", "from core.cli import entry; entry()"]
    home = app.paths.home
    assert home is not None
    proc = subprocess.run([*cmd, "--home", str(home), *args],
                          capture_output=True, timeout=60, check=False)
    out, err = proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 0, err
    assert "Traceback" not in out and "Traceback" not in err
    return json.loads(out)


def test_cli_lists_every_problem(scanned) -> None:
    app, corpus, *_ = scanned
    status = _cli(app, "library", "status", "--json")
    listed = {(i["path"], i["kind"], i["reason"])
              for i in status["problems"] + status["scan_issues"]}
    listed_paths = {path for path, _, _ in listed}
    for name, (path, expect) in corpus.bad.items():
        assert display_path(path) in listed_paths, name
        reasons = [r for p, k, r in listed if p == display_path(path) and k == expect.kind]
        assert len(reasons) == 1, name
        assert all(w.lower() in reasons[0].lower() for w in expect.words), (name, reasons)
    assert status["photos"]["ok"] == len(corpus.good)
    assert status["photos"]["missing"] == 1
