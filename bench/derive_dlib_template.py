"""Derive DLIB_CHIP_TEMPLATE: where our five RetinaFace landmarks land in dlib's 150 px face chip.

dlib's recognizer expects the chip that its own pipeline cuts (HOG detector, the
5-point shape predictor, get_face_chip_details with padding 0.25). Its five points
(eye corners, nose base) are not ours, so the chip's geometry is found empirically:
for every fixture face found by both pipelines, dlib's chip transform is recovered
exactly (by extracting chips of coordinate images), our landmarks are mapped into
the chip, and the positions are averaged. Then the script checks that embeddings of
our own crop match dlib's own-pipeline embeddings (cosine), and prints both.

    .venv/bin/python bench/derive_dlib_template.py [--fixtures ../shared/data/fixtures]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import dlib
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.faces import align  # noqa: E402
from core.faces.detections import iou_matrix  # noqa: E402
from core.faces.dlib_embedder import DlibRecognizer  # noqa: E402
from core.faces.retinaface import RetinaFaceModel, detect  # noqa: E402

CHIP = 150
PADDING = 0.25


def _photos(root: Path) -> list[np.ndarray]:
    """Fixture photos; the aligned 150 px chips are padded so that detectors see context."""
    out = []
    for path in sorted(root.glob("people/*/*.jpg")) + sorted(root.glob("groups/*.jpg")):
        out.append(np.asarray(Image.open(path).convert("RGB")))
    for path in sorted(root.glob("aligned/*/*.jpg")):
        chip = np.asarray(Image.open(path).convert("RGB"))
        out.append(np.pad(chip, ((75, 75), (75, 75), (0, 0)), mode="edge"))
    return out


def chip_matrix(shape: dlib.full_object_detection, image_shape: tuple[int, ...]) -> np.ndarray:
    """The exact photo -> chip affine of dlib's get_face_chip, recovered from coordinate images."""
    details = dlib.get_face_chip_details(shape, size=CHIP, padding=PADDING)
    h, w = image_shape[:2]
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    chip_x = dlib.extract_image_chip(np.ascontiguousarray(xs), details)
    chip_y = dlib.extract_image_chip(np.ascontiguousarray(ys), details)
    rows, cols = np.mgrid[2 : CHIP - 2, 2 : CHIP - 2]  # interior: no border clamping
    chip_pts = np.stack([cols.ravel(), rows.ravel()], axis=1).astype(np.float64)
    photo_pts = np.stack([chip_x[2:-2, 2:-2].ravel(), chip_y[2:-2, 2:-2].ravel()], axis=1)
    inside = (photo_pts[:, 0] > 1) & (photo_pts[:, 0] < w - 2)
    inside &= (photo_pts[:, 1] > 1) & (photo_pts[:, 1] < h - 2)
    return align.estimate_similarity(photo_pts[inside], chip_pts[inside])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixtures", type=Path, default=Path("../shared/data/fixtures"))
    parser.add_argument("--min-size", type=float, default=60.0, help="smallest face used (px)")
    args = parser.parse_args()

    import face_recognition_models as frm

    hog = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(frm.pose_predictor_five_point_model_location())
    session = RetinaFaceModel(threads=2).get()
    recognizer = DlibRecognizer().get()

    chip_points, pairs = [], []
    for image in _photos(args.fixtures):
        ours = detect(session, image, threshold=0.9)
        rects = hog(image, 1)
        if not len(ours) or not len(rects):
            continue
        boxes = np.array([[r.left(), r.top(), r.right(), r.bottom()] for r in rects], float)
        overlap = iou_matrix(boxes, ours.boxes)
        for i, rect in enumerate(rects):
            j = int(overlap[i].argmax())
            if overlap[i, j] < 0.3 or ours.sizes[j] < args.min_size:
                continue
            shape = predictor(image, rect)
            matrix = chip_matrix(shape, image.shape)
            chip_points.append(align.apply(matrix, ours.landmarks[j]))
            pairs.append((image, shape, ours.landmarks[j]))

    pts = np.stack(chip_points)
    template = pts.mean(axis=0)
    spread = np.linalg.norm(pts - template, axis=2).mean(axis=0)

    # Check: embeddings of our crop (template + core.faces.align) vs dlib's own chip.
    cosines = []
    for image, shape, landmarks in pairs:
        theirs = np.asarray(recognizer.compute_face_descriptor(dlib.get_face_chip(image, shape)))
        crop = align.align_to(landmarks, template, CHIP).crop(image)
        mine = np.asarray(recognizer.compute_face_descriptor(np.ascontiguousarray(crop)))
        cosines.append(float(mine @ theirs / np.linalg.norm(mine) / np.linalg.norm(theirs)))
    stored = float(np.linalg.norm(align.DLIB_CHIP_TEMPLATE - template, axis=1).max())
    print(
        json.dumps(
            {
                "faces": len(pts),
                "template": np.round(template, 2).tolist(),
                "per_point_spread_px": np.round(spread, 2).tolist(),
                "cosine_ours_vs_dlib_mean": round(float(np.mean(cosines)), 4),
                "cosine_ours_vs_dlib_min": round(float(np.min(cosines)), 4),
                "max_offset_from_stored_template_px": round(stored, 3),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
