"""The restoration job at the face sizes old photos have, on people the model never saw.

Held-out people (bench/idfsr_heldout.txt: LFW people kept out of the model's training,
of its recognizer's fitting and of the tests): each person's first `--library` photos
make a small photo library, indexed, grouped and named by the product's own code; their
next photo is the "old photo". It is shrunk until the person's face is B px wide (the
detector's box; B in --sizes, default 12, 16, 24, 32), printed on a margin and damaged
as an old print is (blur, noise, film grain, fading, JPEG; seeded), then restored by the
whole job as a user runs it (`restore_photos`: faces found, the person chosen as a user
would choose them, their identity fitted on demand from the library, a reference chosen
from their photos, the face restored and composed into a photo enlarged x`--scale`).

The face is cut from every output at the ground truth's resolution (the canonical crop
of the original photo, through the landmarks mapped into the output) and compared with
the original's:
- identity: cosine of the judge's embeddings (bench/judge_faceres.py: a recognizer the
  restoration model never trained or fitted against);
- fidelity: luma PSNR at the input's own size (both faces blurred and downscaled to the
  size the face has in the small photo: removing grain is not punished, inventing
  structure is);
- sharpness: Laplacian energy of the inner face relative to the ground truth's.
Columns: bicubic (the small photo enlarged), classical (denoise + enlarge + unsharp
mask), generic (the job told the face is nobody known), personal (the job told who it
is). Paired means with 95 % bootstrap intervals; a grid PNG per size.

    .venv/bin/python bench/bench_operating_point.py [--model M] [--people 20] [--fit-steps N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import face_metrics as fm  # noqa: E402
from bench_restore import build_library, central, heldout_names, rgb_of  # noqa: E402
from judge_faceres import FaceresJudge  # noqa: E402
from report_json import write_report  # noqa: E402

from core.context import AppContext  # noqa: E402
from core.faces.align import canonical_alignment  # noqa: E402
from core.faces.backends import face_backend  # noqa: E402
from core.idfsr import film  # noqa: E402
from core.library import service  # noqa: E402
from core.restore.options import PersonChoice, RestoreOptions  # noqa: E402
from core.tasks.demo import name_demo_people  # noqa: E402
from core.tasks.indexing import index_everything  # noqa: E402
from core.tasks.restore import find_faces, restore_photos  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "train" / "lfw"
OUT = ROOT / "bench" / "out"
SIZE = 128  # the canonical crop the faces are compared on
COLUMNS = ("bicubic", "classical", "generic", "personal")


def old_print(rgb: NDArray[np.uint8], seed: int) -> NDArray[np.uint8]:
    """An old print of a small photo: lens blur, noise, fading, film grain, JPEG (seeded)."""
    rng = np.random.default_rng([seed, 31])
    x = rgb.astype(np.float32) / 255.0
    sigma = float(rng.uniform(0.4, 0.8))
    x = cv2.GaussianBlur(x, (0, 0), sigmaX=sigma, sigmaY=sigma)
    x = x + rng.standard_normal(x.shape[:2] + (1,)).astype(np.float32) * rng.uniform(0.01, 0.03)
    x = film.fade(np.clip(x, 0, 1), float(rng.uniform(0.0, 0.25)))
    x = film.film_grain(x, float(rng.uniform(0.03, 0.07)), rng)
    out = np.clip(np.rint(x * 255.0), 0, 255).astype(np.uint8)
    ok, buf = cv2.imencode(".jpg", out[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY,
                                                   int(rng.integers(60, 90))])
    return np.asarray(cv2.imdecode(buf, cv2.IMREAD_COLOR), np.uint8)[..., ::-1] if ok else out


def small_photo(rgb: NDArray[np.uint8], factor: float) -> tuple[NDArray[np.uint8], int]:
    """The photo `factor` times smaller (antialiased) on a plain print margin; the margin."""
    h, w = rgb.shape[:2]
    small = cv2.resize(cv2.GaussianBlur(rgb, (0, 0), 0.3 * factor),
                       (max(1, round(w / factor)), max(1, round(h / factor))),
                       interpolation=cv2.INTER_AREA)
    pad = max(8, small.shape[0] // 2)
    return np.pad(small, ((pad, pad), (pad, pad), (0, 0)), constant_values=118), pad


def enlarge(rgb: NDArray[np.uint8], scale: float) -> NDArray[np.uint8]:
    """Bicubic enlargement of a whole photo."""
    h, w = rgb.shape[:2]
    return np.asarray(cv2.resize(rgb, (round(w * scale), round(h * scale)),
                                 interpolation=cv2.INTER_CUBIC))


def crop_at(photo: NDArray[np.uint8], landmarks: NDArray[np.float64]) -> NDArray[np.uint8]:
    """The canonical crop of the face with these landmarks."""
    return np.ascontiguousarray(canonical_alignment(landmarks, SIZE).crop(
        photo, border=cv2.BORDER_REPLICATE))


def face_number(ctx: AppContext, path: Path, expect: NDArray[np.float64]) -> int | None:
    """The number the restore job gives the face nearest these landmarks (None: not found)."""
    found = find_faces(ctx, path)
    best, dist = None, np.inf
    centre = expect.mean(axis=0)
    for f in found.faces:
        d = float(np.hypot(*(np.asarray(f.landmarks).mean(axis=0) - centre)))
        if d < dist:
            best, dist = f.number, d
    eye = float(np.hypot(*(expect[1] - expect[0])))
    return best if best is not None and dist < max(2.0, eye) else None


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    names = heldout_names(args.heldout)[: args.people]
    queries = build_library(work, names, args.data, args.library, 1)
    judge = FaceresJudge()
    scores: dict[int, dict[str, dict[str, list[float]]]] = {
        b: {c: {"id": [], "psnr": [], "sharp": []} for c in COLUMNS} for b in args.sizes}
    tiles: dict[int, list[list[NDArray[np.uint8]]]] = {b: [] for b in args.sizes}
    missed: dict[int, int] = dict.fromkeys(args.sizes, 0)
    seconds: dict[str, list[float]] = {"generic": [], "personal": []}
    fits: list[dict[str, Any]] = []
    with AppContext.open(work / "home") as ctx:
        ctx.settings = ctx.settings.model_copy(update={"face_backend": "embedded",
                                                       "device": args.device})
        service.add_root(ctx, work / "lib")
        index_everything(ctx)
        named = {p["name"].replace(" ", "_").lower(): p["name"]
                 for p in name_demo_people(ctx, work / "lib")}
        backend = face_backend(ctx)
        base = RestoreOptions(model=args.model, scale=args.scale, fit_steps=args.fit_steps,
                              candidates=args.candidates, device=args.device,
                              save_crops=False)
        for n, name in enumerate(names):
            person = named.get(name.lower())
            photo = queries[name][0]
            rgb = rgb_of(photo)
            face = central(backend.detect(rgb), rgb.shape[1], rgb.shape[0])
            if person is None or face is None:
                continue
            truth = crop_at(rgb, np.asarray(face.landmarks, np.float64))
            box_w = face.box[2] - face.box[0]
            for b in args.sizes:
                factor = box_w / b
                small, pad = small_photo(rgb, factor)
                small = old_print(small, n * 100 + b)
                lms_small = np.asarray(face.landmarks, np.float64) / factor + pad
                qdir = work / "queries" / f"{b}px"
                qdir.mkdir(parents=True, exist_ok=True)
                qpath = qdir / f"{name}.png"
                Image.fromarray(small).save(qpath)
                number = face_number(ctx, qpath, lms_small)
                if number is None:
                    missed[b] += 1
                    continue
                # Landmarks in an output enlarged k times (cv2.resize's pixel centres).
                outs: dict[str, NDArray[np.uint8]] = {}
                big = enlarge(small, args.scale)
                k = big.shape[1] / small.shape[1]
                lms_big = (lms_small + 0.5) * k - 0.5
                outs["bicubic"] = crop_at(big, lms_big)
                lr_size = max(2, round(SIZE / canonical_alignment(lms_small, SIZE).scale))
                outs["classical"] = fm.classical(crop_at(small, lms_small), lr_size)
                for column, who in (("generic", "none"), ("personal", person)):
                    opts = RestoreOptions(**{**base.__dict__, "persons": (
                        PersonChoice(number, who),)})
                    out_dir = work / "out" / column / f"{b}px"
                    t0 = time.perf_counter()
                    report = restore_photos(ctx, [qpath], out_dir, opts)
                    seconds[column].append(time.perf_counter() - t0)
                    fits += report.fitted
                    res = report.photos[0]
                    if res.status != "restored" or not res.output:
                        outs[column] = outs["bicubic"]  # nothing restored: the photo as it is
                        continue
                    restored = rgb_of(Path(res.output))
                    k_out = restored.shape[1] / small.shape[1]
                    outs[column] = crop_at(restored, (lms_small + 0.5) * k_out - 0.5)
                emb = judge.embed_aligned(np.stack([truth] + [outs[c] for c in COLUMNS]))
                for j, c in enumerate(COLUMNS, start=1):
                    s = scores[b][c]
                    s["id"].append(float(emb[0] @ emb[j]))
                    s["psnr"].append(fm.fidelity_psnr(outs[c], truth, lr_size))
                    s["sharp"].append(fm.sharpness(outs[c], truth))
                if len(tiles[b]) < args.grid_people:
                    view = cv2.resize(crop_at(small, lms_small), (lr_size, lr_size),
                                      interpolation=cv2.INTER_AREA)
                    view = cv2.resize(view, (SIZE, SIZE), interpolation=cv2.INTER_NEAREST)
                    tiles[b].append([view] + [outs[c] for c in COLUMNS] + [truth])
            print(json.dumps({"person": name, "done": n + 1, "of": len(names),
                              **{f"{b}px": round(scores[b]["personal"]["id"][-1], 3)
                                 for b in args.sizes if scores[b]["personal"]["id"]}}),
                  file=sys.stderr, flush=True)
    OUT.mkdir(parents=True, exist_ok=True)
    sizes: dict[str, Any] = {}
    for b in args.sizes:
        sc = scores[b]
        path = OUT / f"{args.name}_{b}px.png"
        cv2.imwrite(str(path), fm.grid(tiles[b], zoom=1,
                                       labels=["input", *COLUMNS, "truth"])[..., ::-1])
        sizes[f"{b}px"] = {
            "faces": len(sc["personal"]["id"]), "not_found": missed[b],
            "mean": {c: {k: round(float(np.mean(v)), 4) for k, v in sc[c].items()}
                     for c in COLUMNS if sc[c]["id"]},
            "personal_minus_bicubic_id": fm.paired_margin(sc["personal"]["id"],
                                                          sc["bicubic"]["id"]),
            "personal_minus_generic_id": fm.paired_margin(sc["personal"]["id"],
                                                          sc["generic"]["id"]),
            "personal_minus_classical_id": fm.paired_margin(sc["personal"]["id"],
                                                            sc["classical"]["id"]),
            "personal_minus_bicubic_psnr": fm.paired_margin(sc["personal"]["psnr"],
                                                            sc["bicubic"]["psnr"]),
            "personal_minus_classical_sharpness": fm.paired_margin(sc["personal"]["sharp"],
                                                                   sc["classical"]["sharp"]),
            "grid": str(path)}
    fit_s = [f["seconds"] for f in fits if f.get("seconds") is not None]
    return {"people": len(names), "sizes": sizes, "columns": list(COLUMNS),
            "judge": "HSE FaceRes (bench/judge_faceres.py), never used in training or fitting",
            "seconds_per_photo": {c: round(float(np.mean(v)), 2) if v else None
                                  for c, v in seconds.items()},
            "fits": len(fit_s), "seconds_per_fit": round(float(np.mean(fit_s)), 1)
            if fit_s else None}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=None, help="An IDFSR model (default: the bundled one).")
    ap.add_argument("--heldout", type=Path, default=ROOT / "bench" / "idfsr_heldout.txt")
    ap.add_argument("--data", type=Path, default=DATA, help="LFW: one folder per person.")
    ap.add_argument("--people", type=int, default=20)
    ap.add_argument("--library", type=int, default=4, help="Library photos per person.")
    ap.add_argument("--sizes", type=int, nargs="+", default=[12, 16, 24, 32])
    ap.add_argument("--scale", type=float, default=4.0, help="Output scale of the job.")
    ap.add_argument("--candidates", type=int, default=RestoreOptions.candidates)
    ap.add_argument("--fit-steps", type=int, default=None,
                    help="Fitting steps (default: the product's).")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--grid-people", type=int, default=8)
    ap.add_argument("--name", default="operating_point")
    ap.add_argument("--work", type=Path, default=None, help="Keep the work folder here.")
    ap.add_argument("--out", type=Path, default=None, help="Also write the JSON here.")
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-op-"))
    started = time.monotonic()
    report = run(args, work)
    report.update(model=args.model or "idfsr-default", scale=args.scale,
                  fit_steps=args.fit_steps, threads=args.threads,
                  load_avg=round(os.getloadavg()[0], 2),
                  seconds=round(time.monotonic() - started, 1))
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)
    write_report(report, args.out, indent=1)


if __name__ == "__main__":
    main()
