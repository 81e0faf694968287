"""Evaluate the embedded face backend on the shared fixtures; prints JSON.

Figures: detector time per ~1 MP photo, embedding time per face, photos/s and
faces/s of detect+embed with 2 threads, recall on faces shrunk to 8-24 px, the
identity margin, leave-one-out top-1 identification, and a recommended cosine
verification threshold with its FAR/FRR.

    .venv/bin/python bench/eval_embedded.py [--fixtures ../shared/data/fixtures] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.faces.detections import iou_matrix  # noqa: E402
from core.faces.embedded import EmbeddedBackend  # noqa: E402


def _rgb(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def _one_megapixel(image: np.ndarray) -> np.ndarray:
    scale = float(np.sqrt(1.0e6 / (image.shape[0] * image.shape[1])))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    return np.asarray(cv2.resize(image, None, fx=scale, fy=scale, interpolation=interp))


def speed(backend: EmbeddedBackend, photos: list[np.ndarray]) -> dict[str, float]:
    """Timings on ~1 MP photos: detection alone, embedding alone, and both on 2 threads."""
    images = [_one_megapixel(p) for p in photos]
    backend.detect(images[0])
    t0, c0 = time.perf_counter(), time.process_time()
    found = [backend.detect(im) for im in images]
    detect_s = (time.perf_counter() - t0) / len(images)
    detect_cpu = (time.process_time() - c0) / len(images)
    t0, c0 = time.perf_counter(), time.process_time()
    n_faces = sum(len(backend.embed(im, f)) for im, f in zip(images, found, strict=True))
    embed_s = (time.perf_counter() - t0) / max(1, n_faces)
    embed_cpu = (time.process_time() - c0) / max(1, n_faces)

    def run(image: np.ndarray) -> int:
        faces = backend.detect(image)
        return len(backend.embed(image, faces)) if faces else 0

    with ThreadPoolExecutor(2) as pool:
        t0, c0 = time.perf_counter(), time.process_time()
        faces = sum(pool.map(run, images))
        wall = time.perf_counter() - t0
        cores_used = (time.process_time() - c0) / wall
    return {
        "photos": len(images),
        "detect_ms_per_1mp_photo": round(1000 * detect_s, 1),
        "detect_cpu_ms_per_1mp_photo": round(1000 * detect_cpu, 1),
        "embed_ms_per_face": round(1000 * embed_s, 1),
        "embed_cpu_ms_per_face": round(1000 * embed_cpu, 1),
        "faces_per_photo": round(n_faces / len(images), 2),
        "two_threads_photos_per_s": round(len(images) / wall, 2),
        "two_threads_faces_per_s": round(faces / wall, 2),
        "two_threads_cores_used": round(cores_used, 2),
        "load_average_1min": round(os.getloadavg()[0], 2),
    }


def shrunk_recall(
    backend: EmbeddedBackend, photos: list[tuple[np.ndarray, bool]], sizes: list[int]
) -> dict[str, float]:
    """Recall on photos shrunk so that each reference face becomes S px (one shrink per face)."""
    refs = []
    for image, single in photos:
        dets = backend.detect_passes(image)
        dets = dets.take(dets.scores >= 0.9)
        if single and len(dets):
            dets = dets.take(np.argsort(-dets.sizes)[:1])
        refs += [(image, dets.boxes[i]) for i in range(len(dets))]
    out: dict[str, float] = {"faces": len(refs)}
    for size in sizes:
        hits = 0
        for image, box in refs:
            scale = size / max(box[2] - box[0], box[3] - box[1])
            small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            fac = np.array([small.shape[1] / image.shape[1], small.shape[0] / image.shape[0]])
            truth = ((box.reshape(2, 2) + 0.5) * fac - 0.5).reshape(1, 4)
            found = backend.detect_passes(small)
            hits += bool(len(found) and iou_matrix(truth, found.boxes).max() > 0.3)
        out[f"recall_{size}px"] = round(hits / len(refs), 3)
    return out


def crowd_recall(
    backend: EmbeddedBackend, groups: list[np.ndarray], sizes: list[int]
) -> dict[str, float]:
    """Group photos shrunk so their median face is S px, on a ~1 MP canvas (old group prints)."""
    rng = np.random.default_rng(0)
    out: dict[str, float] = {}
    for size in sizes:
        hits = total = 0
        seconds = 0.0
        for image in groups:
            dets = backend.detect_passes(image)
            dets = dets.take(dets.scores >= 0.9)
            scale = size / float(np.median(dets.sizes))
            small = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
            noise = rng.integers(60, 200, (54, 72, 3), dtype=np.uint8)
            canvas = cv2.GaussianBlur(cv2.resize(noise, (1152, 864)), (0, 0), 3)
            y0, x0 = (864 - small.shape[0]) // 2, (1152 - small.shape[1]) // 2
            canvas[y0 : y0 + small.shape[0], x0 : x0 + small.shape[1]] = small
            fac = np.array([small.shape[1] / image.shape[1], small.shape[0] / image.shape[0]])
            truth = ((dets.boxes.reshape(-1, 2, 2) + 0.5) * fac - 0.5).reshape(-1, 4)
            truth += np.array([x0, y0, x0, y0])
            t0 = time.perf_counter()
            found = backend.detect_passes(canvas)
            seconds += time.perf_counter() - t0
            total += len(truth)
            if len(found):
                hits += int((iou_matrix(truth, found.boxes).max(axis=1) > 0.3).sum())
        out[f"recall_{size}px"] = round(hits / total, 3)
        out[f"ms_per_photo_{size}px"] = round(1000 * seconds / len(groups), 1)
    out["faces"] = total
    return out


def identities(backend: EmbeddedBackend, root: Path) -> tuple[np.ndarray, list[str]]:
    """One embedding per labelled fixture photo (its largest face)."""
    vectors, labels = [], []
    for path in sorted(root.glob("people/*/*.jpg")) + sorted(root.glob("aligned/*/*.jpg")):
        image = _rgb(path)
        if "aligned" in path.parts:  # 150 px chips: give the detector some context
            image = np.pad(image, ((75, 75), (75, 75), (0, 0)), mode="edge")
        faces = backend.detect(image)
        if not faces:
            print(f"no face in {path}", file=sys.stderr)
            continue
        face = max(faces, key=lambda f: f.size_px)
        vectors.append(backend.embed(image, [face])[0])
        labels.append(path.parent.name)
    return np.stack(vectors), labels


def identity_figures(vectors: np.ndarray, labels: list[str]) -> dict[str, object]:
    """Margin, leave-one-out top-1 accuracy, and the best verification threshold."""
    lab = np.array(labels)
    sim = vectors @ vectors.T
    same = lab[:, None] == lab[None, :]
    off_diag = ~np.eye(len(lab), dtype=bool)
    margins = {}
    for name in sorted(set(labels)):
        rows = lab == name
        if rows.sum() < 2:
            continue
        intra = sim[np.ix_(rows, rows)][~np.eye(int(rows.sum()), dtype=bool)].min()
        inter = sim[np.ix_(rows, ~rows)].max()
        margins[name] = round(float(intra - inter), 3)
    queries = [i for i in range(len(lab)) if (same[i] & off_diag[i]).any()]
    masked = np.where(off_diag, sim, -np.inf)
    top1 = float(np.mean([lab[int(np.argmax(masked[i]))] == lab[i] for i in queries]))
    pair = np.triu(off_diag, 1)
    genuine, impostor = sim[pair & same], sim[pair & ~same]
    best = min(
        (float(np.mean(genuine < t)) + float(np.mean(impostor >= t)), float(t))
        for t in np.arange(0.60, 0.99, 0.005)
    )
    thr = round(best[1], 3)
    table = {
        f"{t:.2f}": {"far": round(float(np.mean(impostor >= t)), 4),
                     "frr": round(float(np.mean(genuine < t)), 4)}
        for t in (0.82, 0.85, 0.88, 0.9, 0.92, 0.94)
    }
    return {
        "photos": len(lab),
        "identities": len(set(labels)),
        "margin_min": min(margins.values()),
        "margins": margins,
        "top1_loo": round(top1, 4),
        "queries": len(queries),
        "threshold_cosine": thr,
        "far": round(float(np.mean(impostor >= thr)), 4),
        "frr": round(float(np.mean(genuine < thr)), 4),
        "genuine_pairs": int(genuine.size),
        "impostor_pairs": int(impostor.size),
        "far_frr_at": table,
        "impostor_cosine_max": round(float(impostor.max()), 4),
        "genuine_cosine_min": round(float(genuine.min()), 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixtures", type=Path, default=Path("../shared/data/fixtures"))
    parser.add_argument("--quick", action="store_true", help="speed and 16 px recall only")
    args = parser.parse_args()
    root = args.fixtures
    backend = EmbeddedBackend()
    people = [_rgb(p) for p in sorted(root.glob("people/*/*.jpg"))]
    groups = [_rgb(p) for p in sorted(root.glob("groups/*.jpg"))]
    report: dict[str, object] = {"speed": speed(backend, people + groups)}
    sizes = [16] if args.quick else [8, 10, 12, 16, 20, 24]
    photos = [(g, False) for g in groups] + [(p, True) for p in people]
    report["recall"] = shrunk_recall(backend, photos, sizes)
    if not args.quick:
        report["crowd_on_1mp"] = crowd_recall(backend, groups, [8, 12, 16])
        report["identity"] = identity_figures(*identities(backend, root))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
