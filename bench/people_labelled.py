"""Labelled real faces for measuring people clustering: embeddings, identities, face sizes.

Two sets, both read from ../shared/data when it is there (nothing is copied into the repo):
- `fixtures`: the fixture identities (people/id01-id08 photos and the 55 aligned John_* chips),
- `lfw`: Labeled Faces in the Wild (train/lfw/<Name>/), up to `per_person` photos per person.
Embeddings are computed once per (set, backend) and cached under bench/out/.

LFW people of bench/idfsr_heldout.txt (the restoration bench's) are left out.

Backends: `embedded` is the product's own EmbeddedBackend (core/faces/embedded.py);
`embedded-mobileface` the same with its MobileFace recognizer; `dlib-native` is dlib's
reference pipeline (HOG detector, 5-point shape predictor, 150-px chip, ResNet
descriptor), the same 128-d model, for when the former is absent.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

OUT = ROOT / "bench" / "out"
SHARED = Path(os.environ.get("IDFSR_SHARED", ROOT.parent / "shared")) / "data"

# (embedding or None, face size in pixels, quality) for one RGB image; the third argument,
# when not None, shrinks the photo after detection until the face is that many pixels.
Embedder = Callable[
    [NDArray[np.uint8], bool, float | None], tuple[NDArray[np.float32] | None, float, float]
]


def degrade(rgb: NDArray[np.uint8], face_px: float, target_px: float) -> NDArray[np.uint8]:
    """The image as it would look with its face only `target_px` wide: down, then back up."""
    f = max(1.0, face_px / target_px)
    img = Image.fromarray(rgb)
    small = img.resize((max(1, round(img.width / f)), max(1, round(img.height / f))),
                       Image.Resampling.BOX)
    return np.asarray(small.resize(img.size, Image.Resampling.BICUBIC))


@dataclass
class LabelledSet:
    """Embeddings (N, D) of labelled faces, their identity labels, sizes and file names."""

    name: str
    model_id: str
    vectors: NDArray[np.float32]
    labels: NDArray[np.str_]
    size_px: NDArray[np.float32]
    files: NDArray[np.str_]
    skipped: int
    quality: NDArray[np.float32]  # core.faces.quality (1.0 where the pipeline has none)


def _central(boxes: list[tuple[float, float, float, float]], w: int, h: int) -> int:
    """The face nearest the image centre (LFW photos are centred on their subject)."""
    def dist(b: tuple[float, float, float, float]) -> float:
        return ((b[0] + b[2]) / 2 - w / 2) ** 2 + ((b[1] + b[3]) / 2 - h / 2) ** 2
    return min(range(len(boxes)), key=lambda i: dist(boxes[i]))


def dlib_native() -> tuple[str, Embedder]:
    """dlib's reference face-recognition pipeline."""
    import dlib
    import face_recognition_models as frm

    models = Path(frm.__file__).parent / "models"
    detector = dlib.get_frontal_face_detector()
    shape = dlib.shape_predictor(str(models / "shape_predictor_5_face_landmarks.dat"))
    rec = dlib.face_recognition_model_v1(str(models / "dlib_face_recognition_resnet_model_v1.dat"))

    def embed(
        rgb: NDArray[np.uint8], is_chip: bool, tiny: float | None
    ) -> tuple[NDArray[np.float32] | None, float]:
        if is_chip:  # already a dlib 150-px chip
            return np.asarray(rec.compute_face_descriptor(rgb), np.float32), 150.0 / 1.5, 1.0
        dets = list(detector(rgb, 1))
        if not dets:
            return None, 0.0, 0.0
        boxes = [(d.left(), d.top(), d.right(), d.bottom()) for d in dets]
        d = dets[_central(boxes, rgb.shape[1], rgb.shape[0])]
        size = float(max(d.right() - d.left(), d.bottom() - d.top()))
        points = shape(rgb, d)
        if tiny is not None:
            rgb, size = degrade(rgb, size, tiny), tiny
        chip = dlib.get_face_chip(rgb, points, size=150, padding=0.25)
        return np.asarray(rec.compute_face_descriptor(chip), np.float32), size, 1.0

    return "dlib-resnet-v1", embed


def embedded(recognizer: str = "dlib-resnet-v1") -> tuple[str, Embedder]:
    """The product's embedded backend (detector + dlib ResNet, or another recognizer)."""
    from core.faces.embedded import EmbeddedBackend
    from core.faces.quality import face_quality
    from core.faces.types import DetectedFace

    backend = EmbeddedBackend(recognizer=recognizer)

    def embed(
        rgb: NDArray[np.uint8], is_chip: bool, tiny: float | None
    ) -> tuple[NDArray[np.float32] | None, float, float]:
        if is_chip:  # tight chips: give the detector some context around the face
            rgb = np.pad(rgb, ((75, 75), (75, 75), (0, 0)), mode="edge")
        faces = backend.detect(rgb)
        if not faces:
            return None, 0.0, 0.0
        face = faces[_central([f.box for f in faces], rgb.shape[1], rgb.shape[0])]
        if tiny is not None:  # the same photo, really that small
            f = max(1.0, face.size_px / tiny)
            img = Image.fromarray(rgb)
            rgb = np.asarray(img.resize((max(1, round(img.width / f)),
                                         max(1, round(img.height / f))), Image.Resampling.BOX))
            x0, y0, x1, y1 = face.box
            face = DetectedFace((x0 / f, y0 / f, x1 / f, y1 / f), face.landmarks / f,
                                face.score, face.detector)
        vec = backend.embed(rgb, [face])[0].astype(np.float32)
        return vec, float(face.size_px), face_quality(rgb, face)

    return str(backend.model_id), embed


def _fixture_files() -> Iterator[tuple[Path, str, bool]]:
    people = SHARED / "fixtures" / "people"
    for folder in sorted(p for p in people.glob("id*") if p.is_dir()):
        for f in sorted(folder.glob("*.jpg")):
            yield f, folder.name, False
    for folder in sorted((SHARED / "fixtures" / "aligned").glob("John_*")):
        for f in sorted(folder.glob("*.jpg")):
            yield f, folder.name, True


def heldout_people() -> set[str]:
    """The restoration bench's held-out LFW people (bench/idfsr_heldout.txt)."""
    lines = (ROOT / "bench" / "idfsr_heldout.txt").read_text("utf-8").splitlines()
    return {line.strip() for line in lines if line.strip() and not line.startswith("#")}


def _lfw_files(per_person: int, every: int = 1) -> Iterator[tuple[Path, str, bool]]:
    n = 0
    skip = heldout_people()
    for folder in sorted((SHARED / "train" / "lfw").iterdir()):
        if folder.name in skip:
            continue
        for f in sorted(folder.glob("*.jpg"))[:per_person]:
            if n % every == 0:
                yield f, folder.name, False
            n += 1


def load_set(name: str, backend: str = "embedded", per_person: int = 20) -> LabelledSet:
    """A labelled set's embeddings, computed once and cached in bench/out/."""
    # "-noheldout": sets from before the held-out people were left out are not reused.
    cache = OUT / f"people-{name}-{backend}-{per_person}-noheldout.npz"
    if cache.exists():
        z = np.load(cache)
        quality = z["quality"] if "quality" in z else np.ones(len(z["labels"]), np.float32)
        return LabelledSet(name, str(z["model_id"]), z["vectors"], z["labels"], z["size_px"],
                           z["files"], int(z["skipped"]), quality)
    if not SHARED.exists():
        raise SystemExit(f"{SHARED} is not here: the labelled sets live in ../shared/data")
    model_id, embed = (embedded() if backend == "embedded"
                       else embedded("mobileface-v1") if backend == "embedded-mobileface"
                       else dlib_native())
    if name == "fixtures":
        files = list(_fixture_files())
    else:
        files = list(_lfw_files(per_person, 3 if name == "lfw-tiny" else 1))
    rng = np.random.default_rng(5)
    vecs, labels, sizes, names, quality = [], [], [], [], []
    skipped, started = 0, time.monotonic()
    for i, (path, label, is_chip) in enumerate(files):
        rgb = np.asarray(Image.open(path).convert("RGB"))
        tiny = float(rng.uniform(14, 28)) if name == "lfw-tiny" else None
        v, size, q = embed(rgb, is_chip, tiny)
        if v is None:
            skipped += 1
            continue
        vecs.append(v / np.linalg.norm(v))
        labels.append(label)
        sizes.append(size)
        quality.append(q)
        names.append(str(path.relative_to(SHARED)))
        if i % 200 == 0:
            print(f"{name}: {i}/{len(files)} in {time.monotonic() - started:.0f} s",
                  file=sys.stderr)
    OUT.mkdir(parents=True, exist_ok=True)
    out = LabelledSet(name, model_id, np.asarray(vecs, np.float32), np.asarray(labels),
                      np.asarray(sizes, np.float32), np.asarray(names), skipped,
                      np.asarray(quality, np.float32))
    np.savez(cache, model_id=model_id, vectors=out.vectors, labels=out.labels,
             size_px=out.size_px, files=out.files, skipped=skipped, quality=out.quality)
    return out


if __name__ == "__main__":
    which = sys.argv[1] if len(sys.argv) > 1 else "fixtures"
    kind = sys.argv[2] if len(sys.argv) > 2 else "embedded"
    s = load_set(which, kind)
    print(s.name, s.model_id, s.vectors.shape, len(set(s.labels.tolist())), "skipped", s.skipped)
