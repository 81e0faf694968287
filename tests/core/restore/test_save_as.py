"""Save As of a restored photo: the chosen folder, name and format, the notes carried along,
never a file replaced, the original only read, and the before/after comparison."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.errors import IdfsrError
from core.restore.notes import RestoreNote, xmp_packet
from core.restore.outputs import sidecar_paths
from core.restore.save_as import save_format, save_restored


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def restored(tmp_path: Path) -> tuple[Path, Path]:
    """An original (40 x 30) and its result (80 x 60, with a JSON note and XMP beside it)."""
    rng = np.random.default_rng(0)
    original = tmp_path / "album" / "old.jpg"
    original.parent.mkdir()
    Image.fromarray(rng.integers(0, 255, (30, 40, 3), np.uint8)).save(original, quality=90)
    work = tmp_path / "work"
    work.mkdir()
    result = work / "old-restored.png"
    Image.fromarray(rng.integers(0, 255, (60, 80, 3), np.uint8)).save(result)
    side_json, side_xmp, _ = sidecar_paths(result)
    side_json.write_bytes(RestoreNote(source=str(original), output=str(result)).to_bytes())
    side_xmp.write_bytes(xmp_packet(source="old.jpg", model_sha256="ab", persons=["Ann"],
                                    faces=1, personal=1))
    return original, result


@pytest.mark.parametrize(("name", "fmt"), [("mine.jpg", "JPEG"), ("mine.png", "PNG"),
                                           ("mine.tiff", "TIFF"), ("mine.webp", "WEBP")])
def test_saved_in_the_format_the_name_asks_for(restored: tuple[Path, Path], tmp_path: Path,
                                                name: str, fmt: str) -> None:
    original, result = restored
    before = _sha(original)
    out = tmp_path / "chosen"
    saved = save_restored(result, out / name)
    assert saved.image == out / name and not saved.renamed and saved.comparison is None
    with Image.open(saved.image) as img:
        assert img.format == fmt and img.size == (80, 60)
    note = json.loads(sidecar_paths(saved.image)[0].read_text())
    assert note["output"] == str(saved.image) and note["exported_from"] == str(result)
    assert b"restored by AI" in sidecar_paths(saved.image)[1].read_bytes()
    assert _sha(original) == before


def test_the_same_format_is_the_very_bytes(restored: tuple[Path, Path], tmp_path: Path) -> None:
    _, result = restored
    saved = save_restored(result, tmp_path / "out" / "Mine.PNG")
    assert saved.image.name == "Mine.PNG" and saved.image.read_bytes() == result.read_bytes()


def test_a_taken_name_is_never_replaced(restored: tuple[Path, Path], tmp_path: Path) -> None:
    original, result = restored
    target = tmp_path / "out" / "mine.jpg"
    target.parent.mkdir()
    target.write_bytes(b"someone's photo")
    saved = save_restored(result, target)
    assert saved.image == tmp_path / "out" / "mine-2.jpg" and saved.renamed
    assert target.read_bytes() == b"someone's photo"


def test_comparison_beside_it_and_the_original_refused(restored: tuple[Path, Path],
                                                       tmp_path: Path) -> None:
    original, result = restored
    before = _sha(original)
    saved = save_restored(result, tmp_path / "out" / "mine.png", original=original)
    assert saved.comparison == tmp_path / "out" / "mine-comparison.png"
    with Image.open(saved.comparison) as img:
        assert img.height == 60 and img.width > 160  # both halves at the result's size
        left = np.asarray(img.convert("RGB"))[40:, :80].astype(int)
    with Image.open(original) as src:
        enlarged = np.asarray(src.convert("RGB").resize((80, 60), Image.Resampling.LANCZOS))
    assert np.abs(left - enlarged[40:].astype(int)).mean() < 3  # the left half is the original
    with pytest.raises(IdfsrError, match="original"):
        save_restored(result, original, original=original)
    assert _sha(original) == before and sorted(original.parent.iterdir()) == [original]


def test_unknown_format_says_which_names_work(tmp_path: Path) -> None:
    assert save_format(Path("a.JPEG")) == "JPEG"
    with pytest.raises(IdfsrError, match=r"\.png"):
        save_format(tmp_path / "photo.gif")
