"""Unit tests of image reading: orientation, mode conversion, metadata, clear failures."""

from __future__ import annotations

import io
import struct
import zlib
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageFile

from core.errors import ImageReadError
from core.library.imageio import inspect_image, load_image
from core.library.pixels import apply_orientation, to_display_mode

BIG = 250_000_000


def _png(img: Image.Image, **kw: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG", **kw)
    return buf.getvalue()


def _jpeg(img: Image.Image, **kw: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=95, **kw)
    return buf.getvalue()


def _exif(orientation: int | None = None, original: str | None = None,
          datetime_tag: str | None = None) -> bytes:
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    if datetime_tag is not None:
        exif[0x0132] = datetime_tag
    if original is not None:
        exif.get_ifd(0x8769)[0x9003] = original
    return exif.tobytes()


def _png_header_only(width: int, height: int, bit_depth: int = 8, colour: int = 2) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\x00" * 16)) + chunk(b"IEND", b""))


def _float_rgb_tiff(rgb: np.ndarray, orientation: int = 1) -> bytes:
    """A minimal little-endian, uncompressed, float32 RGB TIFF (which Pillow cannot read)."""
    h, w, _ = rgb.shape
    pixels = rgb.astype("<f4").tobytes()
    entries = [(256, 3, 1, w), (257, 3, 1, h), (258, 3, 3, None), (259, 3, 1, 1),
               (262, 3, 1, 2), (273, 4, 1, None), (274, 3, 1, orientation), (277, 3, 1, 3),
               (278, 3, 1, h), (279, 4, 1, len(pixels)), (284, 3, 1, 1), (339, 3, 3, None)]
    ifd_at = 8
    extra_at = ifd_at + 2 + 12 * len(entries) + 4
    bits_at, fmt_at, data_at = extra_at, extra_at + 6, extra_at + 12
    out = bytearray(b"II*\x00" + struct.pack("<I", ifd_at) + struct.pack("<H", len(entries)))
    for tag, typ, count, value in entries:
        value = {258: bits_at, 273: data_at, 339: fmt_at}.get(tag, value)
        packed = struct.pack("<I", value) if typ == 4 or count > 1 else struct.pack("<HH", value, 0)
        out += struct.pack("<HHI", tag, typ, count) + packed
    out += struct.pack("<I", 0) + struct.pack("<3H", 32, 32, 32) + struct.pack("<3H", 3, 3, 3)
    return bytes(out + pixels)


def _arr(img: Image.Image) -> np.ndarray:
    return np.asarray(img)


# ---- orientation -----------------------------------------------------------------------

STORED = np.random.default_rng(7).integers(0, 256, (5, 7, 3), dtype=np.uint8)  # 7 wide, 5 high
# What each EXIF orientation means, written independently of the code under test: the
# displayed image is the stored one put through these numpy operations.
DISPLAYED = {
    1: lambda a: a,
    2: lambda a: a[:, ::-1],  # mirrored left-right
    3: lambda a: a[::-1, ::-1],  # rotated 180°
    4: lambda a: a[::-1],  # mirrored top-bottom
    5: lambda a: a.transpose(1, 0, 2),  # row 0 is the left column, column 0 the top row
    6: lambda a: np.rot90(a, k=-1),  # needs 90° clockwise
    7: lambda a: np.rot90(a, k=-1)[::-1],  # row 0 is the right column, column 0 the bottom
    8: lambda a: np.rot90(a, k=1),  # needs 90° counter-clockwise
}
# Where the stored top-left pixel ends up (the EXIF spec's own words), as a cross-check.
TOP_LEFT_GOES_TO = {1: "TL", 2: "TR", 3: "BR", 4: "BL", 5: "TL", 6: "TR", 7: "BR", 8: "BL"}


def _corner(a: np.ndarray, where: str) -> np.ndarray:
    y = 0 if where[0] == "T" else -1
    x = 0 if where[1] == "L" else -1
    return a[y, x]


@pytest.mark.parametrize("orientation", range(1, 9))
def test_apply_orientation_maps_every_pixel(orientation: int) -> None:
    out = _arr(apply_orientation(Image.fromarray(STORED, "RGB"), orientation))
    expected = DISPLAYED[orientation](STORED)
    assert out.shape == expected.shape
    assert np.array_equal(out, expected)
    assert np.array_equal(_corner(out, TOP_LEFT_GOES_TO[orientation]), STORED[0, 0])
    assert out.shape[:2] == ((7, 5) if orientation >= 5 else (5, 7))


def test_apply_orientation_ignores_nonsense() -> None:
    img = Image.fromarray(STORED, "RGB")
    for bad in (0, 9, 99, -1):
        assert np.array_equal(_arr(apply_orientation(img, bad)), STORED)


@pytest.mark.parametrize("orientation", range(1, 9))
def test_load_and_inspect_honour_exif_orientation(tmp_path: Path, orientation: int) -> None:
    path = tmp_path / f"o{orientation}.png"  # PNG keeps the pixels exact
    path.write_bytes(_png(Image.fromarray(STORED, "RGB"), exif=_exif(orientation)))
    loaded = load_image(path)
    assert loaded.mode == "RGB"
    assert np.array_equal(_arr(loaded), DISPLAYED[orientation](STORED))
    info, thumb = inspect_image(path.read_bytes(), max_pixels=BIG, thumb_size=64)
    assert info.orientation == orientation
    assert (info.width, info.height) == ((5, 7) if orientation >= 5 else (7, 5))
    assert thumb is not None and np.array_equal(_arr(thumb), DISPLAYED[orientation](STORED))


def test_jpeg_orientation_6_thumbnail_is_upright() -> None:
    stored = Image.new("RGB", (64, 32), (0, 0, 255))
    stored.paste((255, 0, 0), (0, 0, 32, 16))  # stored top-left quarter red
    info, thumb = inspect_image(_jpeg(stored, exif=_exif(6)), max_pixels=BIG, thumb_size=16)
    assert (info.width, info.height, info.orientation) == (32, 64, 6)
    assert thumb is not None and thumb.size == (8, 16)
    r, g, b = thumb.getpixel((6, 2))
    assert r > 200 and b < 60  # red is now top right
    r, g, b = thumb.getpixel((1, 12))
    assert b > 200 and r < 60


# ---- modes -----------------------------------------------------------------------------

def test_rgb_and_l_are_returned_as_they_are() -> None:
    for mode in ("RGB", "L"):
        img = Image.new(mode, (2, 2))
        assert to_display_mode(img) is img


@pytest.mark.parametrize("mode", ["I;16", "I;16B"])
def test_16_bit_grey_keeps_the_high_byte(mode: str) -> None:
    values = np.array([[0, 257 * 100, 65535, 40000]], np.uint16)
    img = Image.fromarray(values) if mode == "I;16" else Image.frombytes(
        "I;16B", (4, 1), values.astype(">u2").tobytes())
    assert img.mode == mode
    out = to_display_mode(img)
    assert out.mode == "L"
    assert _arr(out).tolist() == [[0, 100, 255, 156]]


def test_32_bit_int_and_float_modes() -> None:
    i16_in_i = Image.fromarray(np.array([[0, 25700, 65535]], np.int32), "I")
    assert _arr(to_display_mode(i16_in_i)).tolist() == [[0, 100, 255]]
    i8_in_i = Image.fromarray(np.array([[0, 100, 255]], np.int32), "I")
    assert _arr(to_display_mode(i8_in_i)).tolist() == [[0, 100, 255]]
    unit_float = Image.fromarray(np.array([[0.0, 0.5, 1.0]], np.float32), "F")
    out = to_display_mode(unit_float)
    assert out.mode == "L" and _arr(out).tolist() == [[0, 128, 255]]


def test_cmyk_becomes_rgb() -> None:
    img = Image.new("CMYK", (2, 1), (0, 255, 255, 0))
    img.putpixel((1, 0), (0, 0, 0, 255))
    out = to_display_mode(img)
    assert out.mode == "RGB"
    assert out.getpixel((0, 0)) == (255, 0, 0)
    assert out.getpixel((1, 0)) == (0, 0, 0)


def test_cmyk_jpeg_decodes_to_rgb() -> None:
    data = _jpeg(Image.new("CMYK", (16, 16), (255, 0, 255, 0)))  # green
    info, thumb = inspect_image(data, max_pixels=BIG, thumb_size=8)
    assert info.mode == "CMYK" and thumb is not None and thumb.mode == "RGB"
    r, g, b = thumb.getpixel((4, 4))
    assert g > 200 and r < 50 and b < 50


@pytest.mark.parametrize("transparency", [0, b"\x00\xff"])
def test_palette_with_transparency_is_laid_on_white(transparency: int | bytes) -> None:
    img = Image.new("P", (2, 1), 0)
    img.putpalette([0, 0, 0, 255, 0, 0] + [0] * (254 * 3))
    img.putpixel((1, 0), 1)
    img.info["transparency"] = transparency
    out = to_display_mode(img)
    assert out.mode == "RGB"
    assert out.getpixel((0, 0)) == (255, 255, 255)
    assert out.getpixel((1, 0)) == (255, 0, 0)
    # and the same through a real PNG file
    out2 = load_image_bytes(_png(img, transparency=transparency))
    assert out2.getpixel((0, 0)) == (255, 255, 255) and out2.getpixel((1, 0)) == (255, 0, 0)


def load_image_bytes(data: bytes) -> Image.Image:
    _, thumb = inspect_image(data, max_pixels=BIG, thumb_size=256)
    assert thumb is not None
    return thumb


def test_palette_without_transparency_becomes_rgb() -> None:
    img = Image.new("P", (1, 1), 0)
    img.putpalette([10, 20, 30] + [0] * 765)
    out = to_display_mode(img)
    assert out.mode == "RGB" and out.getpixel((0, 0)) == (10, 20, 30)


def test_alpha_modes_are_laid_on_white() -> None:
    la = Image.new("LA", (3, 1))
    for x, px in enumerate([(0, 0), (50, 255), (0, 128)]):
        la.putpixel((x, 0), px)
    out = to_display_mode(la)
    assert out.mode == "RGB"
    assert [out.getpixel((x, 0)) for x in range(3)][:2] == [(255, 255, 255), (50, 50, 50)]
    assert 120 <= out.getpixel((2, 0))[0] <= 135  # black at half alpha over white: mid grey

    rgba = Image.new("RGBA", (2, 1), (255, 0, 0, 0))
    rgba.putpixel((1, 0), (0, 0, 255, 255))
    out = to_display_mode(rgba)
    assert out.getpixel((0, 0)) == (255, 255, 255) and out.getpixel((1, 0)) == (0, 0, 255)

    pa = Image.new("PA", (1, 1), (1, 0))
    pa.putpalette([0, 0, 0, 0, 255, 0] + [0] * 762)
    assert to_display_mode(pa).getpixel((0, 0)) == (255, 255, 255)
    pa.putpixel((0, 0), (1, 255))
    assert to_display_mode(pa).getpixel((0, 0)) == (0, 255, 0)


def test_premultiplied_alpha_modes() -> None:
    # premultiplied: colour already scaled by alpha, so over white it is colour + 255 - alpha
    la = Image.frombytes("La", (2, 1), bytes([0, 0, 40, 128]))
    out = to_display_mode(la)
    assert out.mode == "L" and _arr(out).tolist() == [[255, 167]]
    rgba = Image.frombytes("RGBa", (1, 1), bytes([200, 0, 0, 255]))
    assert to_display_mode(rgba).getpixel((0, 0)) == (200, 0, 0)


def test_one_bit_becomes_black_and_white_l() -> None:
    img = Image.new("1", (2, 1), 0)
    img.putpixel((1, 0), 1)
    out = to_display_mode(img)
    assert out.mode == "L" and _arr(out).tolist() == [[0, 255]]


def test_every_mode_ends_8_bit() -> None:
    for mode in ("I;16", "I", "F", "CMYK", "P", "PA", "LA", "La", "RGBA", "RGBa", "1", "RGBX",
                 "YCbCr", "LAB", "HSV"):
        out = to_display_mode(Image.new(mode, (3, 2)))
        assert out.mode in ("RGB", "L"), mode
        assert _arr(out).dtype == np.uint8 and out.size == (3, 2)


# ---- TIFFs, GIF, HEIC ------------------------------------------------------------------

def test_16_bit_tiffs(tmp_path: Path) -> None:
    grey = tmp_path / "g.tif"
    assert cv2.imwrite(str(grey), np.full((6, 8), 40000, np.uint16))
    img = load_image(grey)
    assert img.mode == "L" and img.size == (8, 6) and img.getpixel((3, 3)) in (155, 156)
    rgb = tmp_path / "rgb48.tif"
    bgr = np.zeros((6, 8, 3), np.uint16)
    bgr[..., 2], bgr[..., 1], bgr[..., 0] = 65535, 30000, 1000
    assert cv2.imwrite(str(rgb), bgr)
    img = load_image(rgb)
    assert img.mode == "RGB" and img.getpixel((3, 3)) == (255, 117, 3)


def test_tiff_pillow_cannot_identify_falls_back_to_opencv(tmp_path: Path) -> None:
    path = tmp_path / "float-rgb.tif"
    bgr = np.zeros((6, 8, 3), np.float32)
    bgr[..., 2], bgr[..., 1], bgr[..., 0] = 1.0, 0.25, 0.5
    assert cv2.imwrite(str(path), bgr)
    with pytest.raises(Exception, match="cannot identify"):
        Image.open(path)  # the reason for the fallback
    info, thumb = inspect_image(path.read_bytes(), max_pixels=BIG, thumb_size=64)
    assert (info.format, info.width, info.height) == ("TIFF", 8, 6)
    assert thumb is not None and thumb.getpixel((2, 2)) == (255, 64, 128)
    assert load_image(path).getpixel((0, 0)) == (255, 64, 128)
    with pytest.raises(ImageReadError) as err:  # the size limit holds before decoding here too
        inspect_image(path, max_pixels=40)
    assert err.value.kind == "too_large" and "8×6" in str(err.value)
    _fails(b"II*\x00" + b"\xff" * 20, "corrupt", "TIFF header")


@pytest.mark.parametrize("orientation", range(1, 9))
def test_opencv_tiff_fallback_comes_upright(orientation: int) -> None:
    stored = STORED.astype(np.float32) / 255.0
    data = _float_rgb_tiff(stored, orientation)
    with pytest.raises(Exception, match="cannot identify"):
        Image.open(io.BytesIO(data))
    info, thumb = inspect_image(data, max_pixels=BIG, thumb_size=64)
    expected = DISPLAYED[orientation](STORED)
    assert (info.height, info.width) == expected.shape[:2]
    assert thumb is not None and np.array_equal(_arr(thumb), expected)
    assert np.array_equal(_arr(load_image_bytes(data)), expected)


def test_animated_gif_uses_first_frame() -> None:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (255, 0, 0)).save(
        buf, "GIF", save_all=True, append_images=[Image.new("RGB", (8, 8), (0, 0, 255))])
    info, thumb = inspect_image(buf.getvalue(), max_pixels=BIG, thumb_size=64)
    assert info.format == "GIF" and thumb is not None
    assert thumb.convert("RGB").getpixel((4, 4)) == (255, 0, 0)


def test_heic_decodes() -> None:
    buf = io.BytesIO()
    Image.new("RGB", (32, 16), (0, 0, 255)).save(buf, "HEIF", quality=95)
    info, thumb = inspect_image(buf.getvalue(), max_pixels=BIG, thumb_size=64)
    assert (info.format, info.width, info.height) == ("HEIF", 32, 16)
    assert thumb is not None
    r, g, b = thumb.getpixel((16, 8))
    assert b > 200 and r < 50 and g < 50


# ---- metadata --------------------------------------------------------------------------

def test_exif_dates() -> None:
    img = Image.new("RGB", (8, 8))
    info, _ = inspect_image(_jpeg(img, exif=_exif(original="2001:02:03 04:05:06")), max_pixels=BIG)
    assert info.captured_at == datetime(2001, 2, 3, 4, 5, 6, tzinfo=UTC)
    info, _ = inspect_image(_jpeg(img, exif=_exif(datetime_tag="1999:12:31 23:59:58")),
                            max_pixels=BIG)
    assert info.captured_at == datetime(1999, 12, 31, 23, 59, 58, tzinfo=UTC)
    for nonsense in ("0000:00:00 00:00:00", "2001:02:30 10:00:00", "    :  :     :  :  ",
                     "9999:01:01 00:00:00", "yesterday"):
        info, _ = inspect_image(_jpeg(img, exif=_exif(original=nonsense)), max_pixels=BIG)
        assert info.captured_at is None, nonsense


def test_absurd_orientation_is_ignored() -> None:
    img = Image.new("RGB", (8, 4))
    for bad in (0, 9, 99, 65535):
        info, _ = inspect_image(_jpeg(img, exif=_exif(bad)), max_pixels=BIG)
        assert (info.orientation, info.width, info.height) == (1, 8, 4)


# ---- failures: always an ImageReadError with a kind and words ------------------------

def _fails(source: bytes | Path, kind: str, *words: str, max_pixels: int = BIG) -> str:
    with pytest.raises(ImageReadError) as err:
        inspect_image(source, max_pixels=max_pixels, thumb_size=64)
    assert err.value.kind == kind, str(err.value)
    for w in words:
        assert w.lower() in str(err.value).lower(), str(err.value)
    return str(err.value)


def test_clear_failures(tmp_path: Path) -> None:
    _fails(b"", "empty", "0 bytes")
    (tmp_path / "e.jpg").write_bytes(b"")
    _fails(tmp_path / "e.jpg", "empty", "0 bytes")
    _fails(b"just some text\n", "not_an_image", "not an image")
    (tmp_path / "note.jpg").write_text("just some text\n")
    _fails(tmp_path / "note.jpg", "not_an_image", "not an image")
    _fails(tmp_path / "gone.jpg", "vanished", "deleted")
    _fails(tmp_path, "unreadable", "is a directory")
    data = _jpeg(Image.new("RGB", (64, 64), (9, 9, 9)))
    _fails(data[: len(data) // 2], "truncated", "truncated")
    _fails(_png_header_only(100_000, 100_000), "too_large", "10000 MP", "decompression bomb")
    _fails(_png(Image.new("RGB", (1500, 1000))), "too_large", "1500×1000", "1.5 MP",
           "1 MP limit", max_pixels=1_000_000)
    ico = io.BytesIO()
    Image.new("RGB", (16, 16)).save(ico, "ICO")
    _fails(ico.getvalue(), "unsupported", "ICO")


def test_load_image_failures(tmp_path: Path) -> None:
    with pytest.raises(ImageReadError) as err:
        load_image(tmp_path / "nope.jpg")
    assert err.value.kind == "vanished"
    (tmp_path / "t.jpg").write_bytes(b"text")
    with pytest.raises(ImageReadError) as err:
        load_image(tmp_path / "t.jpg")
    assert err.value.kind == "not_an_image"


def test_pillow_own_limit_does_not_undercut_ours(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", Image.MAX_IMAGE_PIXELS)  # restored after
    header = _png_header_only(14_000, 13_000, bit_depth=1, colour=0)  # 182 MP, 1-bit: 23 MB
    text = _fails(header, "too_large", "14000×13000", "182 MP", "100 MP limit",
                  max_pixels=100_000_000)
    assert "bomb" not in text
    # Under a 250 MP limit it is allowed; Pillow alone would refuse anything over ~179 MP.
    # The file has almost no pixel data, so decoding then finds it truncated.
    _fails(header, "truncated", "truncated", max_pixels=BIG)


def test_any_decoder_exception_becomes_an_image_read_error(monkeypatch: pytest.MonkeyPatch) -> None:
    data = _png(Image.new("RGB", (4, 4)))

    def explode(self: ImageFile.ImageFile) -> None:
        raise RuntimeError("decoder exploded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", explode)
    _fails(data, "corrupt", "RuntimeError", "decoder exploded")

    def no_memory(self: ImageFile.ImageFile) -> None:
        raise MemoryError

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_memory)
    _fails(data, "too_large", "memory")
