"""`idfsr data prepare`: turn any folder of photos into a training dataset of aligned faces.

Each photo is loaded upright, its faces detected by a FaceBackend, filtered (detector
score, size of the face in the photo >= S * min_face_ratio, pose, coverage of the crop
by the photo, sharpness), aligned onto the canonical template at S, and embedded by
the backend's recognizer (so training needs no recognizer). Identity labels come from
a `manifest.csv` (file,identity columns) when the folder has one, else from folder
names; unlabelled folders give unlabelled faces.
"""

from __future__ import annotations

import csv
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from core.errors import IdfsrError, ImageReadError
from core.faces.types import DetectedFace, FaceBackend
from core.faces.usable import CropRules, check_face
from core.idfsr.dataset import DatasetWriter, Recognizer
from core.jobs import CancelToken, Progress, ProgressCallback, no_progress
from core.library.imageio import load_image
from core.library.walk import FoundFile, walk_images

LabelMode = Literal["auto", "manifest", "folders", "none"]


@dataclass(frozen=True)
class PrepareOptions:
    """Filters and labelling for data preparation."""

    size: int = 64
    labels: LabelMode = "auto"
    min_score: float = 0.5
    min_face_ratio: float = 0.5  # the face's own resolution must be >= ratio * S
    max_yaw: float = 0.6
    min_coverage: float = 0.4  # see core.faces.usable.CropRules
    min_sharpness: float = 0.0
    max_faces_per_photo: int = 4  # unlabelled photos; labelled ones give their main face
    licence: str = ""
    limit: int | None = None  # stop after this many faces (smoke tests)
    exclude: frozenset[str] = frozenset()  # identities kept out (held out for evaluation)
    shard: tuple[int, int] = (0, 1)  # (k, n): only every n-th photo from the k-th
    embed: bool = True  # False: no recognizer embeddings (zeros; `idfsr data embed` adds them)

    def crop_rules(self) -> CropRules:
        """The filters a face must pass to be cut out."""
        return CropRules(self.size, self.min_score, self.min_face_ratio, self.max_yaw,
                         self.min_coverage, self.min_sharpness)


@dataclass
class PrepareReport:
    """What prepare did."""

    photos: int = 0
    faces: int = 0
    identities: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    index: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary."""
        return {"photos": self.photos, "faces": self.faces, "identities": self.identities,
                "rejected": dict(self.rejected), "seconds": round(self.seconds, 1),
                "index": self.index}


def read_labels(src: Path, mode: LabelMode, files: list[Path]) -> dict[Path, str | None]:
    """The identity label of every file (None: unlabelled)."""
    manifest = src / "manifest.csv"
    if mode == "manifest" or (mode == "auto" and manifest.is_file()):
        if not manifest.is_file():
            raise IdfsrError(f"no manifest.csv in {src}")
        with manifest.open(newline="", encoding="utf-8") as fh:
            rows = {(src / r["file"]).resolve(): (r.get("identity") or None)
                    for r in csv.DictReader(fh)}
        return {f: rows.get(f.resolve()) for f in files}
    if mode in ("folders", "auto"):
        return {f: (f.parent.name if f.parent.resolve() != src.resolve() else None)
                for f in files}
    return dict.fromkeys(files)


def main_face(faces: list[DetectedFace], shape: tuple[int, ...]) -> list[DetectedFace]:
    """The photo's main face (big, near the middle: the labelled person), as a 0/1-list."""
    h, w = shape[:2]

    def prominence(f: DetectedFace) -> float:
        cx, cy = (f.box[0] + f.box[2]) / 2, (f.box[1] + f.box[3]) / 2
        off = np.hypot((cx - w / 2) / w, (cy - h / 2) / h)
        return f.size_px * (1.0 - off)

    return [max(faces, key=prominence)] if faces else []


def prepare_dataset(
    src: Path,
    dst: Path,
    backend: FaceBackend,
    options: PrepareOptions = PrepareOptions(),
    *,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> PrepareReport:
    """Detect, filter, align and embed the faces of every photo under `src` into `dst`."""
    started = time.monotonic()
    src, size = Path(src), options.size
    files = [Path(f.path) for f in walk_images(str(src)) if isinstance(f, FoundFile)]
    k, n_shards = options.shard
    if not 0 <= k < n_shards:
        raise IdfsrError(f"shard {k}/{n_shards}: need 0 <= k < n")
    files = files[k::n_shards]
    labels = read_labels(src, options.labels, files)
    if options.exclude:
        files = [f for f in files if labels.get(f) not in options.exclude]
    recognizer = (Recognizer(backend.name, backend.model_id, backend.embedding_dim)
                  if options.embed else Recognizer("none", "none", 1))
    writer = DatasetWriter(dst, size, recognizer,
                           {"source": str(src.resolve()), "licence": options.licence,
                            "options": {k: sorted(v) if isinstance(v, frozenset) else v
                                        for k, v in options.__dict__.items()}})
    report = PrepareReport()
    for n, path in enumerate(files):
        if cancel is not None:
            cancel.raise_if_cancelled()
        if options.limit is not None and report.faces >= options.limit:
            break
        progress(Progress("prepare", n, len(files), f"{report.faces} faces"))
        report.photos += 1
        try:
            image = np.asarray(load_image(path).convert("RGB"))
        except ImageReadError:
            report.rejected["unreadable"] += 1
            continue
        label = labels.get(path)
        found = backend.detect(image)
        candidates = main_face(found, image.shape) if label else found
        kept: list[tuple[DetectedFace, dict[str, Any], NDArray[np.uint8], NDArray[Any]]] = []
        for face in candidates[: options.max_faces_per_photo]:
            reason, item, crop, crop_lms = check_face(face, image, options.crop_rules())
            if reason:
                report.rejected[reason] += 1
                continue
            item.update(source=str(path.relative_to(src)), identity=label)
            kept.append((face, item, crop, crop_lms))
        if not found:
            report.rejected["no_face"] += 1
        if not kept:
            continue
        embeddings = (backend.embed(image, [k[0] for k in kept]) if options.embed
                      else np.zeros((len(kept), 1), np.float32))
        for (_, item, crop, crop_lms), emb in zip(kept, embeddings, strict=True):
            writer.add(crop, crop_lms, emb, item)
            report.faces += 1
    report.identities = len({i["identity"] for i in writer.items if i.get("identity")})
    report.seconds = time.monotonic() - started
    report.index = str(writer.close({"rejected": dict(report.rejected)}))
    progress(Progress("prepare", len(files), len(files), f"{report.faces} faces"))
    return report
