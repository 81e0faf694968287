"""Benchmark: people clustering time and peak memory on synthetic face embeddings.

Prints one JSON object. Each clustering run happens in a fresh child process that loads
the embeddings from bench/out/ (generated once, see people_synth.py: clusters with the
spread dlib / ArcFace embeddings show, long-tailed people, 15% one-off faces, 20% weak
faces), so `peak_rss_mb` is the interpreter and libraries, the input, and what clustering
adds; `rss_with_input_mb` is the first two. Runs on `--threads`
cores (faiss, BLAS). The incremental figure goes through the DB, as `idfsr index` does:
a 100k-face library is clustered once, then 1,000 new faces are assigned.

    .venv/bin/python bench/bench_people.py [--sizes 100000,1000000] [--dims 128,512]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

OUT = HERE / "out"
MODELS = {128: "dlib-resnet-v1", 512: "insightface-synthetic-arcface"}


def _rss_mb(field: str = "VmHWM") -> float:
    """This process's peak (VmHWM) or current (VmRSS) resident memory, in MiB.

    Not getrusage's ru_maxrss: Linux carries the parent's peak across fork and exec into
    it, so a child started by a parent that generated the data would report that."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make(n: int, dim: int) -> Path:
    """Generate (once) and cache a synthetic library's embeddings."""
    from people_synth import ARCFACE_LIKE, SynthSpec, synth_faces

    path = OUT / f"synth-people-{n}-{dim}"
    if not (path / "weak.npy").exists():
        path.mkdir(parents=True, exist_ok=True)
        x, labels, weak = synth_faces(n, SynthSpec() if dim == 128 else ARCFACE_LIKE, seed=n)
        # Plain .npy: loading reads straight into the array (an .npz would double the peak).
        np.save(path / "vectors.npy", x)
        np.save(path / "labels.npy", labels)
        np.save(path / "weak.npy", weak)
    return path


def load(n: int, dim: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A cached synthetic library: vectors, labels, weak mask."""
    path = make(n, dim)
    return tuple(np.load(path / f"{k}.npy") for k in ("vectors", "labels", "weak"))  # type: ignore[return-value]


def one(n: int, dim: int) -> dict[str, Any]:
    """Cluster one cached library (run in a child process)."""
    from people_metrics import bcubed

    from core.people.cluster import attach, cluster_graph
    from core.people.knn import build_search_index, knn_graph, search
    from core.people.params import params_for

    x, truth, weak = load(n, dim)
    base_rss = _rss_mb("VmRSS")
    p = params_for(MODELS[dim])
    t0 = time.perf_counter()
    strong = np.flatnonzero(~weak)
    index = build_search_index(x[strong])
    t1 = time.perf_counter()
    graph = knn_graph(x[strong], p.k, index=index)
    t2 = time.perf_counter()
    labels = np.full(n, -1, np.int64)
    labels[strong] = cluster_graph(graph, p.link_sim, p.min_size)
    t3 = time.perf_counter()
    w = np.flatnonzero(weak)
    ref_labels = labels[strong]
    got, _ = attach(search(index, x[w], p.k), ref_labels, p.attach_sim, p.attach_margin)
    labels[w] = got
    t4 = time.perf_counter()
    names = np.where(truth >= 0, truth, -(np.arange(n) + 1)).astype(str)
    b = bcubed(names, labels)
    return {
        "faces": n, "dim": dim, "model_params": MODELS[dim], "weak_faces": int(weak.sum()),
        "seconds": {"index_build": round(t1 - t0, 2), "knn_graph": round(t2 - t1, 2),
                    "cluster": round(t3 - t2, 2), "attach_weak": round(t4 - t3, 2),
                    "total": round(t4 - t0, 2)},
        "input_mb": round(x.nbytes / 2**20, 1),
        "rss_with_input_mb": round(base_rss, 1),
        "peak_rss_mb": round(_rss_mb(), 1),
        "persons": int(len(set(labels[labels >= 0].tolist()))),
        "bcubed_vs_synthetic_truth": {k: round(v, 4) for k, v in b.items()},
    }


def incremental(n: int = 100_000, new: int = 1_000, dim: int = 128) -> dict[str, Any]:
    """Cluster an n-face library through the DB, then assign `new` faces (child process)."""
    from people_db_fill import fill_library

    from core.context import AppContext
    from core.people.assign import assign_new_faces
    from core.people.recluster import recluster

    x, _, weak = load(n + new, dim)
    order = np.random.default_rng(0).permutation(len(x))  # the new faces: any people
    with tempfile.TemporaryDirectory() as home, AppContext.open(home) as app:
        fill_library(app, x[order[:n]], MODELS[dim], weak[order[:n]])
        t0 = time.perf_counter()
        full = recluster(app)
        t1 = time.perf_counter()
        fill_library(app, x[order[n:]], MODELS[dim], weak[order[n:]])
        t2 = time.perf_counter()
        inc = assign_new_faces(app)
        t3 = time.perf_counter()
    return {"library": n, "new_faces": new, "dim": dim,
            "full_recluster_with_db_s": round(t1 - t0, 2),
            "assign_new_faces_s": round(t3 - t2, 3),
            "assigned": inc.assigned, "new_persons": inc.new_persons,
            "full_persons": full.new_persons}


def _child(args: list[str], threads: int) -> dict[str, Any]:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "OPENBLAS_NUM_THREADS": str(threads),
           "MKL_NUM_THREADS": str(threads)}
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True,
                         env=env, check=True)
    return json.loads(out.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="100000,1000000")
    ap.add_argument("--dims", default="128")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-incremental", action="store_true")
    ap.add_argument("--one", nargs=2, type=int, help=argparse.SUPPRESS)
    ap.add_argument("--incremental-child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one or args.incremental_child:
        import faiss

        faiss.omp_set_num_threads(args.threads)
        result = one(*args.one) if args.one else incremental()
        print(json.dumps(result))
        return
    runs = []
    for dim in (int(d) for d in args.dims.split(",")):
        for n in (int(s) for s in args.sizes.split(",")):
            make(n, dim)  # outside the timed child
            runs.append(_child(["--one", str(n), str(dim), "--threads", str(args.threads)],
                               args.threads))
            print(json.dumps(runs[-1]), file=sys.stderr)
    report: dict[str, Any] = {"threads": args.threads, "cpu_count": os.cpu_count(),
                              "clustering": runs}
    if not args.no_incremental:
        make(101_000, 128)
        report["incremental"] = _child(["--incremental-child", "--threads", str(args.threads)],
                                       args.threads)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
