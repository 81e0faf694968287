"""Memory under load: index a large synthetic library (default 50,000 small JPEGs, one in
`--face-every` with a real face pasted in) with the full job the CLI and GUI run (photos,
faces, people), sampling the process's resident memory as it goes.

Prints one JSON object: the peak RSS, RSS samples through each stage (flat means the
job streams instead of holding the library in memory), and the timings. The library
is generated once and cached under bench/out/ (`--work` to put it elsewhere).

    nice .venv/bin/python bench/index_memory.py [--photos 50000] [--no-faces]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.context import AppContext  # noqa: E402
from core.jobs import Progress  # noqa: E402
from core.library.service import add_root  # noqa: E402
from core.tasks.indexing import index_everything  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"
DEMO = Path(__file__).resolve().parents[1] / "resources" / "demo" / "portraits"


def rss_mb() -> float:
    """Resident memory of this process now (Linux: /proc; elsewhere: the peak so far)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return peak_rss_mb()


def peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def make_library(folder: Path, count: int, face_every: int, seed: int = 3) -> int:
    """`count` 240×180 JPEGs in folders of 1000; one in `face_every` holds a demo face."""
    marker = folder / f".complete-{count}-{face_every}"
    if marker.exists():
        return sum(p.stat().st_size for p in folder.rglob("*.jpg"))
    rng = np.random.default_rng(seed)
    faces = [Image.open(p).convert("RGB") for p in sorted(DEMO.rglob("*.jpg"))]
    yy, xx = np.mgrid[0:180, 0:240].astype(np.float32)
    total = 0
    for i in range(count):
        a, b = rng.uniform(0.01, 0.08, 2)
        base = np.stack([np.sin(xx * a + i), np.cos(yy * b), np.sin((xx + yy) * a * b)], -1)
        noise = rng.normal(0, 0.25, (45, 60, 3)).repeat(4, 0).repeat(4, 1)
        img = Image.fromarray(((base + noise) * 60 + 128).clip(0, 255).astype(np.uint8))
        if face_every and i % face_every == 0:
            face = faces[(i // face_every) % len(faces)]
            img.paste(face.resize((110, round(110 * face.height / face.width))), (60, 10))
        path = folder / f"roll{i // 1000:03d}" / f"IMG_{i:06d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        img.save(path, "JPEG", quality=85)
        total += path.stat().st_size
    marker.touch()
    return total


class Sampler:
    """A progress callback recording RSS at every 2% of each stage."""

    def __init__(self) -> None:
        self.samples: list[dict[str, Any]] = []
        self._next: dict[str, int] = {}
        self.started = time.monotonic()

    def __call__(self, p: Progress) -> None:
        step = max(1, (p.total or 0) // 50)
        if p.stage not in self._next or p.done >= self._next[p.stage] or p.done == p.total:
            self._next[p.stage] = p.done + step
            self.samples.append({"stage": p.stage, "done": p.done, "total": p.total,
                                 "t_s": round(time.monotonic() - self.started, 1),
                                 "rss_mb": round(rss_mb(), 1)})


def flatness(samples: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Per stage: RSS at 10% of the way, at the end, and the growth in between."""
    out = {}
    for stage in dict.fromkeys(s["stage"] for s in samples):
        rows = [s for s in samples if s["stage"] == stage and s["total"]]
        if len(rows) < 3:
            continue
        early = next((s for s in rows if s["done"] >= 0.1 * s["total"]), rows[0])
        late = rows[-1]
        out[stage] = {"rss_at_10pct_mb": early["rss_mb"], "rss_at_end_mb": late["rss_mb"],
                      "growth_mb": round(late["rss_mb"] - early["rss_mb"], 1),
                      "max_mb": max(s["rss_mb"] for s in rows)}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--photos", type=int, default=50_000)
    ap.add_argument("--face-every", type=int, default=50,
                    help="One photo in this many holds a real face (0: none).")
    ap.add_argument("--no-faces", action="store_true", help="Photos only, no face pass.")
    ap.add_argument("--work", type=Path, default=OUT / "index-memory")
    args = ap.parse_args()

    t0 = time.monotonic()
    library = args.work / f"library-{args.photos}"
    size = make_library(library, args.photos, args.face_every)
    generate_s = time.monotonic() - t0
    home = Path(tempfile.mkdtemp(prefix="idfsr-memory-"))
    try:
        ctx = AppContext.open(home)
        add_root(ctx, library)
        sampler = Sampler()
        sampler(Progress("start", 0))
        t0 = time.monotonic()
        report = index_everything(ctx, faces=not args.no_faces, progress=sampler)
        index_s = time.monotonic() - t0
        ctx.close()
    finally:
        shutil.rmtree(home, ignore_errors=True)
    samples = sampler.samples
    print(json.dumps({
        "photos": args.photos,
        "library_mb": round(size / 2**20, 1),
        "photos_with_a_face": args.photos // args.face_every if args.face_every else 0,
        "faces_found": report.faces.faces if report.faces else None,
        "persons_assigned": report.people.assigned if report.people else None,
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "rss_before_indexing_mb": samples[0]["rss_mb"],
        "per_stage": flatness(samples),
        "generate_s": round(generate_s, 1),
        "index_s": round(index_s, 1),
        "photos_per_s": round(args.photos / index_s, 1),
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "samples": samples[:: max(1, len(samples) // 60)],
    }, indent=1))


if __name__ == "__main__":
    main()
