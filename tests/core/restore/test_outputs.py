"""Writing results: new names only, atomic, the source's format, EXIF, ICC and alpha kept,
orientation normalised, the AI note embedded; and the user's options parsed strictly."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms

from core.errors import IdfsrError
from core.restore import encoding, outputs
from core.restore.notes import xmp_packet
from core.restore.options import RestoreOptions, parse_faces, parse_person_choice

XMP = xmp_packet(source="a.jpg", model_sha256="ab" * 32, persons=["Ann <&>"], faces=2,
                         personal=1)


def _pixels(w: int = 40, h: int = 30) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 255, (h, w, 3), dtype=np.uint8)


def test_names_are_new_and_nothing_is_overwritten(tmp_path: Path) -> None:
    (tmp_path / "a-restored.jpg").write_bytes(b"mine")
    (tmp_path / "a-restored-2.idfsr.json").write_bytes(b"{}")  # a note alone blocks the name
    got = outputs.write_output(tmp_path, "a", ".jpg", b"new", lambda image, put: None)
    assert got.name == "a-restored-3.jpg" and got.read_bytes() == b"new"
    assert (tmp_path / "a-restored.jpg").read_bytes() == b"mine"
    with pytest.raises(FileExistsError):
        outputs.write_new(tmp_path / "a-restored.jpg", b"other")
    assert (tmp_path / "a-restored.jpg").read_bytes() == b"mine"
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_jpeg_keeps_exif_and_icc_and_is_upright(tmp_path: Path) -> None:
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated
    exif[0x010F] = "Kodak"
    src = tmp_path / "old.jpeg"
    Image.fromarray(_pixels()).save(src, quality=90, exif=exif, icc_profile=icc)
    info = encoding.read_source_info(src)
    data, suffix, warnings = encoding.encode_image(_pixels(60, 80), info, XMP)
    assert suffix == ".jpeg" and warnings == []
    img = Image.open(io.BytesIO(data))
    assert img.format == "JPEG" and img.size == (60, 80)
    assert img.info["icc_profile"] == icc
    out_exif = img.getexif()
    assert out_exif[0x0112] == 1 and out_exif[0x010F] == "Kodak"
    assert "restored by AI" in out_exif[0x0131]
    assert b"Ann &lt;&amp;&gt;" in img.info["xmp"]


def test_png_keeps_alpha_and_carries_the_note(tmp_path: Path) -> None:
    rgba = np.dstack([_pixels(), np.full((30, 40), 100, np.uint8)])
    src = tmp_path / "a.png"
    Image.fromarray(rgba, "RGBA").save(src)
    data, suffix, _ = encoding.encode_image(_pixels(80, 60), encoding.read_source_info(src), XMP)
    img = Image.open(io.BytesIO(data))
    assert suffix == ".png" and img.mode == "RGBA" and img.size == (80, 60)
    assert abs(int(np.asarray(img)[..., 3].mean()) - 100) <= 1
    assert "compositeWithTrainedAlgorithmicMedia" in img.info["XML:com.adobe.xmp"]


def test_gif_and_grey(tmp_path: Path) -> None:
    gif = tmp_path / "a.gif"
    Image.fromarray(_pixels()).convert("P").save(gif)
    data, suffix, warnings = encoding.encode_image(_pixels(), encoding.read_source_info(gif), XMP)
    assert suffix == ".png" and any("GIF" in w for w in warnings)
    grey = tmp_path / "g.tif"
    Image.fromarray(_pixels()[..., 0]).save(grey)
    data, suffix, _ = encoding.encode_image(_pixels()[..., 0], encoding.read_source_info(grey), XMP)
    img = Image.open(io.BytesIO(data))
    assert suffix == ".tif" and img.format == "TIFF" and img.mode == "L"


def test_person_choices_and_faces_are_parsed_strictly() -> None:
    c = parse_person_choice("2=Ann Lee")
    assert (c.face, c.person, c.photo) == (2, "Ann Lee", None)
    c = parse_person_choice("old.jpg:3=17")
    assert (c.face, c.person, c.photo) == (3, "17", "old.jpg")
    assert c.applies_to("old.jpg") and not c.applies_to("other.jpg")
    for bad in ("Ann", "x=Ann", "0=Ann", "2="):
        with pytest.raises(IdfsrError):
            parse_person_choice(bad)
    assert parse_faces(["1,3", "2"]) == (1, 2, 3) and parse_faces([]) is None
    with pytest.raises(IdfsrError):
        parse_faces(["a"])
    opts = RestoreOptions(persons=(parse_person_choice("1=Ann"), parse_person_choice("1=Bo")))
    assert opts.choices_for("x.jpg") == {1: "Bo"}
    for bad in (RestoreOptions(scale=5), RestoreOptions(steps=0), RestoreOptions(fidelity=2)):
        with pytest.raises(IdfsrError):
            bad.check()


def test_auto_scale_gives_the_largest_face_its_full_detail() -> None:
    from core.tasks.restore import auto_scale

    # A face spanning 32 photo pixels restored at 128: x4 puts 128 output pixels on it.
    assert auto_scale([20.0, 32.0], 128) == 4.0
    assert auto_scale([60.0], 128) == 2.0  # 128 / 60 = 2.13, in half steps
    assert auto_scale([90.0], 128) == 1.0  # 1.42 rounds down to 1
    assert auto_scale([10.0], 128) == 4.0  # never above 4
    assert auto_scale([], 128) == 2.0  # nothing restored
    assert RestoreOptions().scale == 0.0  # auto is the default
    RestoreOptions(scale=0.0).check()
