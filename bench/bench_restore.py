"""Benchmark the restoration job on held-out people; prints one JSON object.

People: bench/idfsr_heldout.txt (LFW people kept out of the bundled model's training and
out of the tests). Each person's first `--library` photos make a small photo library (20
people or more), indexed and clustered by the product's own code and named after the
folders; their next `--queries` photos are the "old photos", never in the library.

- matching: each query photo shrunk until its face is 12/16/24/32 px, faces found with
  the restore detector, matched against the library: top-1 accuracy (is the best
  candidate the right person), and at the product's confidence threshold the share
  assigned and how many of those are right. A face the detector misses counts as wrong.
- identity: each query face aligned at the model's size, degraded x8 and x16, restored
  by the generic path (null identity, no reference) and the personal path (the person's
  identity fitted on their library photos, reference chosen from them), compared with
  bicubic: cosine of the recognizer's embedding to that of the original photo's face.
  The recognizer also conditions the model, so it is not an independent witness: the
  `judge` figures (bench/judge.py, a network the model never saw in training or fitting)
  compare each restoration with the aligned original, and are the ones to quote; with the
  personal path's paired margins over bicubic and over the generic path (mean, 95 %
  bootstrap interval, share of faces where it is higher).
  `hr` is the aligned original itself at the model's size (the ceiling).
- seconds per face of each path at the given steps and candidates, and per fit.

    .venv/bin/python bench/bench_restore.py --model resources/models/idfsr-default
    .venv/bin/python bench/bench_restore.py --model M --quick   # a smoke run (minutes)
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
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from idfsr_quality import paired_margin  # noqa: E402
from judge import DEFAULT_PATH as JUDGE_PATH  # noqa: E402
from judge import Judge  # noqa: E402

from core.context import AppContext  # noqa: E402
from core.faces.align import canonical_alignment  # noqa: E402
from core.faces.backends import face_backend  # noqa: E402
from core.faces.types import DetectedFace, FaceBackend  # noqa: E402
from core.idfsr.degrade import DegradationParams, degrade  # noqa: E402
from core.library import service  # noqa: E402
from core.restore.matching import MIN_CONFIDENCE, match_faces  # noqa: E402
from core.restore.options import RestoreOptions  # noqa: E402
from core.restore.recognition import cosine, detect_all, embed_aligned  # noqa: E402
from core.tasks.demo import name_demo_people  # noqa: E402
from core.tasks.indexing import index_everything  # noqa: E402
from core.tasks.restore_session import RestoreSession  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "train" / "lfw"


def heldout_names(path: Path) -> list[str]:
    """Names listed in a held-out file (comments and blank lines skipped)."""
    return [line.strip() for line in path.read_text().splitlines()
            if line.strip() and not line.startswith("#")]


def rgb_of(path: Path) -> np.ndarray:
    with Image.open(path) as img:
        return np.asarray(img.convert("RGB"))


def central(faces: list[DetectedFace], w: float, h: float) -> DetectedFace | None:
    """The face nearest the photo's centre (LFW's subject), or None."""
    def off(f: DetectedFace) -> float:
        cx, cy = (f.box[0] + f.box[2]) / 2, (f.box[1] + f.box[3]) / 2
        return float(np.hypot(cx - w / 2, cy - h / 2))
    return min(faces, key=off, default=None)


def shrunk(rgb: np.ndarray, factor: float) -> np.ndarray:
    """The photo `factor` times smaller (antialiased), on a plain margin as in a print."""
    h, w = rgb.shape[:2]
    small = cv2.resize(cv2.GaussianBlur(rgb, (0, 0), 0.3 * factor),
                       (max(1, round(w / factor)), max(1, round(h / factor))),
                       interpolation=cv2.INTER_AREA)
    pad = max(8, small.shape[0] // 2)
    return np.pad(small, ((pad, pad), (pad, pad), (0, 0)), constant_values=118)


def build_library(work: Path, names: list[str], data: Path, per_person: int, queries: int
                  ) -> dict[str, list[Path]]:
    """Library photos under work/lib/portraits/<name>/; returns each person's query photos."""
    out: dict[str, list[Path]] = {}
    for name in names:
        photos = sorted((data / name).glob("*.jpg"))
        if len(photos) < per_person + queries:
            raise SystemExit(f"{name} has {len(photos)} photos; need {per_person + queries}")
        folder = work / "lib" / "portraits" / name
        folder.mkdir(parents=True, exist_ok=True)
        for p in photos[:per_person]:
            shutil.copy(p, folder / p.name)
        out[name] = photos[per_person:per_person + queries]
    return out


def matching(ctx: AppContext, backend: FaceBackend, queries: dict[str, list[Path]],
             person_of: dict[str, int], sizes: list[int]) -> dict[str, Any]:
    """Automatic matching accuracy per face size."""
    results: dict[str, Any] = {}
    for size in sizes:
        n = detected = top1 = assigned = right = 0
        for name, photos in queries.items():
            for photo in photos:
                rgb = rgb_of(photo)
                face = central(backend.detect(rgb), rgb.shape[1], rgb.shape[0])
                if face is None:
                    continue
                n += 1
                small = shrunk(rgb, face.size_px / size)
                found = central(detect_all(backend, small), small.shape[1], small.shape[0])
                if found is None:
                    continue
                detected += 1
                emb = backend.embed(small, [found])
                (m,) = match_faces(ctx, backend.model_id, emb, [found.size_px])
                top1 += bool(m.candidates) and m.candidates[0].person_id == person_of[name]
                assigned += m.person_id is not None
                right += m.person_id == person_of[name]
        results[str(size)] = {
            "queries": n, "detected": round(detected / max(n, 1), 3),
            "top1": round(top1 / max(n, 1), 3),
            "top1_of_detected": round(top1 / max(detected, 1), 3),
            "assigned": round(assigned / max(n, 1), 3),
            "assigned_right": round(right / max(assigned, 1), 3) if assigned else None}
    return results


def identity(session: RestoreSession, queries: dict[str, list[Path]],
             person_of: dict[str, int], scales: list[int], per_person: int,
             judge: Judge | None = None,
             ) -> tuple[dict[str, Any], dict[str, Any] | None, dict[str, list[float]]]:
    """Identity similarity to the original per degradation scale and path (the product's
    recognizer, and the independent judge when there is one), and timings."""
    backend, size = session.backend, session.loaded.size
    sims: dict[str, dict[str, list[float]]] = {
        f"x{s}": {"hr": [], "bicubic": [], "generic": [], "personal": []} for s in scales}
    judged: dict[str, dict[str, list[float]]] = {
        f"x{s}": {"bicubic": [], "generic": [], "personal": []} for s in scales}
    seconds: dict[str, list[float]] = {"generic": [], "personal": []}
    for i, (name, photos) in enumerate(queries.items()):
        for photo in photos[:per_person]:
            rgb = rgb_of(photo)
            face = central(backend.detect(rgb), rgb.shape[1], rgb.shape[0])
            if face is None:
                continue
            truth = backend.embed(rgb, [face])[0]
            align = canonical_alignment(face.landmarks, size)
            crop = np.ascontiguousarray(align.crop(rgb, border=cv2.BORDER_REPLICATE))
            lms = align.to_crop(face.landmarks)
            for s in scales:
                low = degrade(crop, DegradationParams(scale=float(s), seed=i, blur="gaussian",
                                                      blur_size=0.5, noise=0.01, jpeg=85))
                row = sims[f"x{s}"]
                row["hr"].append(cosine(embed_aligned(backend, [crop])[0], truth))
                row["bicubic"].append(cosine(embed_aligned(backend, [low.lr_up])[0], truth))
                outs = {"bicubic": low.lr_up}
                for path, person in (("generic", None), ("personal", person_of[name])):
                    started = time.perf_counter()
                    done = session.restore_aligned(low.lr_up, low.lr_size, lms, person,
                                                   photo_landmarks=face.landmarks)
                    seconds[path].append(time.perf_counter() - started)
                    row[path].append(cosine(embed_aligned(backend, [done.image])[0], truth))
                    outs[path] = done.image
                if judge is not None:
                    e = judge.embed(np.stack([crop, *outs.values()]))
                    for j, path in enumerate(outs, start=1):
                        judged[f"x{s}"][path].append(float(e[0] @ e[j]))
    summary = {k: {p: (round(float(np.mean(v)), 4) if v else None) for p, v in row.items()}
               | {"faces": len(row["hr"])} for k, row in sims.items()}
    judge_summary = None if judge is None else {
        k: {p: (round(float(np.mean(v)), 4) if v else None) for p, v in row.items()}
        | ({"personal_vs_bicubic": paired_margin(row["personal"], row["bicubic"]),
            "personal_vs_generic": paired_margin(row["personal"], row["generic"])}
           if row["personal"] else {})
        for k, row in judged.items()}
    return summary, judge_summary, seconds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True, help="An IDFSR model folder.")
    parser.add_argument("--heldout", type=Path, default=ROOT / "bench" / "idfsr_heldout.txt")
    parser.add_argument("--data", type=Path, default=DATA, help="LFW: one folder per person.")
    parser.add_argument("--people", type=int, default=30, help="Library size (at least 20).")
    parser.add_argument("--library", type=int, default=4, help="Library photos per person.")
    parser.add_argument("--queries", type=int, default=2, help="Query photos per person.")
    parser.add_argument("--identity-faces", type=int, default=1,
                        help="Query faces per person restored for the identity figures.")
    parser.add_argument("--identity-people", type=int, default=None,
                        help="Restore the faces of only the first N people (default: all).")
    parser.add_argument("--sizes", type=int, nargs="+", default=[12, 16, 24, 32])
    parser.add_argument("--scales", type=int, nargs="+", default=[8, 16])
    parser.add_argument("--steps", type=int, default=25)
    parser.add_argument("--candidates", type=int, default=4)
    parser.add_argument("--fit-steps", type=int, default=300)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--judge", type=Path, default=JUDGE_PATH,
                        help="Independent judge of identity (bench/judge.py); skipped if absent.")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--work", type=Path, default=None,
                        help="Keep the library and home here (default: a temporary folder).")
    parser.add_argument("--quick", action="store_true",
                        help="A smoke run: 20 people, 3 library photos, 1 query, 2 steps, 1 "
                             "candidate, 2 fitting steps, identity on 4 people.")
    args = parser.parse_args(argv)
    if args.quick:
        args.people, args.library, args.queries = 20, 3, 1
        args.steps, args.candidates, args.fit_steps = 2, 1, 2
    import torch

    torch.set_num_threads(args.threads)
    names = heldout_names(args.heldout)[: args.people]
    if len(names) < 20:
        raise SystemExit(f"need at least 20 held-out people, {args.heldout} gives {len(names)}")
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-restore-"))
    started = time.monotonic()
    queries = build_library(work, names, args.data, args.library, args.queries)
    with AppContext.open(work / "home") as ctx:
        ctx.settings = ctx.settings.model_copy(update={"face_backend": "embedded",
                                                       "device": args.device})
        if not any(r.path == str((work / "lib").resolve()) for r in service.list_roots(ctx)):
            service.add_root(ctx, work / "lib")
        index_everything(ctx)
        person_of = {p["name"].replace(" ", "_").lower(): p["id"]
                     for p in name_demo_people(ctx, work / "lib")}
        person_of = {n: person_of[n.lower()] for n in names if n.lower() in person_of}
        backend = face_backend(ctx)
        t0 = time.monotonic()
        match = matching(ctx, backend, queries, person_of, args.sizes)
        match_s = time.monotonic() - t0
        options = RestoreOptions(model=args.model, steps=args.steps, candidates=args.candidates,
                                 fit_steps=args.fit_steps, device=args.device)
        session = RestoreSession.open(ctx, options)
        who = [n for n in names if n in person_of][: 4 if args.quick else args.identity_people]
        fit_seconds = []
        for n in who:
            t0 = time.monotonic()
            session.identity(person_of[n])
            fit_seconds.append(time.monotonic() - t0)
        judge = Judge(args.judge) if args.judge.is_file() else None
        ident, judged, seconds = identity(session, {n: queries[n] for n in who}, person_of,
                                          args.scales, args.identity_faces, judge)
        loaded = session.loaded
        report = {
            "model": {"path": str(loaded.path), "sha256": loaded.sha256, "size": loaded.size,
                      "training_steps": loaded.training.get("steps")},
            "device": str(loaded.net.device), "threads": args.threads,
            "load_avg": round(os.getloadavg()[0], 2), "quick": args.quick,
            "recognizer": backend.model_id,
            "library": {"people": len(person_of), "photos_per_person": args.library,
                        "queries_per_person": args.queries},
            "matching": match, "matching_threshold": MIN_CONFIDENCE,
            "matching_seconds": round(match_s, 1),
            "identity": ident,
            "identity_judge": judged, "judge": str(args.judge) if judge is not None else None,
            "seconds_per_face": {p: round(float(np.mean(v)), 3) if v else None
                                 for p, v in seconds.items()},
            "sampling": {"steps": args.steps, "candidates": args.candidates},
            "fit": {"steps": args.fit_steps, "people": len(fit_seconds),
                    "seconds_per_person": round(float(np.mean(fit_seconds)), 2)
                    if fit_seconds else None},
            "seconds": round(time.monotonic() - started, 1),
        }
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
