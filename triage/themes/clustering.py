"""Clustering short texts into subjects from their unit sentence embeddings: better than k-means alone.

The method (each step measured on tuning data, see evals/README.md):
1. a k-nearest-neighbour graph on cosine similarity, symmetrised;
2. its spectral embedding (the leading eigenvectors of the normalised graph), rows normalised: points
   of one dense region of the graph land together even when the region is not a ball;
3. k-means with several restarts on that embedding.
When k is not given it is chosen on the same graph (see `choose_k`). Everything is seeded and
deterministic: the same vectors, k and seed give the same labels.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from scipy.linalg import eigh
from scipy.sparse.csgraph import connected_components
from scipy.sparse.linalg import eigsh
from sklearn.cluster import KMeans
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer

log = logging.getLogger(__name__)
Matrix = npt.NDArray[np.float32]
Labels = npt.NDArray[np.int64]
SPECTRAL_MAX = 30_000
"""Above this many points the O(n^2) graph is skipped: plain k-means on the vectors."""
DENSE_MAX = 6000
"""Up to this many points the eigenvectors come from a dense solver (exact, fast at this size)."""
_EIGEN: dict[str, tuple[Any, Any]] = {}
"""The last two eigendecompositions, keyed by their graph and size: other seeds reuse them (two: the
eigengap's graph and the layout's fuzzy graph)."""
_EIGEN_LOCK = threading.Lock()


@dataclass(frozen=True)
class ClusterParams:
    """Knobs of `cluster_vectors`; the defaults are the values chosen on the tuning splits.

    The other settings were measured one at a time and did not help (evals/README.md, "What helped").
    """

    n_neighbors: int = 10
    """Neighbours per point in the graph (capped by the data size)."""
    smooth: float = 0.0
    """Weight of the neighbours' mean added to each vector before the graph (0 = off)."""
    text_weight: float = 0.0
    """Weight of TF-IDF (SVD-reduced) text features concatenated to the embedding (0 = off)."""
    spectral: bool = True
    n_init: int = 10
    extra_dims: int = 0
    """Eigenvectors beyond k kept in the spectral embedding."""
    refine: bool = False
    """Finish with k-means on the vectors, started from the spectral clusters' centroids."""
    consensus: int = 0
    """Runs (seeds) whose co-clustering reweights the graph before a final spectral clustering (0 = off)."""
    weights: str = "cosine"
    """Edge weights: "cosine"; "local" (self-tuning, exp(-d^2 / s_i s_j), s = 7th-neighbour distance); "snn"."""
    mutual: float = 1.0
    """Weight of edges that only one end chose (1 = the usual symmetric kNN graph; below 1 favours mutual edges)."""
    layout_dims: int = 10
    """Dimensions of the graph layout k-means runs on (0 = k-means on the spectral embedding instead)."""
    layout_neighbors: int = 15
    layout_epochs: int = 200
    layout_rate: float = 0.2


@dataclass(frozen=True)
class ClusterResult:
    labels: Labels
    k: int


def normalize(x: npt.NDArray[np.floating[Any]]) -> Matrix:
    """Rows scaled to unit length (zero rows stay zero)."""
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    unit: Matrix = (x / np.maximum(norms, 1e-12)).astype(np.float32)
    return unit


Neighbours = tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]
"""Each point's nearest other points, most similar first: (n x m indices, n x m cosine similarities)."""


def neighbours(vectors: Matrix, m: int) -> Neighbours:
    """Each point's `m` most cosine-similar other points, most similar first."""
    n = len(vectors)
    indices, similarities = [], []
    for start in range(0, n, 2048):
        sim = vectors[start : start + 2048] @ vectors.T
        sim[np.arange(sim.shape[0]), np.arange(start, start + sim.shape[0])] = -np.inf
        idx = np.argpartition(sim, n - m, axis=1)[:, n - m :]
        top = np.take_along_axis(sim, idx, axis=1)
        order = np.argsort(-top, axis=1, kind="stable")
        indices.append(np.take_along_axis(idx, order, axis=1))
        similarities.append(np.take_along_axis(top, order, axis=1))
    return np.concatenate(indices).astype(np.int64), np.concatenate(similarities).astype(np.float32)


def _nearest(vectors: Matrix, m: int, near: Neighbours | None) -> Neighbours:
    """The `m` nearest from `near` when it holds enough of them, else computed."""
    if near is not None and near[0].shape[1] >= m:
        return near[0][:, :m], near[1][:, :m]
    return neighbours(vectors, m)


def knn_graph(
    vectors: Matrix, n_neighbors: int, weights: str = "cosine", mutual: float = 1.0, near: Neighbours | None = None
) -> sp.csr_matrix:
    """Symmetric sparse graph: each point to its `n_neighbors` most cosine-similar points, weight = similarity.

    `mutual` < 1 weighs an edge only one of its ends chose by that much (mutual edges keep full weight).
    `near`: the points' neighbours when already known (at least `n_neighbors` of them).
    """
    n = len(vectors)
    m = min(n_neighbors, n - 1)
    idx, sim = _nearest(vectors, m, near)
    r, c, s = np.repeat(np.arange(n), m), idx.ravel(), sim.ravel()
    if weights == "local":
        dist = np.sqrt(np.clip(2.0 - 2.0 * s, 0.0, None))
        ranked = np.sort(dist.reshape(n, m), axis=1)
        scale = np.maximum(ranked[:, min(6, m - 1)], 1e-6)
        w = np.exp(-(dist**2) / (scale[r] * scale[c]))
    else:
        w = np.clip(s, 0.0, None)
    graph = sp.csr_matrix((w, (r, c)), shape=(n, n))
    if weights == "snn":
        # Shared nearest neighbours: an edge counts by the overlap of both ends' neighbour lists (Jaccard).
        member = sp.csr_matrix((np.ones(len(r)), (r, c)), shape=(n, n))
        member = member + sp.identity(n, format="csr")
        shared = np.asarray(member[r].multiply(member[c]).sum(axis=1)).ravel()
        jaccard = shared / (2 * (m + 1) - shared)
        graph = sp.csr_matrix((jaccard * np.clip(s, 0.0, None), (r, c)), shape=(n, n))
    if mutual < 1.0:
        return (graph.minimum(graph.T) + mutual * graph.maximum(graph.T)).tocsr()
    return graph.maximum(graph.T).tocsr()


def fuzzy_graph(vectors: Matrix, n_neighbors: int, near: Neighbours | None = None) -> sp.csr_matrix:
    """The kNN graph with UMAP's fuzzy weights: exp(-(d - d_1) / s_i), s_i such that a row sums to log2(m);
    symmetrised as a fuzzy union, w + w' - w w'. The distance is 1 - cosine."""
    n = len(vectors)
    m = min(n_neighbors, n - 1)
    idx, sim = _nearest(vectors, m, near)
    excess = np.clip((1.0 - sim) - (1.0 - sim.max(axis=1, keepdims=True)), 0.0, None).astype(np.float64)
    low, high, scale = np.zeros(n), np.full(n, np.inf), np.ones(n)
    for _ in range(64):  # bisection for each row's scale
        over = np.exp(-excess / scale[:, None]).sum(axis=1) > np.log2(m)
        high, low = np.where(over, scale, high), np.where(over, low, scale)
        scale = np.where(np.isinf(high), scale * 2, (low + high) / 2)
    w = np.exp(-excess / scale[:, None])
    graph = sp.csr_matrix((w.ravel(), (np.repeat(np.arange(n), m), idx.ravel())), shape=(n, n))
    return (graph + graph.T - graph.multiply(graph.T)).tocsr()


def graph_layout(graph: sp.csr_matrix, dims: int, seed: int, epochs: int = 200, rate: float = 0.2) -> Matrix:
    """Points placed in `dims` dimensions so that graph neighbours are close and other points apart.

    UMAP's objective (min_dist 0: a = 1.929, b = 0.7915), started from the graph's spectral embedding and
    optimised with full-batch steps: each epoch samples every edge with probability weight / max weight,
    pulls its ends together and pushes its head from 5 random points; the step shrinks linearly to 0.
    Seeded and deterministic.
    """
    a, b, negatives = 1.929, 0.7915, 5
    n = graph.shape[0]
    rng = np.random.default_rng(seed)
    coo = graph.tocoo()
    keep = coo.data >= coo.data.max() / epochs
    head, tail, p = coo.row[keep], coo.col[keep], coo.data[keep] / coo.data.max()
    _, vecs = top_eigen(graph, dims + 1, seed)
    init = vecs[:, 1 : dims + 1] * np.sign(vecs[np.argmax(np.abs(vecs), axis=0), np.arange(vecs.shape[1])])[1:]
    y = 10 * (init - init.min(axis=0)) / np.maximum(init.max(axis=0) - init.min(axis=0), 1e-12)
    for epoch in range(epochs):
        step = rate * (1 - epoch / epochs)
        on = rng.random(len(p)) < p
        h, t = head[on], tail[on]
        diff = y[h] - y[t]
        d2 = (diff**2).sum(axis=1)
        with np.errstate(divide="ignore"):  # d2 = 0 (duplicates) gives inf, which np.where drops
            pull = np.where(d2 > 0, -2 * a * b * d2 ** (b - 1) / (1 + a * d2**b), 0.0)
        grad = np.clip(pull[:, None] * diff, -4, 4) * step
        hn = np.repeat(h, negatives)
        other = rng.integers(0, n, len(hn))
        diff = y[hn] - y[other]
        d2 = (diff**2).sum(axis=1)
        push = np.where((d2 > 0) & (hn != other), 2 * b / ((0.001 + d2) * (1 + a * d2**b)), 0.0)
        # The moves summed per point as a product with a 0/1 matrix (one column per move, built without sorting):
        # the pulls on both ends and the pushes (6 vs 14 ms an epoch at 10k with a bincount per dimension). Float64:
        # float32 forces halved the time but lowered the run-to-run agreement (example survey, 10 seeds: 0.907
        # vs 0.924 mean pairwise ARI).
        at = np.concatenate([h, t, hn])
        scatter = sp.csc_matrix((np.ones(len(at)), at, np.arange(len(at) + 1)), shape=(n, len(at)))
        y += scatter @ np.concatenate([grad, -grad, np.clip(push[:, None] * diff, -4, 4) * step])
    layout: Matrix = y.astype(np.float32)
    return layout


def smooth_vectors(vectors: Matrix, n_neighbors: int, weight: float) -> Matrix:
    """Each vector plus `weight` times the mean of its neighbours, renormalised: denoises single phrasings."""
    graph = knn_graph(vectors, n_neighbors)
    graph.data[:] = 1.0
    degree = np.asarray(graph.sum(axis=1)).ravel()
    mean = (graph @ vectors) / np.maximum(degree, 1.0)[:, None]
    return normalize(vectors + weight * mean)


def text_features(texts: Sequence[str], dims: int, seed: int) -> Matrix:
    """TF-IDF of words and bigrams reduced by SVD to `dims`, rows normalised."""
    tfidf = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2, stop_words="english").fit_transform(texts)
    dims = max(1, min(dims, int(tfidf.shape[1]) - 1, len(texts) - 1))
    reduced: npt.NDArray[np.float64] = TruncatedSVD(n_components=dims, random_state=seed).fit_transform(tfidf)
    return normalize(reduced)


def _normalized_adjacency(graph: sp.csr_matrix) -> sp.csr_matrix:
    degree = np.asarray(graph.sum(axis=1)).ravel()
    inv_sqrt = sp.diags(1.0 / np.sqrt(np.maximum(degree, 1e-12)))
    return (inv_sqrt @ graph @ inv_sqrt).astype(np.float64).tocsr()


def top_eigen(graph: sp.csr_matrix, dims: int, seed: int, vectors: bool = True) -> tuple[Any, Any]:
    """The `dims` largest eigenpairs of D^-1/2 A D^-1/2, largest first (dense solver up to DENSE_MAX points).

    The last results are kept: runs with other seeds on the same graph reuse them. Only an exact match of
    `dims` is reused: a graph of several components has a repeated eigenvalue 1, whose eigenvectors the solver
    picks differently for another `dims`, so slicing a larger result would make the layout depend on what
    ran before.
    """
    n = graph.shape[0]
    dims = min(dims, n - 2)
    key = hashlib.sha1(graph.indptr.tobytes() + graph.indices.tobytes() + graph.data.tobytes()).hexdigest()
    key += f"-{dims}" + (f"-{seed}" if n > DENSE_MAX else "")
    with _EIGEN_LOCK:
        cached = _EIGEN.get(key)
    if cached is not None:
        values, vecs = cached
        return values, (vecs if vectors else None)
    adjacency = _normalized_adjacency(graph)
    if n <= DENSE_MAX:
        values, vecs = eigh(adjacency.toarray(), subset_by_index=[n - dims, n - 1])
    else:
        v0 = np.random.default_rng(seed).uniform(-1, 1, n)
        values, vecs = eigsh(adjacency, k=dims, which="LA", v0=v0, tol=1e-6)
    order = np.argsort(-values)
    values, vecs = values[order], vecs[:, order]
    with _EIGEN_LOCK:  # runs cluster on several threads at once (subjects beside themes, API workers)
        while len(_EIGEN) >= 2:
            del _EIGEN[next(iter(_EIGEN))]
        _EIGEN[key] = (values, vecs)
    return values, (vecs if vectors else None)


def spectral_embedding(graph: sp.csr_matrix, dims: int, seed: int) -> Matrix:
    """The leading eigenvectors of the symmetric normalised adjacency D^-1/2 A D^-1/2, rows normalised."""
    _, vecs = top_eigen(graph, dims, seed)
    # The sign of each eigenvector is arbitrary: fix it, so equal inputs give equal embeddings.
    signs = np.sign(vecs[np.argmax(np.abs(vecs), axis=0), np.arange(vecs.shape[1])])
    return normalize(vecs * signs)


def features(vectors: Matrix, texts: Sequence[str] | None, params: ClusterParams, seed: int) -> Matrix:
    """The vectors the graph is built on: embeddings, optionally smoothed and joined with text features."""
    x = normalize(vectors)
    if params.text_weight > 0 and texts is not None:
        x = normalize(np.hstack([x, params.text_weight * text_features(texts, 128, seed)]))
    if params.smooth > 0:
        x = smooth_vectors(x, params.n_neighbors, params.smooth)
    return x


def _kmeans(x: Matrix, k: int, seed: int, n_init: int) -> Labels:
    labels: Labels = KMeans(n_clusters=k, random_state=seed, n_init=n_init).fit_predict(x).astype(np.int64)
    return labels


def cluster_vectors(
    vectors: Matrix,
    k: int | None = None,
    texts: Sequence[str] | None = None,
    seed: int = 0,
    params: ClusterParams | None = None,
    k_max: int | None = None,
) -> ClusterResult:
    """Cluster unit vectors (optionally with their texts) into `k` groups, or into a chosen number when k is None.

    `k_max` bounds the chosen k (default: n / 5, at most 300). Above SPECTRAL_MAX points the graph
    would cost O(n^2): k-means on the vectors is used instead.
    """
    params = params or ClusterParams()
    n = len(vectors)
    if n < 3:
        return ClusterResult(np.zeros(n, dtype=np.int64), 1 if n else 0)
    x = features(vectors, texts, params, seed)
    graphs = params.spectral and n <= SPECTRAL_MAX
    # One neighbour search serves the eigengap's graph, the clustering graph and the layout's.
    near = neighbours(x, min(max(params.n_neighbors, params.layout_neighbors), n - 1)) if graphs or k is None else None
    if k is None:
        k = choose_k(x, params, seed, k_max, near)
    k = max(1, min(k, n - 2))
    if not graphs:
        return ClusterResult(_kmeans(x, k, seed, params.n_init), k)
    graph = knn_graph(x, params.n_neighbors, params.weights, params.mutual, near)
    n_parts, _ = connected_components(graph, directed=False)
    if n_parts > k:
        log.debug("knn graph has %d components for k=%d; clustering the vectors instead", n_parts, k)
        return ClusterResult(_kmeans(x, k, seed, params.n_init), k)
    if params.layout_dims:
        fuzzy = fuzzy_graph(x, params.layout_neighbors, near)
        dims = min(params.layout_dims, n - 3)
        layout = graph_layout(fuzzy, dims, seed, params.layout_epochs, params.layout_rate)
        return ClusterResult(_kmeans(layout, k, seed, params.n_init), k)
    embedding = spectral_embedding(graph, k + params.extra_dims, seed)
    labels = _kmeans(embedding, k, seed, params.n_init)
    if params.consensus:
        runs = [labels] + [_kmeans(embedding, k, seed + 1 + r, 1) for r in range(params.consensus - 1)]
        coo = graph.tocoo()
        agree = np.mean([run[coo.row] == run[coo.col] for run in runs], axis=0)
        reweighted = sp.csr_matrix((coo.data * (0.1 + agree), (coo.row, coo.col)), shape=graph.shape)
        labels = _kmeans(spectral_embedding(reweighted, k, seed), k, seed, params.n_init)
    if params.refine:
        centroids = np.stack([x[labels == c].mean(axis=0) for c in range(k) if np.any(labels == c)])
        labels = KMeans(n_clusters=len(centroids), init=centroids, n_init=1).fit_predict(x).astype(np.int64)
    return ClusterResult(labels, k)


def choose_k(
    x: Matrix, params: ClusterParams, seed: int, k_max: int | None = None, near: Neighbours | None = None
) -> int:
    """The number of clusters from the eigengap of the normalised kNN graph (`near`: the points' neighbours)."""
    n = len(x)
    k_max = min(k_max or max(2, min(300, n // 5)), n - 3)
    values, _ = top_eigen(knn_graph(x, params.n_neighbors, params.weights, near=near), k_max + 1, seed)
    gaps = values[:-1] - values[1:]
    return int(np.argmax(gaps[1:]) + 2)
