"""Clustering quality against true identities, and the DBSCAN baseline.

Faces a method leaves unassigned count as clusters of one (the fair reading: the user
sees them as unnamed single faces), so leaving everything unassigned scores precision 1
and low recall, and merging everything scores recall 1 and low precision.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from scipy.sparse.csgraph import connected_components


def _singletons(pred: NDArray[np.int64]) -> NDArray[np.int64]:
    out = pred.copy()
    lone = out < 0
    out[lone] = out.max(initial=-1) + 1 + np.arange(lone.sum())
    return out


def _contingency(truth: NDArray[np.str_], pred: NDArray[np.int64]) -> sparse.csr_matrix:
    _, t = np.unique(truth, return_inverse=True)
    _, p = np.unique(_singletons(pred), return_inverse=True)
    ones = np.ones(len(t))
    return sparse.coo_matrix((ones, (t, p))).tocsr()


def bcubed(truth: NDArray[np.str_], pred: NDArray[np.int64]) -> dict[str, float]:
    """BCubed precision, recall and F1 (Amigó et al. 2009), averaged over faces."""
    c = _contingency(truth, pred)
    n = c.sum()
    cc = c.multiply(c)  # per (class, cluster) cell: n_ij faces, each with n_ij right mates
    cluster_sizes = np.asarray(c.sum(axis=0)).ravel()
    class_sizes = np.asarray(c.sum(axis=1)).ravel()
    coo = cc.tocoo()
    p = float((coo.data / cluster_sizes[coo.col]).sum() / n)
    r = float((coo.data / class_sizes[coo.row]).sum() / n)
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0}


def pairwise(truth: NDArray[np.str_], pred: NDArray[np.int64]) -> dict[str, float]:
    """Precision, recall and F1 over all pairs of faces put together / truly together."""
    c = _contingency(truth, pred)
    both = float((c.data * (c.data - 1)).sum() / 2)
    cl = np.asarray(c.sum(axis=0)).ravel()
    tr = np.asarray(c.sum(axis=1)).ravel()
    pred_pairs = float((cl * (cl - 1)).sum() / 2)
    true_pairs = float((tr * (tr - 1)).sum() / 2)
    p = both / pred_pairs if pred_pairs else 1.0
    r = both / true_pairs if true_pairs else 1.0
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0}


def dbscan_cosine(vectors: NDArray[np.float32], eps: float, min_samples: int) -> NDArray[np.int64]:
    """DBSCAN (Ester et al. 1996; scikit-learn's semantics: a point counts itself) on
    cosine distance. Exact all-pairs: fine for the few thousand labelled faces here."""
    sims = vectors @ vectors.T
    near = sims >= 1.0 - eps
    core = near.sum(axis=1) >= min_samples
    core_idx = np.flatnonzero(core)
    graph = sparse.csr_matrix(near[np.ix_(core_idx, core_idx)])
    _, comp = connected_components(graph, directed=False)
    labels = np.full(len(vectors), -1, np.int64)
    labels[core_idx] = comp
    # Border points join the cluster of their most similar core neighbour.
    border = np.flatnonzero(~core & near[:, core].any(axis=1))
    if len(border):
        s = np.where(near[np.ix_(border, core_idx)], sims[np.ix_(border, core_idx)], -2.0)
        labels[border] = comp[s.argmax(axis=1)]
    return labels


def connected(vectors: NDArray[np.float32], link_sim: float, min_size: int) -> NDArray[np.int64]:
    """Plain connected components over all pairs above `link_sim` (the chaining reference)."""
    sims = vectors @ vectors.T
    _, comp = connected_components(sparse.csr_matrix(sims >= link_sim), directed=False)
    counts = np.bincount(comp)
    return np.where(counts[comp] >= min_size, comp, -1).astype(np.int64)
