"""Restoration quality of a trained IDFSR model on people it never saw.

For every held-out person (a prepared dataset of them: `idfsr data prepare` on their
photos, one folder per person) the first face is the ground truth; up to eight others
are "the library": their mean recognizer embedding, the faces the identity is fitted
on, and the reference photo (the first of them). The ground truth is shrunk by x8 and
x16 (antialiased, no other damage) and restored four ways:

- bicubic: the LR face enlarged,
- unfitted: the model with the null identity (reference still shown),
- mean: the model with the person's mean recognizer embedding,
- fitted: the model with the embedding fitted on the person's other faces.

Scores: identity similarity = cosine of the judge's embeddings (bench/judge.py: a
recognizer trained apart, never used in training or fitting) of the restoration and
the ground truth; PSNR and SSIM on luma. LPIPS needs weights that are not available
offline, so it is not reported. Alignment comes from the ground truth's landmarks
(the restore pipeline detects them on the LR photo instead).

    .venv/bin/python bench/idfsr_quality.py --model M --heldout-data D [--judge J]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from judge import DEFAULT_PATH, Judge, verification  # noqa: E402
from report_json import run_report  # noqa: E402

from core.idfsr.checkpoint import load_model  # noqa: E402
from core.idfsr.dataset import PreparedFaces  # noqa: E402
from core.idfsr.degrade import DegradationParams, degrade  # noqa: E402
from core.idfsr.examples import unit  # noqa: E402
from core.idfsr.fit import FitConfig, fit_identity  # noqa: E402
from core.idfsr.sample import FaceInput, SampleOptions, restore_face  # noqa: E402

METHODS = ("bicubic", "unfitted", "mean", "fitted")
OUT = Path(__file__).resolve().parent / "out"


def luma(img: NDArray[np.uint8]) -> NDArray[np.float64]:
    """Rec. 601 luma in 0..255."""
    return img.astype(np.float64) @ np.array([0.299, 0.587, 0.114])


def psnr(a: NDArray[np.uint8], b: NDArray[np.uint8]) -> float:
    """PSNR of the luma, dB."""
    mse = float(np.mean((luma(a) - luma(b)) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(255.0**2 / mse)


def ssim(a: NDArray[np.uint8], b: NDArray[np.uint8]) -> float:
    """SSIM of the luma: Gaussian window sigma 1.5, the usual constants."""
    x, y = luma(a), luma(b)
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def blur(z: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.asarray(cv2.GaussianBlur(z, (11, 11), 1.5), np.float64)

    mx, my = blur(x), blur(y)
    vx, vy, cxy = blur(x * x) - mx**2, blur(y * y) - my**2, blur(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
    return float(s[5:-5, 5:-5].mean())


def paired_margin(a: list[float], b: list[float]) -> dict[str, float]:
    """Mean of a - b with a 95% bootstrap interval, and how often a > b."""
    d = np.asarray(a) - np.asarray(b)
    rng = np.random.default_rng(0)
    boots = [float(rng.choice(d, len(d)).mean()) for _ in range(2000)]
    return {"mean": round(float(d.mean()), 4), "ci95": [round(float(np.percentile(boots, 2.5)), 4),
                                                      round(float(np.percentile(boots, 97.5)), 4)],
            "wins": round(float((d > 0).mean()), 3)}


def grid(rows: list[list[NDArray[np.uint8]]], path: Path, zoom: int = 2) -> None:
    """Rows of equally sized tiles -> one PNG, 2 px gaps."""
    s = rows[0][0].shape[0] * zoom
    h, w = len(rows) * (s + 2), len(rows[0]) * (s + 2)
    canvas = np.full((h, w, 3), 255, np.uint8)
    for r, row in enumerate(rows):
        for c, tile in enumerate(row):
            big = cv2.resize(tile, (s, s), interpolation=cv2.INTER_NEAREST)
            canvas[r * (s + 2):r * (s + 2) + s, c * (s + 2):c * (s + 2) + s] = big
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), canvas[..., ::-1])


def evaluate(args: argparse.Namespace) -> dict[str, Any]:
    model = load_model(args.model)
    data = PreparedFaces(args.heldout_data)
    if data.size != model.size:
        raise SystemExit(f"held-out faces are {data.size} px, the model works at {model.size}")
    judge = Judge(args.judge)
    people = sorted(p for p, idx in data.groups.items() if len(idx) >= 3)[: args.people]
    scales = [float(s) for s in args.scales.split(",")]
    opts = SampleOptions(steps=args.steps, guidance=args.guidance, fidelity=args.fidelity,
                         consistency=args.consistency, start=args.start, candidates=1,
                         seed=args.seed)
    scores: dict[float, dict[str, dict[str, list[float]]]] = {
        s: {m: {"id": [], "psnr": [], "ssim": []} for m in METHODS} for s in scales}
    fit_seconds, sample_seconds = [], []
    tiles: dict[float, list[list[NDArray[np.uint8]]]] = {s: [] for s in scales}
    for n, person in enumerate(people):
        idx = data.groups[person]
        target, others = idx[0], idx[1:9]
        gt = data.face(target)
        faces = np.stack([data.face(i) for i in others])
        lms = data.landmarks[others].astype(np.float64)
        mean = unit(data.embeddings[others].mean(axis=0))
        t0 = time.perf_counter()
        fitted = fit_identity(model, faces, lms, mean,
                              config=FitConfig(steps=args.fit_steps, seed=args.seed,
                                               **({"learning_rate": args.fit_lr}
                                                  if args.fit_lr else {}))).embedding
        fit_seconds.append(time.perf_counter() - t0)
        for scale in scales:
            lr = degrade(gt, DegradationParams(scale=scale, seed=args.seed + n))
            face = FaceInput(lr.lr_up, lr.lr_size, data.landmarks[target].astype(np.float64),
                             faces[0], lms[0])
            out = {"bicubic": lr.lr_up}
            for method, emb in (("unfitted", None), ("mean", mean), ("fitted", fitted)):
                t0 = time.perf_counter()
                out[method] = restore_face(model, face, emb, opts)[0].image
                sample_seconds.append(time.perf_counter() - t0)
            e = judge.embed(np.stack([gt] + [out[m] for m in METHODS]))
            for j, m in enumerate(METHODS, start=1):
                s = scores[scale][m]
                s["id"].append(float(e[0] @ e[j]))
                s["psnr"].append(psnr(out[m], gt))
                s["ssim"].append(ssim(out[m], gt))
            if len(tiles[scale]) < args.grid_people:
                tiny = cv2.resize(gt, (lr.lr_size, lr.lr_size), interpolation=cv2.INTER_AREA)
                lr_view = cv2.resize(tiny, (gt.shape[1], gt.shape[0]),
                                     interpolation=cv2.INTER_NEAREST)
                tiles[scale].append([lr_view] + [out[m] for m in METHODS] + [gt])
        print(json.dumps({"person": person, "done": n + 1, "of": len(people),
                          **{f"x{int(s)}_fitted_id": round(scores[s]["fitted"]["id"][-1], 3)
                             for s in scales}}), file=sys.stderr, flush=True)
    grids = {}
    for scale in scales:
        path = Path(args.grid_out).with_name(f"{Path(args.grid_out).stem}_x{int(scale)}.png")
        grid(tiles[scale], path)
        grids[f"x{int(scale)}"] = str(path)
    all_faces = np.stack([data.face(i) for i in range(len(data))])
    report: dict[str, Any] = {
        "model": str(args.model), "model_sha256": model.sha256,
        "heldout_people": len(people), "heldout_list": args.heldout_list,
        "judge": {"path": str(args.judge),
                  "on_heldout_ground_truth": verification(
                      judge.embed(all_faces),
                      [str(data.identity(i)) for i in range(len(data))])},
        "options": {"steps": args.steps, "guidance": args.guidance, "fidelity": args.fidelity,
                    "consistency": args.consistency, "start": args.start,
                    "fit_steps": args.fit_steps, "fit_lr": args.fit_lr,
                    "threads": args.threads},
        "scales": {}, "grid_columns": ["LR", *METHODS, "ground truth"], "grids": grids,
        "seconds_per_face_sample": round(float(np.mean(sample_seconds)), 2),
        "seconds_per_person_fit": round(float(np.mean(fit_seconds)), 1),
    }
    for scale in scales:
        sc = scores[scale]
        report["scales"][f"x{int(scale)}"] = {
            "mean": {m: {k: round(float(np.mean(v)), 4) for k, v in sc[m].items()}
                     for m in METHODS},
            "fitted_minus_bicubic_id": paired_margin(sc["fitted"]["id"], sc["bicubic"]["id"]),
            "fitted_minus_unfitted_id": paired_margin(sc["fitted"]["id"], sc["unfitted"]["id"]),
            "fitted_minus_mean_id": paired_margin(sc["fitted"]["id"], sc["mean"]["id"]),
        }
    return report


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--heldout-data", type=Path, required=True,
                    help="`idfsr data prepare --labels folders` on the held-out people")
    ap.add_argument("--heldout-list", default="bench/idfsr_heldout.txt")
    ap.add_argument("--judge", type=Path, default=DEFAULT_PATH)
    ap.add_argument("--people", type=int, default=30)
    ap.add_argument("--scales", default="8,16")
    ap.add_argument("--steps", type=int, default=25)
    ap.add_argument("--guidance", type=float, default=2.0)
    ap.add_argument("--fidelity", type=float, default=0.0)
    ap.add_argument("--consistency", type=float, default=0.5)
    ap.add_argument("--start", type=float, default=SampleOptions.start,
                    help="1: sample from pure noise; lower: from the LR face noised this far")
    ap.add_argument("--fit-steps", type=int, default=150)
    ap.add_argument("--fit-lr", type=float, default=None,
                    help="Fitting learning rate (default: the product's)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--grid-people", type=int, default=6)
    ap.add_argument("--grid-out", default=str(OUT / "idfsr_grid.png"))
    run_report(ap, evaluate, argv)


if __name__ == "__main__":
    main()
