"""Benchmark the face pass: photos/s and faces/s on ~1 MP photos with real faces.

Builds a synthetic library from the real face photos in the repo (each photo a
1152x864 scene holding 1-4 real faces of different sizes on a textured background),
indexes it, then runs the face pass with the configured backend. Prints JSON:
throughput, detector time per photo, embedder time per face, the pipeline's
overhead over pure model time (the same detect+embed calls on the same decoded
images, same threads, without decoding, DB or thumbnails), and peak RSS.

    .venv/bin/python bench/bench_faces.py [--photos 200] [--backend embedded]
        [--recognizer dlib-resnet-v1|mobileface-v1] [--then RECOGNIZER]

--recognizer picks the embedded backend's recognizer; --then switches the indexed library
to another one afterwards, as a user changing `faces.recognizer` would, and times that
re-embedding pass (`reembed`: photos/s, faces/s, and how many face ids it kept).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.context import AppContext  # noqa: E402
from core.faces.backends import face_backend, forget_face_backend  # noqa: E402
from core.faces.scan import scan_faces  # noqa: E402
from core.faces.service import list_faces  # noqa: E402
from core.faces.types import EMBEDDED_RECOGNIZERS  # noqa: E402
from core.library.indexer import index_library  # noqa: E402
from core.library.service import add_root  # noqa: E402
from core.resources import demo_library_path  # noqa: E402

SIZE = (1152, 864)


def _sources() -> list[Image.Image]:
    """Portraits to cut faces from: the demo library's single-person photos."""
    demo = demo_library_path()
    out = []
    for path in sorted(demo.glob("portraits/*/*.jpg")):
        img = Image.open(path).convert("RGB")
        img.thumbnail((700, 700))
        out.append(img)
    if not out:
        raise SystemExit("no source photos found in the demo library")
    return out


def make_library(folder: Path, count: int, seed: int) -> None:
    """`count` JPEGs of ~1 MP, each with 1-4 portraits pasted at random sizes."""
    rng = np.random.default_rng(seed)
    sources = _sources()
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        noise = rng.integers(40, 200, (SIZE[1] // 16, SIZE[0] // 16, 3), dtype=np.uint8)
        canvas = Image.fromarray(noise).resize(SIZE, Image.Resampling.BICUBIC)
        canvas = canvas.filter(ImageFilter.GaussianBlur(3))
        slots = rng.permutation(4)[: int(rng.integers(1, 5))]
        for slot in slots:
            src = sources[int(rng.integers(len(sources)))]
            h = int(rng.integers(260, 430))
            w = int(src.width * h / src.height)
            piece = src.resize((w, h), Image.Resampling.LANCZOS)
            x = int(slot * SIZE[0] / 4 + rng.integers(0, 40))
            y = int(rng.integers(0, SIZE[1] - h))
            canvas.paste(piece.crop((0, 0, min(w, SIZE[0] // 4 + 40), h)), (x, y))
        canvas.save(folder / f"scene_{i:05d}.jpg", quality=88)


def _pure_model_time(ctx: AppContext, folder: Path, limit: int) -> tuple[float, int]:
    """Wall time of detect+embed alone over the first `limit` photos, same worker count."""
    backend = face_backend(ctx)
    images = [
        np.asarray(Image.open(p).convert("RGB")) for p in sorted(folder.glob("*.jpg"))[:limit]
    ]
    workers = ctx.settings.faces.workers or os.cpu_count() or 2

    def run(image: np.ndarray) -> int:
        faces = backend.detect(image)
        if faces:
            backend.embed(image, faces)
        return len(faces)

    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(run, images[:2]))  # warm-up: sessions and caches
        t0 = time.perf_counter()
        faces = sum(pool.map(run, images))
    return time.perf_counter() - t0, faces


def _reembed(ctx: AppContext, recognizer: str) -> dict[str, object]:
    """Switch the indexed library to another recognizer and time the pass that follows."""
    faces = list_faces(ctx)
    ids = {f.id for f in faces}
    forget_face_backend(ctx)
    ctx.settings.faces.recognizer = recognizer  # type: ignore[assignment]
    backend = face_backend(ctx)
    warm = np.asarray(Image.open(faces[0].photo_path).convert("RGB"))
    backend.embed(warm, backend.detect(warm))  # loaded before timing, as in main()
    t0 = time.perf_counter()
    report = scan_faces(ctx, backend)
    wall = time.perf_counter() - t0
    kept = ids & {f.id for f in list_faces(ctx)}
    return {"model_id": backend.model_id, "photos": report.photos, "faces": report.faces,
            "wall_s": round(wall, 2), "photos_per_s": round(report.photos / wall, 2),
            "faces_per_s": round(report.faces / wall, 2),
            "embed_ms_per_face": round(1000 * report.embed_s / max(report.faces, 1), 2),
            "face_ids_before": len(ids), "face_ids_kept": len(kept)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=200)
    parser.add_argument(
        "--backend", default="embedded", choices=["auto", "embedded", "insightface"]
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--recognizer", default="dlib-resnet-v1", choices=EMBEDDED_RECOGNIZERS)
    parser.add_argument("--then", choices=EMBEDDED_RECOGNIZERS,
                        help="afterwards, re-embed the library with this recognizer")
    parser.add_argument(
        "--pure-sample", type=int, default=60, help="photos used to measure pure model time"
    )
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="idfsr-bench-faces-") as tmp:
        tmp_path = Path(tmp)
        t0 = time.perf_counter()
        make_library(tmp_path / "photos", args.photos, args.seed)
        build_s = time.perf_counter() - t0
        ctx = AppContext.open(tmp_path / "home")
        ctx.settings = ctx.settings.model_copy(update={"face_backend": args.backend})
        ctx.settings.faces.recognizer = args.recognizer
        reembed: dict[str, object] | None = None
        try:
            add_root(ctx, tmp_path / "photos")
            index_library(ctx)
            backend = face_backend(ctx)
            # Load the models before timing, as a running app would have them.
            warm = np.asarray(Image.open(next((tmp_path / "photos").glob("*.jpg"))).convert("RGB"))
            backend.embed(warm, backend.detect(warm))
            t0 = time.perf_counter()
            report = scan_faces(ctx, backend)
            wall = time.perf_counter() - t0
            sample = min(args.pure_sample, args.photos)
            pure_s, pure_faces = _pure_model_time(ctx, tmp_path / "photos", sample)
            if args.then:
                reembed = _reembed(ctx, args.then)
        finally:
            ctx.close()

    pipeline_per_photo = wall / max(report.photos, 1)
    pure_per_photo = pure_s / max(sample, 1)
    result = {
        "bench": "faces",
        "backend": backend.name,
        "model_id": backend.model_id,
        "photos": report.photos,
        "faces": report.faces,
        "photo_size": list(SIZE),
        "cpu_cores": os.cpu_count(),
        "library_build_s": round(build_s, 1),
        "wall_s": round(wall, 2),
        "photos_per_s": round(report.photos / wall, 2),
        "faces_per_s": round(report.faces / wall, 2),
        "detect_ms_per_photo": round(1000 * report.detect_s / max(report.photos, 1), 1),
        "embed_ms_per_face": round(1000 * report.embed_s / max(report.faces, 1), 1),
        "decode_ms_per_photo": round(1000 * report.decode_s / max(report.photos, 1), 1),
        "pure_model_s_per_photo": round(pure_per_photo, 4),
        "pipeline_s_per_photo": round(pipeline_per_photo, 4),
        "pipeline_overhead_pct": round(100 * (pipeline_per_photo / pure_per_photo - 1), 1),
        "pure_sample_faces": pure_faces,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "errors": report.errors,
        "reembed": reembed,
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
