"""The whole photo: damage found and filled, tone corrected, the background enlarged."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from core.errors import IdfsrError, JobCancelled
from core.jobs import CancelToken
from core.restore.damage import damage_stats, detect_damage, paint_stroke
from core.restore.damage_synth import faded, paint_damage
from core.restore.enlarge import CHAINS, enlarge
from core.restore.inpaint import METHODS, repair
from core.restore.photo_fix import fix_photo
from core.restore.tone import correct_tone


def scene(h: int = 240, w: int = 320, seed: int = 0) -> np.ndarray:
    """A clean 'photo' with real edges: a sky gradient, a house, a disc, a pole, grain."""
    rng = np.random.default_rng(seed)
    y = np.linspace(0, 1, h)[:, None, None]
    img = (np.array([90, 130, 190]) * (1 - y) + np.array([180, 170, 140]) * y)
    img = np.broadcast_to(img, (h, w, 3)).astype(np.float32).copy()
    cv2.rectangle(img, (40, 110), (150, 220), (150, 60, 50), -1)
    cv2.rectangle(img, (70, 150), (100, 220), (60, 40, 30), -1)
    cv2.circle(img, (240, 80), 35, (240, 220, 120), -1)
    cv2.rectangle(img, (200, 100), (206, 230), (70, 70, 70), -1)  # a pole: 7 px wide
    img = cv2.GaussianBlur(img, (0, 0), 0.8) + rng.normal(0, 1.5, img.shape)
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def near(a: np.ndarray, b: np.ndarray, tol: int = 2) -> float:
    """Share of a's pixels within `tol` px of one of b's."""
    grown = cv2.dilate(b.astype(np.uint8), np.ones((2 * tol + 1,) * 2, np.uint8)) > 0
    return float((a & grown).sum() / max(1, a.sum()))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(float) - b) ** 2))
    return 99.0 if mse == 0 else float(10 * np.log10(255 ** 2 / mse))


def test_mask_finds_painted_damage_and_not_the_edges_of_a_clean_photo() -> None:
    clean = scene()
    assert damage_stats(detect_damage(clean)).fraction < 0.002
    d = paint_damage(clean, seed=3, scratches=3, cracks=1, dust=25, spots=3)
    mask = detect_damage(d.damaged) > 0
    assert mask.shape == clean.shape[:2]
    assert near(d.mask, mask) >= 0.8, "recall"
    assert near(mask, d.mask) >= 0.8, "precision"


def test_repair_brings_the_photo_back_closer_to_the_clean_one() -> None:
    clean = scene(seed=1)
    d = paint_damage(clean, seed=5, scratches=3, cracks=1, dust=25, spots=3)
    fix = fix_photo(d.damaged, tone=0.0)
    assert fix.stats is not None and fix.stats.regions >= 3
    assert psnr(fix.pixels, clean) > psnr(d.damaged, clean) + 4.0
    # Every method fills the true mask far better than leaving it.
    for method in METHODS:
        assert psnr(repair(d.damaged, d.mask, method=method), clean) > psnr(d.damaged, clean) + 6


def test_an_edited_mask_is_what_gets_repaired() -> None:
    clean = scene(seed=2)
    mask = np.zeros(clean.shape[:2], np.uint8)
    mask = paint_stroke(mask, [(20, 20), (120, 60)], radius=3)
    assert damage_stats(mask).regions == 1 and mask[20, 20] == 255 and mask[40, 70] == 255
    mask = paint_stroke(mask, [(70, 0), (70, 100)], radius=5, erase=True)
    assert damage_stats(mask).regions == 2  # the stroke cut in two
    fix = fix_photo(clean, mask=mask, tone=0.0)
    changed = np.any(fix.pixels != clean, axis=2)
    assert changed.any() and not (changed & (mask == 0)).any()
    assert fix.to_dict()["damage"]["mask"] == "edited"
    with pytest.raises(IdfsrError, match="damage mask is 10x10"):
        fix_photo(clean, mask=np.zeros((10, 10), np.uint8))


def test_no_repair_and_no_tone_leave_the_photo_as_it_is() -> None:
    clean = scene()
    d = paint_damage(clean, seed=4)
    fix = fix_photo(d.damaged, repair_damage=False, tone=0.0)
    assert np.array_equal(fix.pixels, d.damaged) and fix.mask is None
    assert np.array_equal(fix.enlarge(2.0), cv2.resize(d.damaged, (640, 480),
                                                       interpolation=cv2.INTER_LANCZOS4))


def test_tone_gives_a_faded_photo_its_contrast_back() -> None:
    clean = scene(seed=3)
    old = faded(clean, seed=1)
    out, change = correct_tone(old, 1.0)
    assert change.applied and not change.monochrome
    assert out.std() > old.std() * 1.3
    assert psnr(out, clean) > psnr(old, clean) + 5
    half, _ = correct_tone(old, 0.5)
    assert psnr(out, clean) > psnr(half, clean) > psnr(old, clean)
    same, nothing = correct_tone(old, 0.0)
    assert np.array_equal(same, old) and not nothing.applied


def test_a_warm_scene_with_deep_blacks_keeps_its_warmth() -> None:
    # Like the demo album page: colour prints on brown paper, warm overall, blacks deep
    # (the dyes did not fade). Levelling each channel apart made it blue-grey.
    img = scene(seed=6).astype(np.float32)
    cv2.rectangle(img, (250, 150), (310, 230), (12, 10, 8), -1)  # a deep shadow
    warm = np.clip(np.rint(img * np.array([0.95, 0.85, 0.7])), 0, 255).astype(np.uint8)
    out, change = correct_tone(warm, 0.5)
    assert change.applied and not change.cast_ab  # contrast only, no cast taken out
    assert out.std() > warm.std()
    b_in = cv2.cvtColor(warm, cv2.COLOR_RGB2LAB)[..., 2].astype(float) - 128
    b_out = cv2.cvtColor(out, cv2.COLOR_RGB2LAB)[..., 2].astype(float) - 128
    assert b_out.mean() > 0.9 * b_in.mean() > 5  # as warm as it was


def test_sepia_stays_sepia_unless_neutralised() -> None:
    grey = cv2.cvtColor(scene(seed=4), cv2.COLOR_RGB2GRAY).astype(np.float32) / 255
    low = 0.3 + 0.4 * grey  # faded: 0.3..0.7
    sepia = np.clip(np.rint(np.stack([low * 1.07, low * 0.95, low * 0.78], -1) * 255), 0,
                    255).astype(np.uint8)
    out, change = correct_tone(sepia, 1.0)
    assert change.monochrome and not change.neutralised and change.applied
    lab_in = cv2.cvtColor(sepia, cv2.COLOR_RGB2LAB).astype(float)
    lab_out = cv2.cvtColor(out, cv2.COLOR_RGB2LAB).astype(float)
    assert lab_out[..., 0].std() > 1.5 * lab_in[..., 0].std()  # contrast came back
    mid = (lab_out[..., 0] > 60) & (lab_out[..., 0] < 200)
    assert lab_out[..., 2][mid].mean() > 128 + 8  # still warm (b* well above neutral)
    neutral, change = correct_tone(sepia, 1.0, keep_monochrome=False)
    assert change.neutralised
    lab_n = cv2.cvtColor(neutral, cv2.COLOR_RGB2LAB).astype(float)
    assert abs(np.median(lab_n[..., 2]) - 128) < 4


def test_enlarge_chains_and_cancel_stops_the_repair() -> None:
    clean = scene()
    plain = enlarge(clean, 2.0)
    assert np.array_equal(plain, cv2.resize(clean, (640, 480), interpolation=cv2.INTER_LANCZOS4))
    for chain in CHAINS:
        big = enlarge(clean, 2.0, chain)
        assert big.shape == (480, 640, 3) and psnr(big, plain) > 30
    with pytest.raises(IdfsrError, match="unknown enlargement"):
        enlarge(clean, 2.0, "magic")
    token = CancelToken()
    token.cancel()
    with pytest.raises(JobCancelled):
        fix_photo(paint_damage(clean, seed=1).damaged, cancel=token)


def test_on_a_face_only_bright_damage_is_taken() -> None:
    clean = scene(seed=5)
    img = clean.copy()
    cv2.line(img, (20, 30), (180, 40), (15, 15, 15), 2)  # dark, like a brow at this size
    cv2.line(img, (20, 70), (180, 85), (240, 238, 230), 2)  # bright: the paper showing
    dark = np.zeros(clean.shape[:2], bool)
    cv2.line(dark.view(np.uint8), (40, 31), (160, 39), 1, 1)
    bright = np.zeros(clean.shape[:2], bool)
    cv2.line(bright.view(np.uint8), (40, 72), (160, 83), 1, 1)
    anywhere = detect_damage(img) > 0
    assert anywhere[dark].mean() > 0.8 and anywhere[bright].mean() > 0.8
    on_face = detect_damage(img, faces=[(10.0, 10.0, 190.0, 100.0)]) > 0
    assert on_face[dark].mean() < 0.05 and on_face[bright].mean() > 0.8


def test_a_spot_with_its_own_shadow_is_a_thing_not_dust() -> None:
    # A button: a bright disc and the shadow it casts. Dust: the same disc on plain ground.
    rng = np.random.default_rng(7)
    ground = np.full((120, 240, 3), 100.0) + rng.normal(0, 1.5, (120, 240, 3))
    cv2.circle(ground, (62, 63), 8, (45, 45, 45), -1)  # the shadow it casts
    cv2.circle(ground, (60, 60), 4, (200, 200, 200), -1)
    cv2.circle(ground, (180, 60), 4, (200, 200, 200), -1)  # a blot of dust, no rim
    photo = np.clip(np.rint(cv2.GaussianBlur(ground, (0, 0), 0.6)), 0, 255).astype(np.uint8)
    mask = detect_damage(photo) > 0
    assert mask[55:66, 175:186].mean() > 0.5  # the blot on plain ground is taken
    assert not mask[40:81, 40:81].any()  # the button is left alone


def test_a_thick_branching_crack_is_found() -> None:
    """A 6 px white crack with 3 px branches, where the emulsion split open, is damage."""
    clean = scene(320, 400, seed=3)
    damaged = clean.copy()
    trunk = np.array([(20, 40), (110, 90), (190, 100), (280, 170), (380, 200)], np.int32)
    cv2.polylines(damaged, [trunk], False, (235, 230, 215), 6, cv2.LINE_AA)
    for branch in ([(110, 90), (140, 170), (130, 250)], [(280, 170), (320, 90)]):
        cv2.polylines(damaged, [np.array(branch, np.int32)], False, (235, 230, 215), 3,
                      cv2.LINE_AA)
    painted = np.abs(damaged.astype(int) - clean).max(axis=2) > 20
    found = detect_damage(damaged) > 0
    assert near(painted, found) > 0.85  # the crack, branches included, is in the mask
    assert near(found, painted) > 0.9  # and little else is
    assert (detect_damage(clean) > 0).mean() < 0.002


def test_a_prints_white_border_on_an_album_page_is_kept() -> None:
    """Prints on a dark album page, each with a thin white border, slightly turned: the
    borders are the photo's own (filling them would erase them); a scratch across a print
    is still damage."""
    page = np.full((420, 640, 3), 55.0)
    scratch = np.zeros(page.shape[:2], np.uint8)
    for centre, size, angle in (((170, 200), (230, 150), -2.0), ((460, 220), (260, 190), 3.0)):
        outer = cv2.boxPoints((centre, (size[0] + 14, size[1] + 14), angle)).astype(np.int32)
        cv2.fillConvexPoly(page, outer, (215, 205, 180))  # the border: 7 px of white paper
        inner = cv2.boxPoints((centre, size, angle)).astype(np.int32)
        cv2.fillConvexPoly(page, inner, (120, 100, 80))
        x0, y0 = inner.min(axis=0) + 20
        x1, y1 = inner.max(axis=0) - 20
        cv2.rectangle(page, (x0 + 30, y0 + 10), (x0 + 90, y1 - 10), (60, 50, 40), -1)
    cv2.line(scratch, (400, 150), (420, 290), 1, 2)  # across the second print
    rng = np.random.default_rng(2)
    page = cv2.GaussianBlur(page, (0, 0), 0.8) + rng.normal(0, 2.0, page.shape)
    page[scratch > 0] = (225, 220, 205)
    photo = np.clip(np.rint(page), 0, 255).astype(np.uint8)
    mask = detect_damage(photo) > 0
    border = np.zeros(page.shape[:2], np.uint8)
    for centre, size, angle in (((170, 200), (230, 150), -2.0), ((460, 220), (260, 190), 3.0)):
        box = cv2.boxPoints((centre, (size[0] + 7, size[1] + 7), angle)).astype(np.int32)
        cv2.polylines(border, [box], True, 1, 5)
    assert mask[border > 0].mean() < 0.05, "the prints' borders were taken for cracks"
    assert mask[scratch > 0].mean() > 0.8, "the scratch across a print was missed"


def _fine_spread(rgb: np.ndarray, where: np.ndarray) -> float:
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return float(1.4826 * np.median(np.abs((gray - cv2.GaussianBlur(gray, (0, 0), 1.0))[where])))


def test_a_fill_on_a_grainy_print_gets_the_prints_grain() -> None:
    rng = np.random.default_rng(4)
    print_ = np.clip(np.rint(scene(seed=2) + rng.normal(0, 7, (240, 320))[..., None]), 0,
                     255).astype(np.uint8)
    hole = np.zeros(print_.shape[:2], np.uint8)
    cv2.line(hole, (30, 20), (290, 200), 255, 5)
    ring = (cv2.dilate(hole, np.ones((15, 15), np.uint8)) > 0) & (hole == 0)
    smooth = repair(print_, hole, grain=False)
    grainy = repair(print_, hole)
    around = _fine_spread(print_, ring)
    assert _fine_spread(smooth, hole > 0) < 0.3 * around  # a smooth streak
    assert 0.7 * around < _fine_spread(grainy, hole > 0) < 1.3 * around
    assert np.array_equal(grainy, repair(print_, hole))  # the same photo, the same output
    assert np.array_equal(grainy[hole == 0], print_[hole == 0])  # only the hole changes
    clean = scene(seed=2)  # hardly any grain: the fill stays smooth
    assert np.array_equal(repair(clean, hole), repair(clean, hole, grain=False))
