"""Restoration of held-out faces at the sizes old photos have, on aligned crops (fast).

The quick companion of bench/bench_operating_point.py (which runs the whole job on whole
photos): for model design it skips detection, matching and composition and restores
the aligned crops directly. For every held-out person (a prepared dataset of them,
`idfsr data prepare --labels folders` on the people of bench/idfsr_heldout.txt) the
first face is the ground truth, up to eight others are "the library" (mean embedding,
fitting, references). The ground truth is brought down to a face of B px box width
(B in --sizes; the canonical crop spans about 1.88 B photo pixels) with old-photo damage
(blur, noise, film grain, fading, scan, JPEG; seeded per face) and restored:

- bicubic, classical (denoise + enlarge + unsharp mask; bench/face_metrics.py),
- generic: the model with the null identity, no reference, the whole LR face shown,
- mean: the person's mean embedding and their best reference,
- fitted: the embedding fitted on the library faces (the product's fitting).

Scores: identity = cosine of the judge's embeddings (a recognizer the model never
trained or fitted against) of restoration and ground truth; fidelity = luma PSNR at the
input's size; sharpness relative to the ground truth. Paired margins with bootstrap
intervals; a grid PNG per size.

    .venv/bin/python bench/idfsr_sizes.py --model M --heldout-data runs/heldout-128
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

import face_metrics as fm  # noqa: E402
from judge_faceres import FaceresJudge  # noqa: E402
from report_json import run_report  # noqa: E402

from core.faces.align import roll_yaw_pitch  # noqa: E402
from core.faces.recognizers import open_recognizer  # noqa: E402
from core.idfsr.checkpoint import LoadedModel, load_model  # noqa: E402
from core.idfsr.dataset import PreparedFaces  # noqa: E402
from core.idfsr.degrade import DegradationParams, degrade  # noqa: E402
from core.idfsr.examples import unit  # noqa: E402
from core.idfsr.fit import FitConfig, fit_identity  # noqa: E402
from core.idfsr.sample import FaceInput, SampleOptions, restore_face  # noqa: E402
from core.restore.options import RestoreOptions  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"
SPAN_PER_BOX = 1.88  # canonical crop side / detector box width (embedded backend, LFW)
METHODS = ("bicubic", "classical", "generic", "mean", "fitted")


def old_photo(scale: float, seed: int) -> DegradationParams:
    """A realistic old-print degradation of a face, varied by seed within mild ranges."""
    rng = np.random.default_rng([seed, 17])
    return DegradationParams(
        scale=scale, seed=seed, blur="gaussian", blur_size=float(rng.uniform(0.3, 0.8)),
        noise=float(rng.uniform(0.01, 0.03)), mono_noise=True, tone="color",
        fade=float(rng.uniform(0.0, 0.25)), scan_factor=float(rng.uniform(1.5, 3.0)),
        grain=float(rng.uniform(0.03, 0.07)), jpeg=int(rng.integers(60, 90)))


def pose_order(target: NDArray[np.float64], others: list[NDArray[np.float64]]) -> list[int]:
    """Indices of `others` by how close their pose is to the target's (closest first)."""
    _, yt, pt = roll_yaw_pitch(target)

    def dist(lms: NDArray[np.float64]) -> float:
        _, y, p = roll_yaw_pitch(lms)
        return float(((abs(y) - abs(yt)) / 0.25) ** 2 + ((p - pt) / 0.2) ** 2)
    return sorted(range(len(others)), key=lambda i: dist(others[i]))


def restore_all(model: LoadedModel, lr_up: NDArray[np.uint8], lr_size: int,
                lms: NDArray[np.float64], refs: list[tuple[NDArray[np.uint8], NDArray[Any]]],
                mean: NDArray[np.float32], fitted: NDArray[np.float32],
                opts: SampleOptions) -> dict[str, NDArray[np.uint8]]:
    """The model's three restorations of one LR face."""
    generic = FaceInput(lr_up, lr_size, lms)
    personal = FaceInput(lr_up, lr_size, lms, refs[0][0], refs[0][1], tuple(refs[1:]))
    open_opts = SampleOptions(**{**opts.__dict__, "fidelity": 1.0, "candidates": 1})
    return {
        "generic": restore_face(model, generic, None, open_opts)[0].image,
        "mean": restore_face(model, personal, mean, opts)[0].image,
        "fitted": restore_face(model, personal, fitted, opts)[0].image,
    }


def evaluate(args: argparse.Namespace) -> dict[str, Any]:
    model = load_model(args.model)
    data = PreparedFaces(args.heldout_data)
    if data.size != model.size:
        raise SystemExit(f"held-out faces are {data.size} px, the model works at {model.size}")
    recognizer = open_recognizer(model.net.config.id_model_id)
    judge = FaceresJudge()
    people = sorted(p for p, idx in data.groups.items() if len(idx) >= 3)[: args.people]
    sizes = [int(s) for s in args.sizes.split(",")]
    opts = SampleOptions(guidance=args.guidance, fidelity=args.fidelity,
                         consistency=args.consistency, candidates=args.candidates)
    variants: dict[str, tuple[float, float, float]] = {}
    for v in (v for v in args.variants.split(",") if v):
        f, c, *g = (float(x) for x in v.split(":"))
        guidance = g[0] if g else args.guidance
        variants[f"fitted f{f:g}/c{c:g}/g{guidance:g}"] = (f, c, guidance)
    methods = (*METHODS, *variants)
    scores = {b: {m: {"id": [], "psnr": [], "sharp": []} for m in methods} for b in sizes}
    tiles: dict[int, list[list[NDArray[np.uint8]]]] = {b: [] for b in sizes}
    fit_seconds, restore_seconds = [], []
    for n, person in enumerate(people):
        idx = data.groups[person]
        target, others = idx[0], idx[1:9]
        gt = data.face(target)
        lms = data.landmarks[target].astype(np.float64)
        faces = np.stack([data.face(i) for i in others])
        flms = data.landmarks[others].astype(np.float64)
        mean = unit(recognizer.embed_canonical(faces).mean(axis=0))
        t0 = time.perf_counter()
        fitted = fit_identity(model, faces, flms, mean,
                              config=FitConfig(steps=args.fit_steps, seed=args.seed)).embedding
        fit_seconds.append(time.perf_counter() - t0)
        order = pose_order(lms, list(flms))
        refs = [(faces[i], flms[i]) for i in order]
        for b in sizes:
            span = SPAN_PER_BOX * b
            lr = degrade(gt, old_photo(data.size / span, args.seed * 1000 + n * 10 + b))
            out = {"bicubic": lr.lr_up, "classical": fm.classical(lr.lr_up, lr.lr_size)}
            t0 = time.perf_counter()
            out.update(restore_all(model, lr.lr_up, lr.lr_size, lms, refs, mean, fitted, opts))
            restore_seconds.append((time.perf_counter() - t0) / 3)
            personal = FaceInput(lr.lr_up, lr.lr_size, lms, refs[0][0], refs[0][1],
                                 tuple(refs[1:]))
            for name, (fid, cons, guidance) in variants.items():
                vo = SampleOptions(**{**opts.__dict__, "fidelity": fid, "consistency": cons,
                                      "guidance": guidance})
                out[name] = restore_face(model, personal, fitted, vo)[0].image
            emb = judge.embed_aligned(np.stack([gt] + [out[m] for m in methods]))
            for j, m in enumerate(methods, start=1):
                s = scores[b][m]
                s["id"].append(float(emb[0] @ emb[j]))
                s["psnr"].append(fm.fidelity_psnr(out[m], gt, lr.lr_size))
                s["sharp"].append(fm.sharpness(out[m], gt))
            if len(tiles[b]) < args.grid_people:
                tiny = cv2.resize(lr.lr_up, (lr.lr_size, lr.lr_size), interpolation=cv2.INTER_AREA)
                view = cv2.resize(tiny, gt.shape[:2][::-1], interpolation=cv2.INTER_NEAREST)
                tiles[b].append([view] + [out[m] for m in METHODS] + [refs[0][0], gt])
        print(json.dumps({"person": person, "done": n + 1, "of": len(people),
                          **{f"{b}px_fitted": round(scores[b]["fitted"]["id"][-1], 3)
                             for b in sizes}}), file=sys.stderr, flush=True)
    report: dict[str, Any] = {
        "model": str(args.model), "model_sha256": model.sha256, "people": len(people),
        "judge": "bench/judge_faceres.py (HSE FaceRes, VGGFace2; never used in training)",
        "options": {k: str(v) if isinstance(v, Path) else v
                    for k, v in vars(args).items() if k != "out"},
        "seconds_per_restoration": round(float(np.mean(restore_seconds)), 3),
        "seconds_per_fit": round(float(np.mean(fit_seconds)), 1), "sizes": {}}
    labels = ["input", *METHODS, "reference", "truth"]
    OUT.mkdir(parents=True, exist_ok=True)
    for b in sizes:
        sc = scores[b]
        path = OUT / f"{args.name}_{b}px.png"
        cv2.imwrite(str(path), fm.grid(tiles[b], zoom=1, labels=labels)[..., ::-1])
        report["sizes"][f"{b}px"] = {
            "mean": {m: {k: round(float(np.mean(v)), 4) for k, v in sc[m].items()}
                     for m in methods},
            "fitted_minus_bicubic_id": fm.paired_margin(sc["fitted"]["id"], sc["bicubic"]["id"]),
            "fitted_minus_generic_id": fm.paired_margin(sc["fitted"]["id"], sc["generic"]["id"]),
            "fitted_minus_mean_id": fm.paired_margin(sc["fitted"]["id"], sc["mean"]["id"]),
            "fitted_minus_bicubic_psnr": fm.paired_margin(sc["fitted"]["psnr"],
                                                          sc["bicubic"]["psnr"]),
            "grid": str(path)}
    return report


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--heldout-data", type=Path, required=True)
    ap.add_argument("--people", type=int, default=30)
    ap.add_argument("--sizes", default="12,16,24,32")
    ap.add_argument("--guidance", type=float, default=RestoreOptions.identity_strength)
    ap.add_argument("--fidelity", type=float, default=RestoreOptions.fidelity)
    ap.add_argument("--consistency", type=float, default=RestoreOptions.consistency)
    ap.add_argument("--candidates", type=int, default=1)
    ap.add_argument("--fit-steps", type=int, default=100)
    ap.add_argument("--variants", default="",
                    help="Extra fitted columns as FIDELITY:CONSISTENCY[:GUIDANCE], e.g. "
                         "0.5:0.5,1:0:2")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--grid-people", type=int, default=8)
    ap.add_argument("--name", default="sizes")
    run_report(ap, evaluate, argv)


if __name__ == "__main__":
    main()
