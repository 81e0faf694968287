"""Collect a person's aligned faces for fitting: from photos (detected) or from aligned crops.

This stands in for the people DB until it exists: the GUI will hand fit_identity the
crops, landmarks and embeddings of a person's best library faces directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from core.errors import IdfsrError, ImageReadError
from core.faces.align import canonical_template
from core.faces.types import DetectedFace, FaceBackend
from core.faces.usable import CropRules, check_face, sharpness
from core.idfsr.examples import unit
from core.idfsr.prepare import main_face
from core.jobs import CancelToken, Progress, ProgressCallback, no_progress
from core.library.imageio import load_image, suffix_supported


@dataclass(frozen=True)
class PersonFaces:
    """A person's aligned faces at one size, best first, with their embeddings."""

    faces: NDArray[np.uint8]  # (N, S, S, 3)
    landmarks: NDArray[np.float64]  # (N, 5, 2) crop pixels
    embeddings: NDArray[np.float32]  # (N, D)
    sources: list[str]

    def mean_embedding(self) -> NDArray[np.float32]:
        """The unit mean embedding: where fitting starts."""
        return unit(self.embeddings.mean(axis=0))


def _images(folder: Path) -> list[Path]:
    files = sorted(p for p in Path(folder).rglob("*") if p.is_file() and suffix_supported(p.name))
    if not files:
        raise IdfsrError(f"no images in {folder}")
    return files


def faces_from_photos(folder: Path, backend: FaceBackend, size: int, max_faces: int = 24, *,
                      progress: ProgressCallback = no_progress,
                      cancel: CancelToken | None = None) -> PersonFaces:
    """The main face of each photo in `folder` that passes the dataset filters, best first."""
    rules = CropRules(size=size)
    found: list[tuple[float, NDArray[np.uint8], NDArray[np.float64], NDArray[np.float32], str]] = []
    files = _images(folder)
    for n, path in enumerate(files):
        if cancel is not None:
            cancel.raise_if_cancelled()
        progress(Progress("faces", n, len(files), path.name))
        try:
            image = np.asarray(load_image(path).convert("RGB"))
        except ImageReadError:
            continue
        for face in main_face(backend.detect(image), image.shape):
            reason, item, crop, lms = check_face(face, image, rules)
            if reason:
                continue
            emb = backend.embed(image, [face])[0]
            quality = item["face_px"] * face.score * (1.0 + item["sharpness"])
            found.append((quality, crop, lms, emb, str(path)))
    if not found:
        raise IdfsrError(f"no usable face (at least {size // 2} px, near frontal) in {folder}")
    found.sort(key=lambda f: -f[0])
    best = found[:max_faces]
    return PersonFaces(np.stack([f[1] for f in best]), np.stack([f[2] for f in best]),
                       np.stack([f[3] for f in best]).astype(np.float32), [f[4] for f in best])


def faces_from_crops(folder: Path, backend: FaceBackend | None, size: int,
                     max_faces: int = 24) -> PersonFaces:
    """Crops already aligned on the canonical template (any size), resized to S."""
    template = canonical_template(size)
    crops, embs, sources = [], [], []
    for path in _images(folder)[:max_faces]:
        img = np.asarray(load_image(path).convert("RGB"))
        crop = np.asarray(cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA
                                     if img.shape[0] > size else cv2.INTER_CUBIC), np.uint8)
        crops.append(crop)
        sources.append(str(path))
        if backend is not None:
            # Recognizers want more pixels than a small crop has: embed a 4x enlargement.
            big = np.asarray(cv2.resize(img, (4 * size, 4 * size),
                                        interpolation=cv2.INTER_CUBIC), np.uint8)
            lms = canonical_template(4 * size)
            face = DetectedFace((0.0, 0.0, 4.0 * size, 4.0 * size), lms, 1.0, "crop")
            embs.append(backend.embed(big, [face])[0])
    faces = np.stack(crops)
    order = np.argsort([-sharpness(c) for c in crops], kind="stable")
    emb = (np.stack(embs).astype(np.float32) if embs
           else np.zeros((len(crops), 0), np.float32))
    return PersonFaces(faces[order], np.repeat(template[None], len(crops), 0),
                       emb[order], [sources[i] for i in order])

