"""core.faces.detections: IoU, NMS, and merging passes by weighted voting."""

from __future__ import annotations

import numpy as np

from core.faces.detections import Detections, concat, iou_matrix, merge, nms


def _dets(boxes: list[list[float]], scores: list[float], source: str,
          trust: float = 1.0) -> Detections:
    b = np.array(boxes, dtype=np.float64)
    # Landmarks: the box's corners and middle, so that averaging is easy to check.
    lm = np.stack([b[:, [0, 1]], b[:, [2, 1]], (b[:, :2] + b[:, 2:]) / 2, b[:, [0, 3]],
                   b[:, [2, 3]]], axis=1)
    return Detections.build(b, np.array(scores), lm, source, trust)


def test_iou_matrix() -> None:
    a = np.array([[0, 0, 10, 10], [20, 20, 30, 30]], float)
    b = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [100, 100, 101, 101]], float)
    np.testing.assert_allclose(iou_matrix(a, b), [[1, 50 / 150, 0], [0, 0, 0]])


def test_nms_keeps_the_best_of_overlapping_boxes() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60]], float)
    keep = nms(boxes, np.array([0.8, 0.9, 0.7]), iou=0.4)
    assert keep.tolist() == [1, 2]


def test_merge_votes_boxes_and_landmarks_by_score_and_trust() -> None:
    fine = _dets([[10, 10, 30, 30]], [1.0], "fine", trust=1.0)
    coarse = _dets([[12, 12, 32, 32]], [1.0], "coarse", trust=1.0 / 3.0)
    other = _dets([[100, 100, 120, 120]], [0.7], "other")
    merged = merge(concat([coarse, other, fine]), iou=0.4)
    assert len(merged) == 2
    first = int(np.argmax(merged.scores))
    # Weights 1 and 1/3: the box is 3/4 of the way to the trusted one.
    np.testing.assert_allclose(merged.boxes[first], [10.5, 10.5, 30.5, 30.5])
    np.testing.assert_allclose(merged.landmarks[first, 2], [20.5, 20.5])
    assert merged.sources[first] == "fine"
    faces = merged.to_faces()
    assert [f.detector for f in faces] == ["fine", "other"]
    assert faces[0].score >= faces[1].score


def test_empty_inputs() -> None:
    assert len(merge(Detections.empty())) == 0
    assert len(concat([Detections.empty(), Detections.empty()])) == 0
    assert Detections.empty().to_faces() == []
