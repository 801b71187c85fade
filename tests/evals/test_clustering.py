"""triage.themes.clustering on seeded synthetic blobs on the unit sphere."""

from __future__ import annotations

import numpy as np
import pytest

from evals.scorers import matched_accuracy
from triage.themes import clustering
from triage.themes.clustering import ClusterParams, cluster_vectors, fuzzy_graph, knn_graph, neighbours, normalize

pytestmark = pytest.mark.store_free


def blobs(k: int, per: int, dims: int = 32, spread: float = 0.25, seed: int = 0) -> tuple[np.ndarray, list[int]]:
    rng = np.random.default_rng(seed)
    centres = normalize(rng.normal(size=(k, dims)))
    x = np.concatenate([c + spread * rng.normal(size=(per, dims)) / np.sqrt(dims) * 4 for c in centres])
    return normalize(x), [i for i in range(k) for _ in range(per)]


@pytest.mark.parametrize("spectral", [True, False], ids=["spectral", "kmeans"])
def test_recovers_blobs_with_k_given(spectral: bool) -> None:
    x, gold = blobs(6, 40)
    result = cluster_vectors(x, 6, seed=0, params=ClusterParams(spectral=spectral))
    assert result.k == 6
    assert matched_accuracy(gold, result.labels) >= 0.95


def test_chooses_k_on_separated_blobs() -> None:
    x, gold = blobs(5, 50, spread=0.15)
    result = cluster_vectors(x, None, seed=0)
    assert result.k == 5
    assert matched_accuracy(gold, result.labels) >= 0.95


def test_same_seed_same_labels() -> None:
    x, _ = blobs(8, 25, spread=0.6, seed=3)
    first = cluster_vectors(x, 8, seed=1).labels
    assert np.array_equal(first, cluster_vectors(x.copy(), 8, seed=1).labels)


def test_layout_does_not_depend_on_what_ran_before() -> None:
    """A graph of several components has a repeated eigenvalue 1: an earlier, larger eigendecomposition of the
    same graph must not change the layout (it made re-runs of one analysis differ in full-suite runs)."""
    x, _ = blobs(3, 20, spread=0.05, seed=2)
    graph = fuzzy_graph(x, 5)
    clustering._EIGEN.clear()
    alone = clustering.graph_layout(graph, 3, seed=0)
    clustering._EIGEN.clear()
    clustering.top_eigen(graph, 20, seed=0)
    assert np.array_equal(alone, clustering.graph_layout(graph, 3, seed=0))


def test_text_features_are_used_when_weighted() -> None:
    x, _ = blobs(2, 10)
    texts = [f"laptop request {i}" for i in range(10)] + [f"expense claim {i}" for i in range(10)]
    result = cluster_vectors(x, 2, texts=texts, seed=0, params=ClusterParams(text_weight=0.5))
    assert sorted(np.bincount(result.labels).tolist()) == [10, 10]


@pytest.mark.parametrize("n", [0, 1, 2], ids=["empty", "one", "two"])
def test_tiny_inputs(n: int) -> None:
    x, _ = blobs(1, n) if n else (np.zeros((0, 32), dtype=np.float32), [])
    result = cluster_vectors(x, 3, seed=0)
    assert len(result.labels) == n


def test_knn_graph_is_symmetric_without_self_loops() -> None:
    x, _ = blobs(3, 10)
    graph = knn_graph(x, 4)
    assert (graph != graph.T).nnz == 0
    assert graph.diagonal().sum() == 0
    assert graph.getnnz(axis=1).min() >= 4


def test_neighbours_come_most_similar_first_and_can_be_shared() -> None:
    x, _ = blobs(3, 20)
    idx, sim = neighbours(x, 8)
    assert np.all(np.diff(sim, axis=1) <= 0)
    assert np.allclose(sim, np.take_along_axis(x @ x.T, idx, axis=1), atol=1e-6)
    assert not np.any(idx == np.arange(len(x))[:, None])
    # A graph built from a longer, shared neighbour list is the graph built from scratch.
    assert (knn_graph(x, 4, near=(idx, sim)) != knn_graph(x, 4)).nnz == 0
