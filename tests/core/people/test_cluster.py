"""The clustering itself, on arrays: no chaining, guarded attachment, IVF graph recall."""

from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from core.people.cluster import attach, chinese_whispers, cluster_graph, compact
from core.people.knn import knn_graph
from core.people.params import params_for
from core.people.reconcile import NEW_BASE, Current, reconcile


def _clique(n: int, offset: int) -> list[tuple[int, int]]:
    return [(offset + i, offset + j) for i in range(n) for j in range(i + 1, n)]


def test_whispers_keep_two_groups_joined_by_one_stray_edge_apart() -> None:
    edges = _clique(6, 0) + _clique(6, 6) + [(5, 6)]  # one bridge
    rows, cols = zip(*edges, strict=True)
    a = sparse.coo_matrix((np.ones(len(edges)), (rows, cols)), shape=(12, 12)).tocsr()
    a = (a + a.T).tocsr()
    assert connected_components(a)[0] == 1  # what connected components (or DBSCAN) would do
    labels = compact(chinese_whispers(a), 2)
    assert len(set(labels[:6])) == 1 and len(set(labels[6:])) == 1
    assert labels[0] != labels[6]


def _blobs(rng: np.random.Generator, sizes: list[int], dim: int = 64,
           spread: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    centres = rng.standard_normal((len(sizes), dim))
    labels = np.repeat(np.arange(len(sizes)), sizes)
    x = centres[labels] / np.sqrt(dim) + spread * rng.standard_normal((len(labels), dim)) / 1.0
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32), labels


def test_clusters_recover_identities_and_drop_tiny_groups() -> None:
    rng = np.random.default_rng(0)
    x, truth = _blobs(rng, [20, 15, 10, 2])
    labels = cluster_graph(knn_graph(x, 10), 0.6, 3)
    for t in range(3):
        assert len(set(labels[truth == t])) == 1 and labels[truth == t][0] >= 0
    assert (labels[truth == 3] == -1).all()  # two faces make no person
    assert len(set(labels[labels >= 0])) == 3


def test_ivf_graph_finds_the_close_neighbours() -> None:
    rng = np.random.default_rng(1)
    x, _ = _blobs(rng, [30] * 200, dim=48, spread=0.08)
    exact = knn_graph(x, 10)
    approx = knn_graph(x, 10, exact_limit=1000)  # forces the IVF path
    close = exact.sims >= 0.6
    found = [len(set(approx.index[i]) & set(exact.index[i][close[i]])) for i in range(len(x))]
    assert sum(found) / close.sum() > 0.95
    # The lists store float16: the similarities returned are still the vectors' own, to 1e-3.
    hit = approx.index >= 0
    true_sims = np.einsum("nd,nkd->nk", x, x[np.where(hit, approx.index, 0)])
    assert np.abs(true_sims - approx.sims)[hit].max() < 1e-3


def test_attach_needs_closeness_and_a_margin_and_respects_bans() -> None:
    from core.people.knn import Neighbours

    ref = np.array([7, 7, 9, 9])
    idx = np.array([[0, 2, -1], [2, 0, -1], [0, 1, 2], [0, 2, 3], [2, 0, 1]])
    sims = np.array([[0.9, 0.89, -1], [0.95, 0.6, -1], [0.5, 0.4, 0.3], [0.9, 0.85, 0.6],
                     [0.9, 0.7, 0.6]], np.float32)
    bans = [set(), set(), set(), {7}, {7}]
    labels, best = attach(Neighbours(idx, sims), ref, 0.8, 0.1, bans)
    # no margin; clear; too far; as close to a person it is not (too unsure); clear of the ban
    assert labels.tolist() == [-1, 9, -1, -1, 9]
    assert best[1] == np.float32(0.95)


def test_reconcile_keeps_user_faces_votes_and_bans() -> None:
    x = np.eye(4, dtype=np.float32)[[0, 0, 0, 0, 1, 1, 1, 2, 2, 2]]
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 2, 2, 2])
    person = np.array([5, 5, 5, 6, -1, -1, -1, 8, 8, -1])
    user = np.array([False, False, False, True, False, False, False, False, False, False])
    cur = Current(person, user, rejected={1: {5}})
    target = reconcile(labels, cur, x)
    assert target[3] == 6  # the user's face stays where the user put it
    assert target[0] == 5 and target[2] == 5  # their person, by vote
    assert target[1] == -1  # banned from 5: unassigned, not a second guess
    assert set(target[4:7].tolist()) == {NEW_BASE}  # no evidence: a new person
    assert set(target[7:].tolist()) == {8}


def test_params_per_model_with_fallback() -> None:
    assert params_for("dlib-resnet-v1").link_sim > 0.9
    assert params_for("insightface-buffalo_l-w600k_r50-0123abcd").link_sim < 0.7
    assert params_for("something-else").link_sim == params_for("other").link_sim
    assert params_for("dlib-resnet-v1", k=5).k == 5
