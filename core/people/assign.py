"""Incremental people: new faces join existing persons when confidently close.

Called after every face pass. Cost is set by the new faces, not the library: each new
face is searched (exactly) against the model's cached embedding matrix; it joins the
person its nearest assigned faces clearly belong to (the link threshold for strong faces,
the stricter attach threshold for weak ones), and new faces that match no one are
clustered with their unassigned neighbours, so a newcomer photographed many times
becomes a person without a full re-cluster. Faces matched by nothing get a row with no
person: considered, left for the user or the next full re-cluster.
"""

from __future__ import annotations

import time

import faiss
import numpy as np
from numpy.typing import NDArray

from core.context import AppContext
from core.errors import IdfsrError
from core.jobs import CancelToken, Progress, ProgressCallback, no_progress
from core.people.cluster import attach, cluster_graph
from core.people.knn import BATCH, Neighbours
from core.people.params import ClusterParams, params_for
from core.people.recluster import STAGE, ClusterReport, recluster, resolve_model, strong_mask
from core.people.reconcile import NEW_BASE
from core.people.state import current, face_meta, new_faces, write_auto
from core.people.vectors import ModelVectors, model_vectors

FULL_SHARE = 0.5  # more new faces than this share of the model's: cluster everything


def _neighbours(
    mv: ModelVectors, rows: NDArray[np.int64], k: int, cancel: CancelToken,
    progress: ProgressCallback,
) -> Neighbours:
    """Exact k nearest rows of the model's matrix for each given row, itself excluded."""
    k_eff = min(k + 1, len(mv.ids))
    ids = np.full((len(rows), k + 1), -1, np.int64)
    sims = np.full((len(rows), k + 1), -1.0, np.float32)
    for start in range(0, len(rows), BATCH):
        cancel.raise_if_cancelled()
        part = rows[start : start + BATCH]
        s, i = faiss.knn(mv.vectors[part], mv.vectors, k_eff, metric=faiss.METRIC_INNER_PRODUCT)
        ids[start : start + len(part), :k_eff] = i
        sims[start : start + len(part), :k_eff] = s
        progress(Progress(STAGE, start + len(part), len(rows), "matching new faces"))
    own = ids == rows[:, None]
    ids[own], sims[own] = -1, -1.0
    order = np.argsort(-sims, axis=1, kind="stable")  # the -1s (self) go last
    return Neighbours(np.take_along_axis(ids, order, 1)[:, :k],
                      np.take_along_axis(sims, order, 1)[:, :k])


def _pool_clusters(
    found: Neighbours, query_rows: NDArray[np.int64], free_new: NDArray[np.int64],
    free_old: NDArray[np.bool_], p: ClusterParams,
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Cluster the unmatched new faces with their unassigned strong neighbours.

    `found[i]` are the neighbours of matrix row `query_rows[i]`; `free_new`: positions of
    strong new faces with no person; `free_old`: per matrix row, whether that face may
    join a new person. Returns the matrix rows of the pool and their cluster labels."""
    nb = found.index[free_new]
    ok = (nb >= 0) & (found.sims[free_new] >= p.link_sim)
    ok &= free_old[np.where(nb >= 0, nb, 0)]
    pool = np.unique(np.concatenate([query_rows[free_new], nb[ok]]))
    local = np.full((len(pool), nb.shape[1]), -1, np.int64)
    lsims = np.full((len(pool), nb.shape[1]), -1.0, np.float32)
    at = np.searchsorted(pool, query_rows[free_new])
    local[at] = np.where(ok, np.searchsorted(pool, np.where(ok, nb, 0)), -1)
    lsims[at] = np.where(ok, found.sims[free_new], -1.0)
    labels = cluster_graph(Neighbours(local, lsims), p.link_sim, p.min_size)
    return pool, labels


def assign_new_faces(
    ctx: AppContext,
    model_id: str | None = None,
    *,
    progress: ProgressCallback = no_progress,
    cancel: CancelToken | None = None,
) -> ClusterReport:
    """Give the faces no people pass has seen yet a person, or record that none fits."""
    cancel = cancel or CancelToken()
    started = time.monotonic()
    try:
        model_id = resolve_model(ctx, model_id)
    except IdfsrError:
        return ClusterReport()  # no faces at all: nothing to do
    p = params_for(model_id)
    report = ClusterReport(model_id=model_id)
    with ctx.db.session() as s:
        fresh = new_faces(s, model_id)
        conn = s.connection()
        clustered = conn.exec_driver_sql(
            "SELECT 1 FROM face_persons WHERE model_id = ? LIMIT 1", (model_id,)).first()
        total = conn.exec_driver_sql(
            "SELECT count(*) FROM face_embeddings WHERE model_id = ?", (model_id,)).scalar_one()
    if not len(fresh):
        return report
    # A model never clustered (a new library, or a new recognizer), or a library mostly new:
    # a full clustering sees the whole graph and costs little more.
    if clustered is None or len(fresh) > FULL_SHARE * int(total):
        return recluster(ctx, model_id, progress=progress, cancel=cancel)
    mv = model_vectors(ctx.db, ctx.paths.cache, model_id)
    rows = mv.rows_of(fresh)
    fresh, rows = fresh[rows >= 0], rows[rows >= 0]
    if not len(rows):
        return report
    found = _neighbours(mv, rows, p.k, cancel, progress)
    found_rows = np.unique(found.index[found.index >= 0])
    with ctx.db.session() as s:
        size, quality = face_meta(s, fresh)
        mine, _ = current(s, fresh)
        cur, _ = current(s, mv.ids[found_rows])
        nb_size, nb_quality = face_meta(s, mv.ids[found_rows])
    # Person per matrix row for the rows we met (new faces have none yet).
    ref = np.full(len(mv.ids), -1, np.int64)
    ref[found_rows] = cur.person
    forbidden = [mine.rejected.get(i, set()) for i in range(len(fresh))]
    strong = strong_mask(size, quality, p)
    target = np.full(len(fresh), -1, np.int64)
    scores = np.zeros(len(fresh), np.float32)
    for mask, sim in ((strong, p.link_sim), (~strong, p.attach_sim)):
        at = np.flatnonzero(mask)
        if len(at):
            sub = Neighbours(found.index[at], found.sims[at])
            got, best = attach(sub, ref, sim, p.attach_margin, [forbidden[i] for i in at])
            target[at], scores[at] = got, best
    # Unmatched strong new faces may found a person with unassigned strong neighbours.
    free_old = np.zeros(len(mv.ids), bool)
    free_old[found_rows] = (cur.person < 0) & ~cur.user & strong_mask(nb_size, nb_quality, p)
    free_old[rows] = False
    free_old[rows[strong & (target < 0)]] = True
    free_new = np.flatnonzero(strong & (target < 0))
    extra_rows = np.zeros(0, np.int64)
    extra_target = np.zeros(0, np.int64)
    if len(free_new):
        pool, labels = _pool_clusters(found, rows, free_new, free_old, p)
        coded = np.where(labels >= 0, NEW_BASE - labels, -1)
        is_new = np.isin(pool, rows)
        target[np.searchsorted(rows, pool[is_new])] = coded[is_new]  # rows are sorted
        keep = ~is_new & (labels >= 0)
        extra_rows, extra_target = pool[keep], coded[keep]
    cancel.raise_if_cancelled()
    ids = np.concatenate([fresh, mv.ids[extra_rows]])
    all_target = np.concatenate([target, extra_target])
    all_scores = np.concatenate([scores, np.zeros(len(extra_rows), np.float32)])
    with ctx.db.session() as s:
        report.new_persons = write_auto(s, ids, all_target, all_scores, model_id)
    report.faces = len(fresh)
    report.weak = int((~strong).sum())
    report.assigned = int((target != -1).sum())
    report.unassigned = report.faces - report.assigned
    report.changed = len(ids)
    report.seconds = time.monotonic() - started
    progress(Progress(STAGE, 1, 1, "done"))
    return report

