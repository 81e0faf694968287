"""Who is this face? Faces of an old photo matched to the library's persons, with a confidence.

Each face's embedding is compared (exact inner-product search, faiss) with every face
that has a visible person; a person's score is the mean of its TOP closest faces. The
top score, its margin over the runner-up, and the face's size go through a logistic
model fitted on labelled faces (bench/calibrate_match.py), so the confidence reads as
the probability that the top person is right. Tiny faces carry little identity (every
recognizer loses it below ~28 px): the calibration knows that, and the match says so
(`weak_evidence`) when the face is below the model's "weak face" size.

Context from the photo: one person appears once in a photo, so persons are handed out
most confident face first; and a person often photographed together with someone
already identified in this photo gets a small boost (an uncalibrated prior: it only
moves faces near the threshold). The photo's own faces, if it is in the library, are
never evidence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import faiss
import numpy as np
from numpy.typing import NDArray
from sqlalchemy import select

from core.db.models import Face, FacePerson, Person
from core.faces.store import normalise
from core.people.params import params_for
from core.people.vectors import model_vectors

if TYPE_CHECKING:
    from core.context import AppContext

TOP = 3  # a person's score: mean similarity of its TOP closest faces
SEARCH_K = 512  # nearest library faces looked at per query face
# A face is given its top person from this confidence on: restoring someone as the wrong
# person is worse than the generic path, so this is stricter than an even bet (at 0.7 on
# fresh calibration queries: 20-28 px faces 97% right, 14-20 px 81%, 30% of them assigned).
MIN_CONFIDENCE = 0.7
CONFIDENT = 0.8  # a match this sure is context for the photo's other faces
TOGETHER_BONUS = 0.7  # log-odds added for persons seen in photos with a confident match


@dataclass(frozen=True)
class Calibration:
    """Logistic model of P(top person right | top score s, margin m, face size px).

    logit = w0 + w1 s + w2 m + w3 ln(px) + w4 s ln(px), with m = s - max(runner-up, base):
    `base` (the typical best impostor score of a ~20-person library) keeps a library of
    one or two persons from looking certain.
    """

    weights: tuple[float, float, float, float, float]
    base: float
    source: str

    def confidence(self, score: float, runner_up: float, size_px: float) -> float:
        """The probability that the top person is the right one."""
        return _sigmoid(self.logit(score, runner_up, size_px))

    def logit(self, score: float, runner_up: float, size_px: float) -> float:
        """The log-odds before any context."""
        w0, w1, w2, w3, w4 = self.weights
        m = score - max(runner_up, self.base)
        lp = float(np.log(max(size_px, 4.0)))
        return w0 + w1 * score + w2 * m + w3 * lp + w4 * score * lp


# Fitted by bench/calibrate_match.py (LFW people minus the bench's held-out ones; queries
# at 14-28 px and full size; libraries of 20 persons, 60% of queries with their person in
# the library). On fresh queries: predicted 0.55/0.65/0.75/0.86/0.985 observed
# 0.52/0.62/0.77/0.78/0.99, log loss 0.26. The faces were made small by a clean
# downscale: real old photos (blur, grain, fading) score lower, so their confidence errs
# low, not high.
CALIBRATIONS: dict[str, Calibration] = {
    "dlib-resnet": Calibration((-15.95, 20.58, 93.91, -21.14, 21.52), 0.90,
                               "bench/calibrate_match.py, LFW, dlib-resnet-v1"),
    # Same queries; fresh-query log loss 0.327, predicted 0.55/0.65/0.75/0.86/0.98
    # observed 0.50/0.73/0.82/0.88/0.99.
    "mobileface": Calibration((2.94, -5.08, 20.45, -1.89, 3.62), 0.29,
                              "bench/calibrate_match.py, LFW, mobileface-v1"),
}


def _sigmoid(x: float) -> float:
    return float(1.0 / (1.0 + np.exp(-np.clip(x, -40.0, 40.0))))


def calibration_for(model_id: str) -> Calibration | None:
    """The measured calibration of an embedding model (longest prefix), or None."""
    best = max((k for k in CALIBRATIONS if model_id.startswith(k)), key=len, default=None)
    return CALIBRATIONS[best] if best is not None else None


def heuristic_logit(model_id: str, score: float, runner_up: float, size_px: float) -> float:
    """Log-odds for a model nobody calibrated: its clustering thresholds, tiny faces damped.

    0 (a 50% confidence) at the midpoint between the suggestion and attachment
    thresholds; a face smaller than the model's weak-face size counts for less.
    """
    p = params_for(model_id)
    mid = (p.suggest_sim + p.attach_sim) / 2
    width = max((p.attach_sim - p.suggest_sim) / 4, 1e-3)
    logit = (score - mid) / width + (score - runner_up - p.attach_margin) / width
    damp = float(np.clip(size_px / p.min_face_px, 0.3, 1.0))
    return logit * damp if logit > 0 else logit


@dataclass(frozen=True)
class PersonScore:
    """A candidate person for one face."""

    person_id: int
    name: str | None
    score: float

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON output."""
        return {"person_id": self.person_id, "name": self.name, "score": round(self.score, 4)}


@dataclass(frozen=True)
class Match:
    """The person of one face (None: nobody), how sure, and why."""

    person_id: int | None
    name: str | None
    confidence: float  # probability that `person_id` is right (0 for nobody)
    score: float  # the top person's score (mean of its TOP closest faces)
    runner_up: float
    weak_evidence: bool  # the face is too small for its embedding to say much
    source: str  # "auto", "user" (--person), "none" (nobody close enough)
    calibrated: bool
    reason: str = ""
    candidates: list[PersonScore] = field(default_factory=list)
    top_confidence: float = 0.0  # the automatic confidence in the best candidate, taken or not

    def to_dict(self) -> dict[str, Any]:
        """Plain data for JSON output."""
        return {"person_id": self.person_id, "name": self.name,
                "confidence": round(self.confidence, 4), "score": round(self.score, 4),
                "runner_up": round(self.runner_up, 4), "weak_evidence": self.weak_evidence,
                "source": self.source, "calibrated": self.calibrated, "reason": self.reason,
                "candidates": [c.to_dict() for c in self.candidates],
                "top_confidence": round(self.top_confidence, 4)}


def person_scores(sims: NDArray[np.floating], owners: NDArray[np.int64],
                  top: int = TOP) -> dict[int, float]:
    """Per person: the mean of its `top` highest similarities among (sims, owners) pairs."""
    out: dict[int, float] = {}
    order = np.argsort(-np.asarray(sims), kind="stable")
    seen: dict[int, list[float]] = {}
    for i in order:
        pid = int(owners[i])
        got = seen.setdefault(pid, [])
        if len(got) < top:
            got.append(float(sims[i]))
    for pid, vals in seen.items():
        out[pid] = float(np.mean(vals))
    return out


@dataclass(frozen=True)
class _Library:
    vectors: NDArray[np.float32]  # rows of faces that have a visible person
    owners: NDArray[np.int64]
    photos: NDArray[np.int64]
    names: dict[int, str | None]


def _library(ctx: AppContext, model_id: str) -> _Library:
    mv = model_vectors(ctx.db, ctx.paths.cache, model_id)
    with ctx.db.session() as s:
        rows = s.execute(
            select(FacePerson.face_id, FacePerson.person_id, Face.photo_id)
            .join(Face, Face.id == FacePerson.face_id)
            .join(Person, Person.id == FacePerson.person_id)
            .where(Person.hidden.is_(False))).all()
        names = {int(i): n for i, n in s.execute(select(Person.id, Person.name))}
    if not rows or not len(mv.ids):
        return _Library(np.zeros((0, 1), np.float32), np.zeros(0, np.int64),
                        np.zeros(0, np.int64), names)
    face_ids = np.array([r[0] for r in rows], np.int64)
    at = mv.rows_of(face_ids)
    ok = at >= 0
    return _Library(mv.vectors[at[ok]], np.array([r[1] for r in rows], np.int64)[ok],
                    np.array([r[2] for r in rows], np.int64)[ok], names)


def _together(ctx: AppContext, persons: set[int]) -> dict[int, set[int]]:
    """For each given person, the persons seen in at least one library photo with them."""
    if not persons:
        return {}
    with ctx.db.session() as s:
        rows = s.execute(select(Face.photo_id, FacePerson.person_id)
                         .join(FacePerson, FacePerson.face_id == Face.id)
                         .where(FacePerson.person_id.is_not(None))).all()
    by_photo: dict[int, set[int]] = {}
    for photo, pid in rows:
        if pid is not None:
            by_photo.setdefault(int(photo), set()).add(int(pid))
    out: dict[int, set[int]] = {p: set() for p in persons}
    for members in by_photo.values():
        for p in members & persons:
            out[p] |= members - {p}
    return out


def match_faces(
    ctx: AppContext,
    model_id: str,
    embeddings: NDArray[np.floating],
    sizes_px: Sequence[float],
    *,
    exclude_photos: Sequence[int] = (),
    min_confidence: float = MIN_CONFIDENCE,
) -> list[Match]:
    """The person of each face of one photo (embeddings by `model_id`), or nobody."""
    n = len(sizes_px)
    p = params_for(model_id)
    cal = calibration_for(model_id)
    lib = _library(ctx, model_id)
    keep = ~np.isin(lib.photos, np.asarray(list(exclude_photos), np.int64))
    vectors, owners = lib.vectors[keep], lib.owners[keep]
    if n == 0:
        return []
    if not len(owners):
        return [Match(None, None, 0.0, 0.0, 0.0, sizes_px[i] < p.min_face_px, "none",
                      cal is not None, "the library has no persons yet") for i in range(n)]
    queries = normalise(np.asarray(embeddings, np.float32))
    k = min(SEARCH_K, len(owners))
    sims, idx = faiss.knn(queries, np.ascontiguousarray(vectors), k,
                          metric=faiss.METRIC_INNER_PRODUCT)
    ranked: list[list[PersonScore]] = []
    logits: list[list[float]] = []
    for i in range(n):
        valid = idx[i] >= 0
        scores = person_scores(sims[i][valid], owners[idx[i][valid]])
        order = sorted(scores.items(), key=lambda kv: -kv[1])
        ranked.append([PersonScore(pid, lib.names.get(pid), s) for pid, s in order])
        row = []
        for j, (_, s) in enumerate(order):
            # The runner-up of candidate j is the best of the others.
            other = order[1][1] if j == 0 and len(order) > 1 else order[0][1] if j else -1.0
            row.append(cal.logit(s, other, sizes_px[i]) if cal is not None
                       else heuristic_logit(model_id, s, other, sizes_px[i]))
        logits.append(row)
    return _decide(ctx, ranked, logits, sizes_px, p.min_face_px, cal is not None,
                   min_confidence)


def _decide(ctx: AppContext, ranked: list[list[PersonScore]], logits: list[list[float]],
            sizes_px: Sequence[float], weak_px: float, calibrated: bool,
            min_confidence: float) -> list[Match]:
    """Hand out persons most confident face first, one face per person, with context."""
    n = len(ranked)
    best = [_sigmoid(row[0]) if row else 0.0 for row in logits]
    sure = [i for i in range(n) if best[i] >= CONFIDENT]
    together = _together(ctx, {ranked[i][0].person_id for i in sure})
    taken: dict[int, int] = {}
    out: list[Match | None] = [None] * n
    for i in sorted(range(n), key=lambda i: -best[i]):
        weak = sizes_px[i] < weak_px
        cands = ranked[i]
        if not cands:
            out[i] = Match(None, None, 0.0, 0.0, 0.0, weak, "none", calibrated, "no candidates")
            continue
        friends = set().union(*(together.get(ranked[j][0].person_id, set())
                                for j in sure if j != i)) if sure else set()
        choice, reason = None, ""
        for j, cand in enumerate(cands[:TOP]):
            logit = logits[i][j] + (TOGETHER_BONUS if cand.person_id in friends else 0.0)
            conf = _sigmoid(logit)
            if cand.person_id in taken:
                reason = (f"{cand.name or '#' + str(cand.person_id)} is already face "
                          f"{taken[cand.person_id] + 1} of this photo")
                continue
            if conf >= min_confidence:
                choice = (cand, conf, cand.person_id in friends)
            break
        top = cands[0]
        runner = cands[1].score if len(cands) > 1 else 0.0
        if choice is None:
            conf0 = _sigmoid(logits[i][0])
            why = reason or (f"best candidate {top.name or '#' + str(top.person_id)} at "
                             f"confidence {conf0:.2f}, below {min_confidence:.2f}")
            if weak:
                why += "; the face is too small for strong evidence"
            out[i] = Match(None, None, 0.0, top.score, runner, weak, "none", calibrated, why,
                           cands[:TOP], conf0)
            continue
        cand, conf, helped = choice
        taken[cand.person_id] = i
        note = "seen with a person already identified in this photo" if helped else ""
        others = [c.score for c in cands if c.person_id != cand.person_id]
        out[i] = Match(cand.person_id, cand.name, conf, cand.score,
                       max(others) if others else 0.0, weak, "auto", calibrated, note,
                       cands[:TOP], best[i])
    return [m for m in out if m is not None]


def user_match(ctx: AppContext, person_id: int | None, size_px: float, model_id: str,
               automatic: Match | None = None) -> Match:
    """A match the user decided (--person FACE=NAME|ID, or =none for nobody)."""
    weak = size_px < params_for(model_id).min_face_px
    cands = automatic.candidates if automatic is not None else []
    top = automatic.top_confidence if automatic is not None else 0.0
    if person_id is None:
        return Match(None, None, 0.0, 0.0, 0.0, weak, "user", False, "the user chose nobody",
                     cands, top)
    with ctx.db.session() as s:
        person = s.get(Person, person_id)
        name = person.name if person is not None else None
    base = Match(person_id, name, 1.0, 0.0, 0.0, weak, "user", False, "chosen by the user",
                 cands, top)
    if automatic is not None:
        hit = next((c for c in automatic.candidates if c.person_id == person_id), None)
        if hit is not None:
            base = replace(base, score=hit.score)
    return base
