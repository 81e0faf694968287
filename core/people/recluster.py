"""The full re-cluster of one embedding model's faces into persons (a long job).

Read the model's embeddings (cached matrix) and every face's people state, cluster the
strong faces, hand the clusters to persons (core.people.reconcile: user decisions win),
attach weak faces only where they are clearly one person's, write the `auto` rows that
changed, and drop the persons the clustering made that are now empty. Nothing the user
decided is written here: user rows, names, hidden flags, covers and rejections are read,
never changed.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy import sparse

from core.context import AppContext
from core.errors import IdfsrError
from core.jobs import CancelToken, Progress, ProgressCallback, no_progress
from core.people.cluster import attach, cluster_graph
from core.people.knn import build_search_index, knn_graph, search
from core.people.params import ClusterParams, params_for
from core.people.reconcile import Current, reconcile
from core.people.state import current, drop_empty_persons, face_meta, write_auto
from core.people.vectors import model_vectors

STAGE = "people"


@dataclass
class ClusterReport:
    """What a clustering job did."""

    model_id: str = ""
    faces: int = 0  # faces of this model considered
    weak: int = 0  # of which too small or poor to link (they may only attach)
    assigned: int = 0  # faces with a person after the job (user's included)
    unassigned: int = 0
    changed: int = 0  # auto rows written
    new_persons: int = 0
    removed_persons: int = 0
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON output."""
        return asdict(self)


def resolve_model(ctx: AppContext, model_id: str | None) -> str:
    """The embedding model to cluster: the one asked for, else the one most photos used."""
    if model_id:
        return model_id
    with ctx.db.session() as s:
        row = s.connection().exec_driver_sql(
            "SELECT faces_model, count(*) FROM photos WHERE faces_model IS NOT NULL "
            "GROUP BY faces_model ORDER BY count(*) DESC, faces_model LIMIT 1"
        ).first()
    if row is None:
        raise IdfsrError("no faces have been found yet; run `idfsr index` first")
    return str(row[0])


def strong_mask(size: NDArray[np.float32], quality: NDArray[np.float32],
                p: ClusterParams) -> NDArray[np.bool_]:
    """Faces good enough to link others: big enough and of fair quality."""
    return (size >= p.min_face_px) & (quality >= p.min_quality)


def person_scores(vectors: NDArray[np.float32], target: NDArray[np.int64]) -> NDArray[np.float32]:
    """Each face's cosine to the centroid of the faces given the same person (0 if none)."""
    scores = np.zeros(len(target), np.float32)
    rows = np.flatnonzero(target != -1)
    if not len(rows):
        return scores
    codes, inv = np.unique(target[rows], return_inverse=True)
    member = sparse.csr_matrix((np.ones(len(rows), np.float32), (inv, np.arange(len(rows)))),
                               shape=(len(codes), len(rows)))
    cents = np.asarray(member @ vectors[rows])
    cents /= np.maximum(np.linalg.norm(cents, axis=1, keepdims=True), 1e-12)
    scores[rows] = np.einsum("ij,ij->i", vectors[rows], cents[inv])
    return scores


def attach_weak(
    vectors: NDArray[np.float32], strong: NDArray[np.bool_], index: Any,
    target: NDArray[np.int64], cur: Current, p: ClusterParams,
) -> None:
    """Give weak, free faces the person of their clearly nearest strong faces (in place).
    `index` searches the strong faces, in row order."""
    weak = np.flatnonzero(~strong & ~cur.user)
    ref_target = target[strong]
    if not len(weak) or not (ref_target != -1).any():
        return
    codes = np.unique(ref_target[ref_target != -1])
    ref_labels = np.where(ref_target != -1, np.searchsorted(codes, ref_target), -1)
    forbidden = [
        {int(np.searchsorted(codes, pid)) for pid in cur.rejected.get(int(r), ()) if pid in codes}
        for r in weak
    ]
    found = search(index, vectors[weak], p.k)
    got, _ = attach(found, ref_labels, p.attach_sim, p.attach_margin, forbidden)
    hit = got >= 0
    target[weak[hit]] = codes[got[hit]]


def recluster(
    ctx: AppContext,
    model_id: str | None = None,
    *,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> ClusterReport:
    """Cluster every face of one model again; the user's decisions all survive."""
    cancel = cancel or CancelToken()
    started = time.monotonic()
    model_id = resolve_model(ctx, model_id)
    p = params_for(model_id)
    progress(Progress(STAGE, 0, None, "loading faces"))
    mv = model_vectors(ctx.db, ctx.paths.cache, model_id)
    with ctx.db.session() as s:
        size, quality = face_meta(s, mv.ids)
        cur, has_row = current(s, mv.ids)
    report = ClusterReport(model_id=model_id, faces=len(mv.ids))
    strong = strong_mask(size, quality, p)
    report.weak = int((~strong).sum())
    labels = np.full(len(mv.ids), -1, np.int64)
    strong_rows = np.flatnonzero(strong)
    index = None
    if len(strong_rows):
        index = build_search_index(mv.vectors[strong_rows])
        graph = knn_graph(mv.vectors[strong_rows], p.k, index=index, progress=progress,
                          cancel=cancel)
        progress(Progress(STAGE, 0, None, "grouping faces"))
        labels[strong_rows] = cluster_graph(graph, p.link_sim, p.min_size, cancel=cancel)
    cancel.raise_if_cancelled()
    target = reconcile(labels, cur, mv.vectors)
    if index is not None:
        attach_weak(mv.vectors, strong, index, target, cur, p)
    scores = person_scores(mv.vectors, target)
    # Only rows that change are written: a re-cluster of a settled library writes little.
    changed = ~cur.user & (~has_row | (target != cur.person))
    cancel.raise_if_cancelled()  # the last point where stopping leaves everything as it was
    progress(Progress(STAGE, 0, None, "saving people"))
    with ctx.db.session() as s:
        report.new_persons = write_auto(s, mv.ids, target, scores, model_id, only=changed)
        report.removed_persons = drop_empty_persons(s)
    report.changed = int(changed.sum())
    report.assigned = int((target != -1).sum())
    report.unassigned = report.faces - report.assigned
    report.seconds = time.monotonic() - started
    progress(Progress(STAGE, 1, 1, "done"))
    return report
