"""`idfsr restore` repairs the whole photo: the flags reach the options and the note, the
faces are restored from the repaired pixels, and --no-repair only resamples."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import cv2
import numpy as np
from click.testing import CliRunner
from PIL import Image

from core.cli import main
from core.context import AppContext
from core.restore import compose

from .conftest import GROUPS, shrink


def _damaged_photo(folder: Path) -> tuple[Path, np.ndarray]:
    """Obama and Biden with a white scratch across the photo, below their faces."""
    rgb = np.array(shrink(GROUPS / "two_people.jpg", 4).convert("RGB"))
    h, w = rgb.shape[:2]
    scratch = np.zeros((h, w), np.uint8)
    cv2.line(scratch, (0, h * 2 // 3), (w - 1, h * 2 // 3 - 20), 255, 1)
    rgb[scratch > 0] = (235, 232, 220)
    path = folder / "scratched.png"
    Image.fromarray(rgb).save(path)
    return path, scratch > 0


def _restore(home: str, photo: Path, out: Path, model_dir: Path, *flags: str) -> dict:
    run = CliRunner().invoke(main, ["--home", home, "restore", str(photo), "--out", str(out),
                                    "--model", str(model_dir), "--steps", "1",
                                    "--candidates", "1", "--no-fit", "--scale", "2",
                                    "--person", "1=none", "--person", "2=none", "--large-faces",
                                    "--json",
                                    *flags], catch_exceptions=False)
    assert run.exit_code == 0, run.output
    (photo_result,) = json.loads(run.stdout)["photos"]
    assert photo_result["status"] == "restored", photo_result["message"]
    return photo_result


def _away_from_faces(result: dict, shape: tuple[int, int], scale: float) -> np.ndarray:
    keep = np.ones(shape, bool)
    for f in result["faces"]:
        x0, y0, x1, y1 = f["box"]
        pad = 1.5 * max(x1 - x0, y1 - y0)
        keep[max(0, int((y0 - pad) * scale)):int((y1 + pad) * scale),
             max(0, int((x0 - pad) * scale)):int((x1 + pad) * scale)] = False
    return keep


def test_repair_flags_reach_the_options_and_the_note(lib: AppContext, model_dir: Path,
                                                     tmp_path: Path) -> None:
    home = str(lib.paths.home)
    lib.close()
    photo, scratch = _damaged_photo(tmp_path)
    before = hashlib.sha256(photo.read_bytes()).hexdigest()
    original = np.asarray(Image.open(photo).convert("RGB"))
    plain = compose.upscale_photo(original, 2.0)

    result = _restore(home, photo, tmp_path / "out", model_dir, "--tone", "0.3",
                      "--save-crops")
    note = json.loads(Path(result["sidecar"]).read_text())
    assert note["options"]["repair"] is True and note["options"]["tone"] == 0.3
    damage = note["repair"]["damage"]
    assert damage["pixels"] > 0 and damage["regions"] >= 1 and 0 < damage["fraction"] < 0.1
    assert note["repair"]["tone"]["strength"] == 0.3
    mask = np.asarray(Image.open(damage["mask_file"]))
    assert mask.shape == scratch.shape
    assert (mask[scratch] > 0).mean() > 0.8  # the painted scratch is in the saved mask
    out = np.asarray(Image.open(result["output"]).convert("RGB")).astype(int)
    big_scratch = cv2.resize(scratch.astype(np.uint8), plain.shape[1::-1],
                             interpolation=cv2.INTER_NEAREST) > 0
    # Where the scratch was, the output is no longer the scratch's near-white.
    assert out[big_scratch].mean() < plain[big_scratch].mean() - 25

    off = _restore(home, photo, tmp_path / "plain", model_dir, "--no-repair", "--tone", "0")
    note = json.loads(Path(off["sidecar"]).read_text())
    assert note["options"]["repair"] is False and note["options"]["tone"] == 0
    assert note["repair"] == {"damage": None, "tone": None, "enlarge": "lanczos"}
    out = np.asarray(Image.open(off["output"]).convert("RGB"))
    keep = _away_from_faces(off, out.shape[:2], 2.0)
    assert keep.mean() > 0.15, keep.mean()
    assert np.array_equal(out[keep], plain[keep])
    assert hashlib.sha256(photo.read_bytes()).hexdigest() == before


def test_bad_tone_strength_is_refused(lib: AppContext, tmp_path: Path) -> None:
    home = str(lib.paths.home)
    lib.close()
    bad = CliRunner().invoke(main, ["--home", home, "restore", "x.jpg", "--out", str(tmp_path),
                                    "--tone", "1.5"])
    assert bad.exit_code != 0 and "--tone must be between 0 and 1" in str(bad.exception)


def test_an_edited_mask_is_what_the_restore_repairs(lib: AppContext, model_dir: Path,
                                                    tmp_path: Path) -> None:
    from core.restore.damage import paint_stroke
    from core.restore.options import PersonChoice, RestoreOptions
    from core.tasks.restore import restore_photos

    photo, _ = _damaged_photo(tmp_path)
    h, w = np.asarray(Image.open(photo)).shape[:2]
    mask = paint_stroke(np.zeros((h, w), np.uint8), [(5, 5), (60, 5)], radius=2)
    Image.fromarray(mask).save(tmp_path / "mask.png")
    options = RestoreOptions(steps=1, candidates=1, fit_missing=False, model=str(model_dir),
                             scale=1.0, large_faces=True, tone=0.0,
                             persons=(PersonChoice(1, "none"), PersonChoice(2, "none")),
                             damage_masks=((str(photo), str(tmp_path / "mask.png")),))
    (result,) = restore_photos(lib, [photo], tmp_path / "out", options).photos
    assert result.status == "restored", result.message
    note = json.loads(Path(result.sidecar or "").read_text())
    assert note["repair"]["damage"]["mask"] == "edited"
    assert note["repair"]["damage"]["pixels"] == int((mask > 0).sum())
    assert note["options"]["damage_masks"] == [[str(photo), str(tmp_path / "mask.png")]]
    Image.fromarray(np.zeros((3, 3), np.uint8)).save(tmp_path / "mask.png")
    (wrong,) = restore_photos(lib, [photo], tmp_path / "out", options).photos
    assert wrong.status == "error" and "damage mask is 3x3" in wrong.message


def test_a_damaged_photo_without_faces_is_written_repaired(lib: AppContext, model_dir: Path,
                                                           tmp_path: Path) -> None:
    from core.restore.options import RestoreOptions
    from core.tasks.restore import restore_photos

    # A smooth landscape-like gradient with a white scratch and no face at all.
    h, w = 120, 160
    y, x = np.mgrid[0:h, 0:w]
    rgb = np.stack([60 + 0.5 * x, 80 + 0.4 * y, 90 + 0.2 * x], -1).astype(np.uint8)
    clean = rgb.copy()
    cv2.line(rgb, (0, 70), (w - 1, 50), (240, 238, 230), 1)
    photo = tmp_path / "field.png"
    Image.fromarray(rgb).save(photo)
    options = RestoreOptions(steps=1, candidates=1, fit_missing=False, model=str(model_dir),
                             scale=1.0, tone=0.0)
    (result,) = restore_photos(lib, [photo], tmp_path / "out", options).photos
    assert result.status == "restored", result.message
    assert result.message == "repaired the photo; no faces found"
    assert result.faces == [] and result.output is not None
    out = np.asarray(Image.open(result.output).convert("RGB")).astype(int)
    scratch = np.any(rgb != clean, -1)
    assert np.abs(out[scratch] - clean[scratch]).mean() < 15  # the scratch is filled
    note = json.loads(Path(result.sidecar or "").read_text())
    assert note["repair"]["damage"]["pixels"] > 0

    # Nothing to repair and no tone: nothing written, as before.
    Image.fromarray(clean).save(photo)
    (plain,) = restore_photos(lib, [photo], tmp_path / "out2", options).photos
    assert plain.status == "no_faces" and plain.output is None


def test_a_face_larger_than_the_model_keeps_the_photos_finer_detail() -> None:
    from core.tasks.restore import keep_finer_detail

    rng = np.random.default_rng(3)
    before = np.clip(128 + 40 * rng.standard_normal((96, 96, 3)), 0, 255).astype(np.uint8)
    # What pasting an enlarged model output does: the fine detail gone, the tone lifted.
    after = np.clip(cv2.GaussianBlur(before.astype(np.float32), (0, 0), 3.0) + 20, 0, 255
                    ).astype(np.uint8)
    kept = keep_finer_detail(before, after, per_model_px=2.5).astype(np.float32)

    def fine(img: np.ndarray) -> float:
        f = img.astype(np.float32)
        return float(np.abs(f - cv2.GaussianBlur(f, (0, 0), 1.0)).mean())

    assert fine(kept) > 0.9 * fine(before) > 2 * fine(after)  # the detail is the photo's
    assert abs(kept.mean() - before.astype(np.float32).mean() - 20) < 2  # the change is kept
    same = keep_finer_detail(before, before, per_model_px=2.5)
    assert np.array_equal(same, before)  # nowhere pasted: nothing changed
