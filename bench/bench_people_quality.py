"""People clustering quality on labelled real faces: ours against DBSCAN baselines.

Prints JSON: per labelled set, BCubed and pairwise precision / recall / F1 for
- `ours`: core.people (confident kNN graph + Chinese whispers + guarded attachment),
- `dbscan_immich`: DBSCAN with Immich's parameters (max cosine distance 0.5, min 3 faces),
- `dbscan_best`: DBSCAN with the eps that gives the best BCubed F1 on the tuning half, min 3,
- `dbscan_tuned`: DBSCAN with the same link threshold as ours (eps = 1 - link_sim), min 3,
- `components`: connected components over the same threshold (shows what chaining costs).
LFW is split by person into a tuning half and a held-out half (names alternate in sorted
order); thresholds were chosen on the tuning half, the held-out half reports them.
`+tiny` sets add degraded copies (faces 14-28 px) of a third of the faces, with their
true labels: they must not chain people together.

    .venv/bin/python bench/bench_people_quality.py [--backend embedded|embedded-mobileface|
        dlib-native] [--per-person 20] [--sweep LO HI STEP]

--sweep tries link thresholds from LO to HI on the tuning half (with its tiny faces), each
with the attach threshold equal to it and one step above, and prints BCubed precision and
recall for each: the product's link is the loosest with precision >= 0.97.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from people_labelled import LabelledSet, load_set  # noqa: E402
from people_metrics import bcubed, connected, dbscan_cosine, pairwise  # noqa: E402

from core.people.cluster import attach, cluster_graph  # noqa: E402
from core.people.knn import build_search_index, knn_graph, search  # noqa: E402
from core.people.params import ClusterParams, params_for  # noqa: E402
from core.people.recluster import strong_mask  # noqa: E402


def ours(vectors: NDArray[np.float32], size_px: NDArray[np.float32],
         quality: NDArray[np.float32], p: ClusterParams) -> NDArray[np.int64]:
    """The product's clustering of one model's faces (strong faces cluster, weak attach)."""
    strong = strong_mask(size_px, quality, p)
    labels = np.full(len(vectors), -1, np.int64)
    s_idx = np.flatnonzero(strong)
    labels[s_idx] = cluster_graph(knn_graph(vectors[s_idx], p.k), p.link_sim, p.min_size)
    w_idx = np.flatnonzero(~strong)
    if len(w_idx) and (labels >= 0).any():
        ref = np.flatnonzero(labels >= 0)
        found = search(build_search_index(vectors[ref]), vectors[w_idx], p.k)
        got, _ = attach(found, labels[ref], p.attach_sim, p.attach_margin)
        labels[w_idx] = got
    return labels


def _scores(truth: NDArray[np.str_], pred: NDArray[np.int64]) -> dict[str, Any]:
    b, pw = bcubed(truth, pred), pairwise(truth, pred)
    return {
        "bcubed": {k: round(v, 4) for k, v in b.items()},
        "pairwise": {k: round(v, 4) for k, v in pw.items()},
        "clusters": int(len(set(pred[pred >= 0].tolist()))),
        "unassigned": round(float((pred < 0).mean()), 4),
    }


def best_eps(s: LabelledSet) -> float:
    """The DBSCAN radius with the best BCubed F1 on a (tuning) set."""
    grid = [round(0.03 + 0.005 * i, 3) for i in range(15)]
    return max(grid, key=lambda e: bcubed(s.labels, dbscan_cosine(s.vectors, e, 3))["f1"])


def evaluate(s: LabelledSet, p: ClusterParams, eps: float) -> dict[str, Any]:
    """Every method on one labelled set."""
    v, truth = s.vectors, s.labels
    return {
        "faces": len(v),
        "people": len(set(truth.tolist())),
        "weak_faces": int((~strong_mask(s.size_px, s.quality, p)).sum()),
        "ours": _scores(truth, ours(v, s.size_px, s.quality, p)),
        "dbscan_immich": _scores(truth, dbscan_cosine(v, 0.5, 3)),
        "dbscan_best": _scores(truth, dbscan_cosine(v, eps, 3)),
        "dbscan_tuned": _scores(truth, dbscan_cosine(v, 1.0 - p.link_sim, 3)),
        "components": _scores(truth, connected(v, p.link_sim, p.min_size)),
    }


def subset(s: LabelledSet, keep: NDArray[np.bool_], name: str) -> LabelledSet:
    """Some of a set's faces."""
    return LabelledSet(name, s.model_id, s.vectors[keep], s.labels[keep], s.size_px[keep],
                       s.files[keep], s.skipped, s.quality[keep])


def join(a: LabelledSet, b: LabelledSet, name: str) -> LabelledSet:
    """Two sets of the same model as one."""
    return LabelledSet(name, a.model_id, np.concatenate([a.vectors, b.vectors]),
                       np.concatenate([a.labels, b.labels]),
                       np.concatenate([a.size_px, b.size_px]),
                       np.concatenate([a.files, b.files]), a.skipped + b.skipped,
                       np.concatenate([a.quality, b.quality]))


def sweep(s: LabelledSet, p: ClusterParams, lo: float, hi: float, step: float
          ) -> list[dict[str, float]]:
    """BCubed precision / recall of ours over a grid of link (and attach) thresholds."""
    rows = []
    for link in np.arange(lo, hi + step / 2, step):
        for attach_sim in (link, link + step):
            q = replace(p, link_sim=float(link), attach_sim=float(attach_sim))
            b = bcubed(s.labels, ours(s.vectors, s.size_px, s.quality, q))
            rows.append({"link": round(float(link), 4), "attach": round(float(attach_sim), 4),
                         **{k: round(v, 4) for k, v in b.items()}})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", default="embedded",
                    choices=["embedded", "embedded-mobileface", "dlib-native"])
    ap.add_argument("--per-person", type=int, default=20)
    ap.add_argument("--sweep", type=float, nargs=3, metavar=("LO", "HI", "STEP"))
    args = ap.parse_args()
    fixtures = load_set("fixtures", args.backend)
    lfw = load_set("lfw", args.backend, args.per_person)
    p = params_for(lfw.model_id)
    names = sorted(set(lfw.labels.tolist()))
    held_out = np.isin(lfw.labels, names[1::2])
    sets = [fixtures, subset(lfw, ~held_out, "lfw-tune"), subset(lfw, held_out, "lfw-held-out"),
            lfw]
    tiny = load_set("lfw-tiny", args.backend, args.per_person)
    if len(tiny.labels):
        tiny_held = np.isin(tiny.labels, names[1::2])
        sets.append(join(subset(lfw, held_out, ""), subset(tiny, tiny_held, ""),
                         "lfw-held-out+tiny"))
        sets.append(join(lfw, tiny, "lfw+tiny"))
    if args.sweep:
        tune = subset(lfw, ~held_out, "lfw-tune")
        if len(tiny.labels):
            tune = join(tune, subset(tiny, ~np.isin(tiny.labels, names[1::2]), ""), "tune+tiny")
        print(json.dumps(sweep(tune, p, *args.sweep), indent=1))
        return
    eps = best_eps(sets[1])
    out = {
        "model_id": lfw.model_id,
        "backend": args.backend,
        "params": p.__dict__,
        "dbscan_best_eps": eps,
        "sets": {s.name: evaluate(s, p, eps) for s in sets},
    }
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
