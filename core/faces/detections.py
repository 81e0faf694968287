"""Raw detector output as arrays, and how passes are merged: NMS with score-weighted voting.

Detectors run at several scales and there are two of them; each pass returns a
:class:`Detections` in the photo's own pixel coordinates, and :func:`merge` fuses
them into one set where every face appears once.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from numpy.typing import NDArray

from core.faces.types import DetectedFace

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Detections:
    """N faces: boxes (N, 4) x0 y0 x1 y1, scores (N,), landmarks (N, 5, 2), source (N,) labels.

    `trust` (N,) says how far each row's landmarks are to be believed when passes are
    merged (1 for a face the detector saw large; less for one it barely resolved).
    """

    boxes: FloatArray
    scores: FloatArray
    landmarks: FloatArray
    sources: NDArray[np.str_]
    trust: FloatArray

    @staticmethod
    def empty() -> Detections:
        """No faces."""
        return Detections(
            np.zeros((0, 4)),
            np.zeros(0),
            np.zeros((0, 5, 2)),
            np.zeros(0, dtype="<U16"),
            np.zeros(0),
        )

    @staticmethod
    def build(
        boxes: FloatArray,
        scores: FloatArray,
        landmarks: FloatArray,
        source: str,
        trust: FloatArray | float = 1.0,
    ) -> Detections:
        """Detections from arrays, all labelled with one pass name."""
        n = len(scores)
        return Detections(
            np.asarray(boxes, np.float64).reshape(n, 4),
            np.asarray(scores, np.float64).reshape(n),
            np.asarray(landmarks, np.float64).reshape(n, 5, 2),
            np.full(n, source, dtype="<U16"),
            np.broadcast_to(np.asarray(trust, np.float64), (n,)).copy(),
        )

    def with_trust(self, trust: FloatArray) -> Detections:
        """The same detections with new trust weights."""
        return replace(self, trust=np.asarray(trust, np.float64).reshape(len(self)))

    def __len__(self) -> int:
        return len(self.scores)

    def take(self, index: NDArray[np.intp] | NDArray[np.bool_]) -> Detections:
        """The subset at `index` (indices or a boolean mask)."""
        return Detections(
            self.boxes[index],
            self.scores[index],
            self.landmarks[index],
            self.sources[index],
            self.trust[index],
        )

    @property
    def sizes(self) -> FloatArray:
        """Each face's size in pixels: the larger side of its box."""
        return np.maximum(self.boxes[:, 2] - self.boxes[:, 0], self.boxes[:, 3] - self.boxes[:, 1])

    def to_faces(self) -> list[DetectedFace]:
        """DetectedFace objects, highest score first."""
        order = np.argsort(-self.scores, kind="stable")
        return [
            DetectedFace(
                box=tuple(float(v) for v in self.boxes[i]),  # type: ignore[arg-type]
                landmarks=self.landmarks[i].copy(),
                score=float(self.scores[i]),
                detector=str(self.sources[i]),
            )
            for i in order
        ]


def concat(parts: list[Detections]) -> Detections:
    """All detections of several passes in one set."""
    parts = [p for p in parts if len(p)]
    if not parts:
        return Detections.empty()
    return Detections(
        np.concatenate([p.boxes for p in parts]),
        np.concatenate([p.scores for p in parts]),
        np.concatenate([p.landmarks for p in parts]),
        np.concatenate([p.sources for p in parts]),
        np.concatenate([p.trust for p in parts]),
    )


def _areas(a: FloatArray, b: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Pairwise intersection areas (N, M) and the areas of `a` (N,) and `b` (M,)."""
    x0 = np.maximum(a[:, None, 0], b[None, :, 0])
    y0 = np.maximum(a[:, None, 1], b[None, :, 1])
    x1 = np.minimum(a[:, None, 2], b[None, :, 2])
    y1 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter, area_a, area_b


def iou_matrix(a: FloatArray, b: FloatArray) -> FloatArray:
    """Intersection over union of every box in `a` (N, 4) with every box in `b` (M, 4)."""
    inter, area_a, area_b = _areas(a, b)
    union = area_a[:, None] + area_b[None, :] - inter
    return np.asarray(inter / np.maximum(union, 1e-9), dtype=np.float64)


def containment_matrix(a: FloatArray, b: FloatArray) -> FloatArray:
    """How much of the smaller box of each pair lies inside the other (intersection / min area)."""
    inter, area_a, area_b = _areas(a, b)
    smaller = np.minimum(area_a[:, None], area_b[None, :])
    return np.asarray(inter / np.maximum(smaller, 1e-9), dtype=np.float64)


def nms(boxes: FloatArray, scores: FloatArray, iou: float) -> NDArray[np.intp]:
    """Greedy non-maximum suppression: indices of the boxes kept, best first."""
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    while len(order):
        best = int(order[0])
        keep.append(best)
        if len(order) == 1:
            break
        overlap = iou_matrix(boxes[best : best + 1], boxes[order[1:]])[0]
        order = order[1:][overlap <= iou]
    return np.asarray(keep, dtype=np.intp)


def merge(dets: Detections, iou: float = 0.4, contained: float | None = None) -> Detections:
    """One detection per face: greedy clusters by IoU, boxes and landmarks averaged.

    With `contained`, a box lying at least that much inside a cluster's leader (and
    not over 3x smaller) joins the cluster too: one face's boxes from passes that
    saw it too large or too small nest rather than overlap.

    Voting (rather than keeping only the best box) steadies the landmarks of tiny
    faces, which move by a pixel or two between scales. Members weigh score squared
    times trust, so that a confident pass that saw the face large dominates. The
    kept score is the cluster's best; the source is the heaviest member's pass.
    """
    if len(dets) == 0:
        return dets
    order = np.argsort(-dets.scores, kind="stable")
    overlaps = iou_matrix(dets.boxes, dets.boxes)
    same = overlaps > iou
    if contained is not None:
        sizes = dets.sizes
        ratio = np.maximum(sizes[:, None], sizes[None, :]) / np.maximum(
            np.minimum(sizes[:, None], sizes[None, :]), 1e-9)
        same |= (containment_matrix(dets.boxes, dets.boxes) >= contained) & (ratio <= 3.0)
    taken = np.zeros(len(dets), dtype=bool)
    boxes, scores, landmarks, sources, trust = [], [], [], [], []
    for i in order:
        if taken[i]:
            continue
        members = np.flatnonzero(same[i] & ~taken)
        taken[members] = True
        weights = dets.scores[members] ** 2 * np.maximum(dets.trust[members], 1e-6)
        heaviest = members[int(np.argmax(weights))]
        weights = weights / weights.sum()
        boxes.append(weights @ dets.boxes[members])
        landmarks.append(np.tensordot(weights, dets.landmarks[members], axes=1))
        scores.append(dets.scores[i])
        sources.append(dets.sources[heaviest])
        trust.append(dets.trust[members].max())
    return Detections(
        np.asarray(boxes),
        np.asarray(scores),
        np.asarray(landmarks),
        np.asarray(sources),
        np.asarray(trust),
    )
