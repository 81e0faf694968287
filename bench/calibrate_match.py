"""Fit the match confidence of core/restore/matching.py on labelled faces, and check it.

Queries are LFW faces made 14-28 px (bench/people_labelled.py "lfw-tiny") and full-size
ones; each is matched against a library of 20 persons built from the other photos of
LFW people (the query's own photo never counts). In 60% of the queries the query's
person is in the library, in the rest not, so the confidence also learns to say
"nobody". People of bench/idfsr_heldout.txt are left out: the restoration bench measures
on them. Prints the fitted weights (to paste into CALIBRATIONS) and a reliability table
as JSON.

    .venv/bin/python bench/calibrate_match.py [--backend embedded|embedded-mobileface]
        [--library 20] [--per-person 20] [--base B]

--base defaults to the median top score of queries whose person is not in the library
(the typical best impostor; 0.90 for dlib).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from people_labelled import load_set  # noqa: E402

from core.restore.matching import TOP, Calibration, person_scores  # noqa: E402


def heldout(path: Path) -> set[str]:
    """Names listed in a held-out file (comments and blank lines skipped)."""
    return {line.strip() for line in path.read_text().splitlines()
            if line.strip() and not line.startswith("#")}


def features(rows: NDArray[np.float64], base: float) -> NDArray[np.float64]:
    """The calibration's design matrix for (score, runner-up, size) rows."""
    s, r, px = rows.T
    lp = np.log(np.maximum(px, 4.0))
    return np.stack([np.ones_like(s), s, s - np.maximum(r, base), lp, s * lp], 1)


def fit_logistic(x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.float64]:
    """Maximum-likelihood logistic regression by Newton's method (a tiny ridge for safety)."""
    w = np.zeros(x.shape[1])
    for _ in range(100):
        p = 1 / (1 + np.exp(-x @ w))
        grad = x.T @ (y - p)
        hess = (x * (p * (1 - p))[:, None]).T @ x + 1e-6 * np.eye(len(w))
        step = np.linalg.solve(hess, grad)
        w += step
        if np.abs(step).max() < 1e-8:
            break
    return w


def queries(library_size: int, seed: int, backend: str, skip: set[str], per_person: int = 20
            ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_]]:
    """(score, runner-up, size) of each query's top person, whether it was right, and
    whether the query's person was in the library."""
    tiny = load_set("lfw-tiny", backend, per_person)
    full = load_set("lfw", backend, per_person)
    rng = np.random.default_rng(seed)
    people = sorted(set(full.labels.tolist()) - skip)
    pick = rng.choice(len(full.labels), 800, replace=False)
    qs = [(tiny.vectors[i], tiny.labels[i], tiny.files[i], tiny.size_px[i])
          for i in range(len(tiny.labels))]
    qs += [(full.vectors[i], full.labels[i], full.files[i], full.size_px[i]) for i in pick]
    rows, ok, within = [], [], []
    for vec, label, file, size in qs:
        if label in skip:
            continue
        inside = rng.random() < 0.6
        others = [p for p in rng.choice(people, 2 * library_size, replace=False) if p != label]
        members = ([label] if inside else []) + others[: library_size - int(inside)]
        mask = np.isin(full.labels, members) & (full.files != file)
        owners = np.searchsorted(np.array(sorted(members)), full.labels[mask])
        scores = person_scores(vec @ full.vectors[mask].T, owners.astype(np.int64), TOP)
        order = sorted(scores.items(), key=lambda kv: -kv[1])
        names = sorted(members)
        rows.append((order[0][1], order[1][1] if len(order) > 1 else -1.0, float(size)))
        ok.append(inside and names[order[0][0]] == label)
        within.append(inside)
    return np.array(rows), np.array(ok, float), np.array(within, bool)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", default="embedded")
    parser.add_argument("--library", type=int, default=20)
    parser.add_argument("--base", type=float, default=None,
                        help="Runner-up floor (the typical best impostor score).")
    parser.add_argument("--per-person", type=int, default=20)
    parser.add_argument("--threshold", type=float, default=0.7,
                        help="Confidence from which a face is assigned (the product's default).")
    parser.add_argument("--heldout", type=Path, default=ROOT / "bench" / "idfsr_heldout.txt")
    args = parser.parse_args()
    rows, y, inside = queries(args.library, 0, args.backend, heldout(args.heldout),
                              args.per_person)
    if args.base is None:
        args.base = round(float(np.median(rows[~inside, 0])), 2)
    w = fit_logistic(features(rows, args.base), y)
    cal = Calibration(tuple(round(float(v), 2) for v in w), args.base, "fit")  # type: ignore[arg-type]
    # Check on fresh queries (another seed: other libraries, other impostors).
    rows2, y2, _ = queries(args.library, 1, args.backend, heldout(args.heldout), args.per_person)
    p = np.array([cal.confidence(s, r, px) for s, r, px in rows2])
    bins = []
    for lo in np.arange(0.0, 1.0, 0.1):
        k = (p >= lo) & (p < lo + 0.1 + (1e-9 if lo >= 0.9 else 0))
        if k.any():
            bins.append({"from": round(lo, 1), "n": int(k.sum()),
                         "predicted": round(float(p[k].mean()), 3),
                         "observed": round(float(y2[k].mean()), 3)})
    sizes = rows2[:, 2]
    by_size = []
    for lo, hi in ((14, 20), (20, 29), (29, 1000)):
        k = (sizes >= lo) & (sizes < hi)
        took = k & (p >= args.threshold)
        by_size.append({"px": [lo, hi], "queries": int(k.sum()),
                        "assigned": round(float(took.sum() / max(k.sum(), 1)), 3),
                        "precision": round(float(y2[took].mean()), 3) if took.any() else None})
    print(json.dumps({"weights": list(cal.weights), "base": args.base,
                      "log_loss": round(float(-np.mean(y2 * np.log(p + 1e-9)
                                                       + (1 - y2) * np.log(1 - p + 1e-9))), 4),
                      "reliability": bins, "threshold": args.threshold,
                      "assigned_by_size": by_size}, indent=1))


if __name__ == "__main__":
    main()
