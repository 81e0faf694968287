"""Strangers: the tiny, blurred bystanders of a library's unassigned faces, set aside at once.

A stranger is an unassigned face that is weak (too small or too poor to identify
anyone, the clustering's own bar) or a blurry singleton (no other face of the library
looks like it and it is not a clear face either). A clear face seen once may well be a
great-aunt, so it stays. Ignoring is one undoable people edit; ignored faces leave the
unassigned page and suggestions, and no re-cluster gives them a person.
"""

from __future__ import annotations

from typing import Any, cast

import faiss
import numpy as np
from sqlalchemy import Select, select

from core.context import AppContext
from core.db.models import Face, FacePerson, FaceSource
from core.errors import IdfsrError
from core.people.edits import _faces, _set_row
from core.people.history import Snapshot, record
from core.people.params import params_for
from core.people.recluster import resolve_model
from core.people.service import _unassigned
from core.people.vectors import model_vectors

CLEAR_PX = 80.0  # a face this large ...
CLEAR_QUALITY = 0.5  # ... and this good is kept even when it is the only one of its kind


def stranger_faces(ctx: AppContext, model_id: str | None = None) -> list[int]:
    """The unassigned faces that are strangers (see the module), by id."""
    with ctx.db.session() as s:
        # (typed as one column: _unassigned only adds joins and conditions)
        query = cast("Select[Any]", select(Face.id, Face.size_px, Face.quality))
        rows: list[Any] = list(s.execute(_unassigned(query).order_by(Face.id)))
    if not rows:
        return []
    try:
        model_id = resolve_model(ctx, model_id)
    except IdfsrError:
        return []
    p = params_for(model_id)
    ids = np.array([r[0] for r in rows], np.int64)
    size = np.array([r[1] for r in rows], np.float32)
    quality = np.array([r[2] for r in rows], np.float32)
    weak = (size < p.min_face_px) | (quality < p.min_quality)
    unclear = ~((size >= CLEAR_PX) & (quality >= CLEAR_QUALITY))
    alone = np.zeros(len(ids), bool)
    mv = model_vectors(ctx.db, ctx.paths.cache, model_id)
    at = mv.rows_of(ids)
    ask = np.flatnonzero((at >= 0) & unclear & ~weak)
    if len(ask) and len(mv.ids) > 1:
        sims, found = faiss.knn(mv.vectors[at[ask]], mv.vectors, 2,
                                metric=faiss.METRIC_INNER_PRODUCT)
        # The nearest face other than itself (itself is normally the first hit).
        other = np.where(found[:, 0] == at[ask], sims[:, 1], sims[:, 0])
        alone[ask] = other < p.link_sim
    elif len(ask):
        alone[ask] = True
    return [int(f) for f in ids[weak | alone]]


def ignore_faces(ctx: AppContext, face_ids: list[int], what: str = "faces") -> int:
    """Set these faces aside as strangers (one undoable edit); how many."""
    if not face_ids:
        return 0
    with ctx.db.session() as s:
        ids = _faces(s, face_ids)
        owners: dict[int, int | None] = {
            f: p for f, p in s.execute(select(FacePerson.face_id, FacePerson.person_id)
                                       .where(FacePerson.face_id.in_(ids)))}
        taken = [f for f in ids if owners.get(f) is not None]
        if taken:
            raise IdfsrError(f"face {taken[0]} belongs to someone; only faces of nobody can "
                             "be ignored")
        snap = Snapshot(s, set(ids), set())
        for f in ids:
            _set_row(s, f, None, FaceSource.IGNORED)
        record(s, "ignore", f"ignoring {len(ids)} {what}", snap)
    return len(ids)


def ignore_strangers(ctx: AppContext, model_id: str | None = None) -> int:
    """Set every stranger aside (one undoable edit); how many."""
    return ignore_faces(ctx, stranger_faces(ctx, model_id), "strangers")
