"""Turning fresh clusters into persons without losing anything the user decided.

Pure arrays in, arrays out (the DB side is core.people.recluster). The rules:
- A user's face (confirmed, moved, or taken out of every person) never changes.
- A cluster belongs to the persons it has evidence for: persons with a user face in it,
  and persons that already held a large share of its faces (`VOTE_SHARE`). So a renamed,
  hidden or merged person keeps its faces and its id across re-clusters, and a merge
  holds because the merged clusters all vote for the surviving person.
- A cluster with one such person goes to it; with several (a split, or a face moved
  into another person's cluster), each face keeps its person when that is one of them,
  else goes to the nearest one's centroid; with none, it becomes a new person.
- "Not this person" always holds: a face is never given a person it was rejected from
  (it stays unassigned rather than go to a second guess).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

VOTE_SHARE = 0.3  # of a cluster's faces, to count as that cluster's person
NEW_BASE = -2  # targets NEW_BASE - g: the g-th new person


@dataclass
class Current:
    """What the faces hold now: person per face (-1 none), whether the user decided it,
    and the persons each face was rejected from (by row)."""

    person: NDArray[np.int64]
    user: NDArray[np.bool_]
    rejected: dict[int, set[int]] = field(default_factory=dict)


def _centroid(vectors: NDArray[np.float32], rows: NDArray[np.int64]) -> NDArray[np.float32]:
    c = vectors[rows].mean(axis=0)
    return (c / max(float(np.linalg.norm(c)), 1e-12)).astype(np.float32)


def _candidates(
    members: NDArray[np.int64], cur: Current
) -> dict[int, NDArray[np.int64]]:
    """Persons with evidence in a cluster, each with the member rows that are evidence."""
    person = cur.person[members]
    user = cur.user[members]
    out: dict[int, NDArray[np.int64]] = {}
    held = person >= 0
    if not held.any():
        return out
    ids, counts = np.unique(person[held], return_counts=True)
    anchored = set(np.unique(person[user & held]).tolist())
    for pid, count in zip(ids.tolist(), counts.tolist(), strict=True):
        if pid in anchored or count >= VOTE_SHARE * len(members):
            out[pid] = members[person == pid]
    return out


def reconcile(
    labels: NDArray[np.int64], cur: Current, vectors: NDArray[np.float32]
) -> NDArray[np.int64]:
    """The person for every face: an existing id (>= 0), NEW_BASE - g for the g-th new
    person, or -1 (unassigned). User faces come back unchanged."""
    n = len(labels)
    target = np.full(n, -1, np.int64)
    target[cur.user] = cur.person[cur.user]
    if n == 0:
        return target
    if not (cur.person >= 0).any():  # a first clustering: every cluster is a new person
        clustered = (labels >= 0) & ~cur.user  # a user's "nobody" stays nobody
        target[clustered] = NEW_BASE - labels[clustered]
        return target  # new persons: no rejection can name them
    order = np.argsort(labels, kind="stable")
    bounds = np.flatnonzero(np.diff(labels[order])) + 1
    new_groups = 0
    for members in np.split(order, bounds):
        if labels[members[0]] < 0:
            continue  # unclustered: auto faces stay unassigned
        free = members[~cur.user[members]]
        if not len(free):
            continue
        cands = _candidates(members, cur)
        if not cands:
            target[free] = NEW_BASE - new_groups
            new_groups += 1
            continue
        if len(cands) == 1:
            (only,) = cands
            target[free] = only
        else:
            pids = np.array(list(cands))
            cents = np.stack([_centroid(vectors, rows) for rows in cands.values()])
            nearest = pids[np.argmax(vectors[free] @ cents.T, axis=1)]
            keeps = np.isin(cur.person[free], pids)
            target[free] = np.where(keeps, cur.person[free], nearest)
    _honour_rejections(target, cur)
    return target


def _honour_rejections(target: NDArray[np.int64], cur: Current) -> None:
    # A face the cluster would give to a person it was rejected from stays unassigned: the
    # cluster's other persons are only a guess for it, and suggestions can offer them.
    for row, banned in cur.rejected.items():
        if int(target[row]) in banned and not cur.user[row]:
            target[row] = -1
