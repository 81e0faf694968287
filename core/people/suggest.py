"""Suggestions: faces that are probably a person's, and persons that are probably one.

Face suggestions rank a person's unassigned faces (not rejected from them, not set
aside by the user) by their mean similarity to the person's 3 closest faces, down to
the model's `suggest_sim`: weaker evidence than the clustering acts on, shown for the
user to confirm or reject. Merge suggestions compare person centroids; pairs the user
has already told apart (a face of one rejected from the other, e.g. after a split) and
hidden persons are left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import faiss
import numpy as np
from numpy.typing import NDArray
from sqlalchemy import select

from core.context import AppContext
from core.db.models import FacePerson, FaceRejection, FaceSource, Person
from core.faces.service import FaceInfo, get_face
from core.people.params import params_for
from core.people.recluster import resolve_model
from core.people.vectors import ModelVectors, model_vectors

TOP = 3  # a face is compared with the person's TOP closest faces, averaged
MAX_REFERENCE = 2000  # faces of one person used as reference (a random sample beyond)


@dataclass(frozen=True)
class MergeSuggestion:
    """Two persons that look like one, with their centroid similarity."""

    person_a: int
    person_b: int
    similarity: float

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON output."""
        return {"person_a": self.person_a, "person_b": self.person_b,
                "similarity": round(self.similarity, 4)}


_ASIDE = (FaceSource.UNASSIGNED.value, FaceSource.IGNORED.value)


def _assignments(ctx: AppContext, mv: ModelVectors) -> tuple[NDArray[np.int64], NDArray[np.bool_]]:
    """Person per matrix row (-1 none) and whether the user set the face aside."""
    person = np.full(len(mv.ids), -1, np.int64)
    aside = np.zeros(len(mv.ids), bool)
    with ctx.db.session() as s:
        rows = s.execute(select(FacePerson.face_id, FacePerson.person_id, FacePerson.source)).all()
    if rows:
        fid = np.array([r[0] for r in rows], np.int64)
        at = mv.rows_of(fid)
        ok = at >= 0
        person[at[ok]] = [-1 if r[1] is None else r[1] for r, k in zip(rows, ok, strict=True) if k]
        aside[at[ok]] = [r[2] in _ASIDE for r, k in zip(rows, ok, strict=True)
                         if k]
    return person, aside


def suggest_faces(
    ctx: AppContext, person_id: int, *, limit: int = 20, model_id: str | None = None
) -> list[tuple[FaceInfo, float]]:
    """Unassigned faces most likely this person's, best first, with their similarity."""
    model_id = resolve_model(ctx, model_id)
    p = params_for(model_id)
    mv = model_vectors(ctx.db, ctx.paths.cache, model_id)
    person, aside = _assignments(ctx, mv)
    mine = np.flatnonzero(person == person_id)
    if not len(mine):
        return []
    if len(mine) > MAX_REFERENCE:
        mine = np.random.default_rng(person_id).choice(mine, MAX_REFERENCE, replace=False)
    with ctx.db.session() as s:
        banned = set(s.scalars(select(FaceRejection.face_id)
                               .where(FaceRejection.person_id == person_id)))
    free = np.flatnonzero((person < 0) & ~aside & ~np.isin(mv.ids, list(banned)))
    if not len(free):
        return []
    top = min(TOP, len(mine))
    sims, _ = faiss.knn(mv.vectors[free], mv.vectors[mine], top,
                        metric=faiss.METRIC_INNER_PRODUCT)
    score = sims.mean(axis=1)
    order = np.argsort(-score, kind="stable")
    order = order[score[order] >= p.suggest_sim][:limit]
    return [(get_face(ctx, int(mv.ids[free[i]])), float(score[i])) for i in order]


def suggest_merges(
    ctx: AppContext, *, limit: int = 20, model_id: str | None = None
) -> list[MergeSuggestion]:
    """Pairs of visible persons likely to be the same, most similar first."""
    model_id = resolve_model(ctx, model_id)
    p = params_for(model_id)
    mv = model_vectors(ctx.db, ctx.paths.cache, model_id)
    person, _ = _assignments(ctx, mv)
    with ctx.db.session() as s:
        visible = set(s.scalars(select(Person.id).where(Person.hidden.is_(False))))
        told_apart = {(r[0], r[1]) for r in s.execute(
            select(FaceRejection.person_id, FacePerson.person_id)
            .join(FacePerson, FacePerson.face_id == FaceRejection.face_id)
            .where(FacePerson.person_id.is_not(None)))}
    keep = np.isin(person, list(visible))
    rows = np.flatnonzero(keep)
    if not len(rows):
        return []
    codes, inv = np.unique(person[rows], return_inverse=True)
    if len(codes) < 2:
        return []
    # Centroids: the mean of each person's unit vectors, renormalised.
    sums = np.zeros((len(codes), mv.vectors.shape[1]), np.float64)
    np.add.at(sums, inv, mv.vectors[rows])
    cents = (sums / np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)).astype(
        np.float32)
    k = min(6, len(codes))
    sims, idx = faiss.knn(cents, cents, k, metric=faiss.METRIC_INNER_PRODUCT)
    pairs: dict[tuple[int, int], float] = {}
    for a in range(len(codes)):
        for sim, b in zip(sims[a], idx[a], strict=True):
            if b < 0 or b == a or sim < p.merge_sim:
                continue
            pa, pb = sorted((int(codes[a]), int(codes[b])))
            if (pa, pb) in told_apart or (pb, pa) in told_apart:
                continue
            pairs[(pa, pb)] = float(sim)
    ranked = sorted(pairs.items(), key=lambda kv: -kv[1])[:limit]
    return [MergeSuggestion(a, b, sim) for (a, b), sim in ranked]
