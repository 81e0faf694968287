"""Benchmark the whole-photo repair on clean photos with seeded synthetic damage; one JSON.

Photos: ../shared/data/fixtures/groups/*.jpg and fixtures/people/*/* (clean photos never
used in training; no LFW held-out people). Damage is painted by
core.restore.damage_synth.paint_damage (scratches, thin and thick cracks, dust, spots),
seeded per photo.

- mask: pixel precision and recall of the detected mask against the painted (visible)
  damage, with a 2 px tolerance band (a detected pixel is right within 2 px of painted
  damage; a painted pixel is found within 2 px of a detected one); and the share of a
  clean photo's pixels the detector marks (false alarms).
- repair: PSNR/SSIM against the clean photo of (a) the damaged photo left alone,
  (b) OpenCV Telea on a simple threshold mask (|luma - 5x5 median| > 30), (c) our mask
  with each inpainting method, (d) each method on the painted mask (the ceiling).
- grain: the same damage on grainy prints (film grain added), filled with the painted
  mask smooth and with the print's grain: the fill's fine detail over the print's there.
- tone: faded photos (damage_synth.faded) corrected at strengths 0..1, and the clean
  photos through the same correction (harm), PSNR/SSIM against the clean photo.
- enlarge: each photo halved (area) and enlarged x2 again, clean and degraded (noise
  sigma 4 + JPEG 70): Lanczos vs Lanczos with denoise and/or sharpening, PSNR/SSIM
  (the product takes the best on average: core/restore/enlarge.py).
- seconds per input megapixel of repair (detect + fill) + x2 enlargement.

    .venv/bin/python bench/bench_photo_repair.py [--quick]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image
from skimage.metrics import structural_similarity

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.restore.damage import detect_damage  # noqa: E402
from core.restore.damage_synth import faded, paint_damage  # noqa: E402
from core.restore.enlarge import SHARPEN, SHARPEN_SIGMA, enlarge  # noqa: E402
from core.restore.inpaint import METHODS, repair  # noqa: E402
from core.restore.tone import correct_tone  # noqa: E402

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "fixtures"
TOLERANCE = 2


def photos(quick: bool) -> list[Path]:
    groups = sorted((DATA / "groups").glob("*.jpg"))
    people = sorted(p for p in (DATA / "people").glob("*/*") if p.suffix.lower() in
                    (".jpg", ".jpeg", ".png"))
    return groups[:3] + people[::12] if quick else groups + people[::3]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b) ** 2))
    return 99.0 if mse == 0 else 10 * float(np.log10(255 ** 2 / mse))


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    return float(structural_similarity(a, b, channel_axis=2))


def near(a: np.ndarray, b: np.ndarray) -> tuple[int, int]:
    """(pixels of a within TOLERANCE of b, pixels of a)."""
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * TOLERANCE + 1,) * 2)
    grown = cv2.dilate(b.astype(np.uint8), k) > 0
    return int((a & grown).sum()), int(a.sum())


def threshold_mask(rgb: np.ndarray) -> np.ndarray:
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    diff = np.abs(gray.astype(np.int16) - cv2.medianBlur(gray, 5).astype(np.int16))
    return np.where(diff > 30, 255, 0).astype(np.uint8)


def mean(values: list[float]) -> float:
    return round(float(np.mean(values)), 4) if values else float("nan")


def bench_repair(images: list[np.ndarray]) -> dict[str, Any]:
    tp_p = n_p = tp_r = n_r = 0
    false_alarm: list[float] = []
    scores: dict[str, dict[str, list[float]]] = {}
    seconds = megapixels = 0.0

    def score(name: str, out: np.ndarray, clean: np.ndarray) -> None:
        s = scores.setdefault(name, {"psnr": [], "ssim": []})
        s["psnr"].append(psnr(out, clean))
        s["ssim"].append(ssim(out, clean))

    for i, clean in enumerate(images):
        d = paint_damage(clean, seed=i)
        started = time.perf_counter()
        mask = detect_damage(d.damaged)
        repaired = repair(d.damaged, mask)
        enlarge(repaired, 2.0)
        seconds += time.perf_counter() - started
        megapixels += clean.shape[0] * clean.shape[1] / 1e6
        found = mask > 0
        a, b = near(found, d.mask)
        tp_p, n_p = tp_p + a, n_p + b
        a, b = near(d.mask, found)
        tp_r, n_r = tp_r + a, n_r + b
        false_alarm.append(float((detect_damage(clean) > 0).mean()))
        score("damaged (left alone)", d.damaged, clean)
        score("threshold mask + opencv telea",
              np.asarray(cv2.inpaint(d.damaged, threshold_mask(d.damaged), 3,
                                     cv2.INPAINT_TELEA)), clean)
        painted = cv2.dilate(d.mask.astype(np.uint8) * 255, np.ones((3, 3), np.uint8))
        for method in METHODS:
            score(f"our mask + {method}", repair(d.damaged, mask, method=method), clean)
            score(f"painted mask + {method} (ceiling)",
                  repair(d.damaged, painted, method=method), clean)
    return {
        "grain": bench_grain(images),
        "mask": {"precision": round(tp_p / max(1, n_p), 4), "recall": round(tp_r / max(1, n_r), 4),
                 "tolerance_px": TOLERANCE,
                 "clean_photo_marked_share": mean(false_alarm)},
        "repair": {k: {m: mean(v) for m, v in s.items()} for k, s in scores.items()},
        "seconds_per_mp_repair_and_x2": round(seconds / megapixels, 3),
    }


def bench_grain(images: list[np.ndarray]) -> dict[str, Any]:
    """The fill's fine detail against the clean print's there, on grainy prints (film
    grain sigma 6 added): 1.0 is grain like the print's, 0 a smooth streak."""
    out: dict[str, Any] = {}
    for grain in (False, True):
        ratios, p = [], []
        for i, clean in enumerate(images):
            rng = np.random.default_rng(100 + i)
            grainy = np.clip(np.rint(clean + rng.normal(0, 6, clean.shape[:2])[..., None]),
                             0, 255).astype(np.uint8)
            d = paint_damage(grainy, seed=i)
            hole = cv2.dilate(d.mask.astype(np.uint8) * 255, np.ones((3, 3), np.uint8))
            fixed = repair(d.damaged, hole, grain=grain)
            inside = hole > 0
            ratios.append(_fine_spread(fixed, inside) / _fine_spread(grainy, inside))
            p.append(psnr(fixed, grainy))
        out["with grain" if grain else "smooth"] = {"fine_detail_ratio": mean(ratios),
                                                     "psnr": mean(p)}
    return out


def _fine_spread(rgb: np.ndarray, where: np.ndarray) -> float:
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    fine = gray - cv2.GaussianBlur(gray, (0, 0), 1.0)
    return float(1.4826 * np.median(np.abs(fine[where])))


def bench_tone(images: list[np.ndarray]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for strength in (0.0, 0.25, 0.5, 0.75, 1.0):
        f_p, f_s, c_p, c_s = [], [], [], []
        for i, clean in enumerate(images):
            old = faded(clean, seed=i)
            fixed, _ = correct_tone(old, strength)
            f_p.append(psnr(fixed, clean))
            f_s.append(ssim(fixed, clean))
            same, _ = correct_tone(clean, strength)
            c_p.append(min(60.0, psnr(same, clean)))
            c_s.append(ssim(same, clean))
        out[f"{strength:g}"] = {"faded_psnr": mean(f_p), "faded_ssim": mean(f_s),
                                "clean_psnr_capped_60": mean(c_p), "clean_ssim": mean(c_s)}
    return out


def _lanczos(s: np.ndarray) -> np.ndarray:
    return np.asarray(cv2.resize(s, (s.shape[1] * 2, s.shape[0] * 2),
                                 interpolation=cv2.INTER_LANCZOS4))


def _sharpen(x: np.ndarray) -> np.ndarray:
    f = x.astype(np.float32)
    return np.clip(np.rint(f + SHARPEN * (f - cv2.GaussianBlur(f, (0, 0), SHARPEN_SIGMA))),
                   0, 255).astype(np.uint8)


CHAINS = {
    "lanczos": _lanczos,
    "lanczos+sharpen": lambda s: _sharpen(_lanczos(s)),
    "bilateral+lanczos": lambda s: _lanczos(cv2.bilateralFilter(s, 5, 20, 3)),
    "bilateral+lanczos+sharpen": lambda s: _sharpen(_lanczos(cv2.bilateralFilter(s, 5, 20, 3))),
    "nlmeans+lanczos": lambda s: _lanczos(cv2.fastNlMeansDenoisingColored(s, None, 3, 3, 5, 15)),
}


def bench_enlarge(images: list[np.ndarray]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for noisy in (False, True):
        for name, chain in CHAINS.items():
            p, s, seconds, mp = [], [], 0.0, 0.0
            for i, clean in enumerate(images):
                h, w = clean.shape[0] // 2 * 2, clean.shape[1] // 2 * 2
                target = clean[:h, :w]
                small = cv2.resize(target, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
                if noisy:
                    rng = np.random.default_rng(i)
                    grainy = np.clip(small + rng.normal(0, 4, small.shape), 0, 255)
                    buf = io.BytesIO()
                    Image.fromarray(grainy.astype(np.uint8)).save(buf, "JPEG", quality=70)
                    small = np.asarray(Image.open(buf).convert("RGB"))
                started = time.perf_counter()
                big = chain(np.ascontiguousarray(small))
                seconds += time.perf_counter() - started
                mp += h * w / 1e6
                p.append(psnr(big, target))
                s.append(ssim(big, target))
            out.setdefault("degraded" if noisy else "clean", {})[name] = {
                "psnr": mean(p), "ssim": mean(s), "seconds_per_output_mp": round(seconds / mp, 3)}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few photos only")
    args = parser.parse_args()
    paths = photos(args.quick)
    images = [np.ascontiguousarray(np.asarray(Image.open(p).convert("RGB"))) for p in paths]
    started = time.perf_counter()
    result = {
        "photos": len(images),
        "megapixels": round(sum(i.shape[0] * i.shape[1] for i in images) / 1e6, 2),
        "machine": f"{os.cpu_count()} CPU cores, shared with other work while measured",
        **bench_repair(images),
        "tone": bench_tone(images),
        "enlarge_x2": bench_enlarge(images),
    }
    result["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
