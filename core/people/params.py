"""Clustering thresholds per embedding model.

Similarities mean different things for different recognizers: dlib's 128-d vectors sit
in a narrow cone (two different people are often at cosine 0.8, the same person at
0.95+), ArcFace's 512-d are spread out (different people near 0, the same person above
~0.4). So every threshold lives in one table keyed by model id, measured per model
(bench/bench_people_quality.py), with a conservative fallback for unknown models.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any


@dataclass(frozen=True)
class ClusterParams:
    """How sure the clustering must be before it links faces or joins them to a person."""

    link_sim: float  # two good faces this similar are linked in the graph
    attach_sim: float  # a face joins a person only if this close to one of its faces...
    attach_margin: float  # ...and this much closer than to any other person
    suggest_sim: float  # weaker evidence: shown to the user as a suggestion only
    merge_sim: float  # person centroids this close are suggested as the same person
    k: int = 10  # neighbours per face in the kNN graph
    min_size: int = 3  # fewer faces than this make no person of their own
    min_face_px: float = 40.0  # smaller faces are "weak": they never link, only attach
    min_quality: float = 0.25  # as are faces below this quality score


# Prefix of the model id -> thresholds.
# dlib: measured with the embedded backend on LFW (bench/bench_people_quality.py, tuning
# half): link 0.94 is the loosest with BCubed precision >= 0.97 (0.979, recall 0.921);
# weak faces attach at 0.94 with a 0.02 margin, the loosest that costs no precision
# (about a third of 14-28 px faces attach; below ~18 px identity is mostly gone).
# Suggestions at 0.92 (top suggestion right for ~54% of the faces left unassigned);
# merges at 0.95 centroid cosine (half of the top ten pairs are true splits).
# mobileface (the embedded backend's MobileFace, 256-d): measured the same way
# (bench_people_quality.py --backend embedded-mobileface --per-person 8 --sweep 0.3 0.7
# 0.025, tuning half with its tiny faces): link 0.525 is the loosest with BCubed precision
# >= 0.97 (0.981, recall 0.480: it splits people far more than dlib does); attach one
# step stricter, 0.55. Its cosines spread ~3x wider than dlib's (same person ~0.55,
# others ~0.1), so the margin, suggestion and merge thresholds are dlib's offsets from
# the link threshold scaled by 3, not separately measured.
# insightface (ArcFace, 512-d): provisional, not measured here (no real pack offline):
# Immich's clustering distance 0.5, stricter attachment.
_TABLE: dict[str, ClusterParams] = {
    "dlib-resnet": ClusterParams(
        link_sim=0.94, attach_sim=0.94, attach_margin=0.02, suggest_sim=0.92, merge_sim=0.95
    ),
    "mobileface": ClusterParams(
        link_sim=0.525, attach_sim=0.55, attach_margin=0.06, suggest_sim=0.465, merge_sim=0.555
    ),
    "insightface-": ClusterParams(
        link_sim=0.50, attach_sim=0.55, attach_margin=0.08, suggest_sim=0.35, merge_sim=0.50
    ),
}
# An unknown recognizer: ArcFace-like scale, stricter, so that mistakes are splits.
_FALLBACK = ClusterParams(
    link_sim=0.60, attach_sim=0.65, attach_margin=0.10, suggest_sim=0.45, merge_sim=0.60
)


def params_for(model_id: str, **overrides: Any) -> ClusterParams:
    """The thresholds of one embedding model (longest matching prefix, else the fallback)."""
    best = max((p for p in _TABLE if model_id.startswith(p)), key=len, default=None)
    params = _TABLE[best] if best is not None else _FALLBACK
    return replace(params, **overrides) if overrides else params
