"""Clustering with scikit-learn: subjects of all comments, candidate new themes among the unassigned."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sklearn.cluster import AgglomerativeClustering, MiniBatchKMeans

from triage.ports import Vectors
from triage.themes.clustering import cluster_vectors

log = logging.getLogger(__name__)
Labels = npt.NDArray[np.int64]
LARGE = 50_000
"""Past this many comments subjects use mini-batch k-means (k chosen on a sample): the graph is O(n^2)."""
DISCOVER_MAX = 5_000
"""Average linkage holds an O(n^2) distance matrix: past this many, groups are found on a seeded sample."""


@dataclass(frozen=True)
class Clustering:
    labels: Labels
    centroids: Vectors


def centroids_of(vectors: Vectors, labels: Labels) -> Vectors:
    """Unit-length mean vector of each label 0..max(labels)."""
    k = int(labels.max()) + 1 if len(labels) else 0
    sums = np.zeros((k, vectors.shape[1]), dtype=np.float64)
    np.add.at(sums, labels, vectors)
    norms = np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-12)
    centroids: Vectors = (sums / norms).astype(np.float32)
    return centroids


def subject_clusters(vectors: Vectors, k: int | None = None, seed: int = 0) -> Clustering:
    """Subjects: `clustering.cluster_vectors` (kNN graph, spectral embedding, k-means); k by eigengap when not given.

    Labels are renumbered 0..k-1 with no gaps; centroids are the members' unit mean vectors. Seeded and
    deterministic: the same vectors, k and seed give the same clustering.
    """
    n = len(vectors)
    if n < 4:
        return Clustering(np.zeros(n, dtype=np.int64), vectors[:1].copy() if n else vectors)
    if n > LARGE:
        # Quality cost against full k-means measured in bench/ (README "Performance").
        sample = np.random.default_rng(seed).choice(n, DISCOVER_MAX * 2, replace=False)
        k = k or cluster_vectors(vectors[sample], None, seed=seed, k_max=20).k
        batches = MiniBatchKMeans(n_clusters=k, batch_size=8192, n_init=3, random_state=seed)
        raw = batches.fit_predict(vectors)
    else:
        raw = cluster_vectors(vectors, k or None, seed=seed, k_max=max(3, min(20, n // 15))).labels
    _, labels = np.unique(raw, return_inverse=True)
    labels = labels.astype(np.int64).ravel()
    log.info("subjects: k=%d for %d comments", int(labels.max()) + 1, n)
    return Clustering(labels, centroids_of(vectors, labels))


@dataclass(frozen=True)
class DiscoveredGroup:
    members: list[int]
    centroid: npt.NDArray[np.float32]
    threshold: float


def discover_groups(
    vectors: Vectors, min_size: int, max_distance: float = 0.55, seed: int = 0
) -> list[DiscoveredGroup]:
    """Tight groups among comments no taxonomy theme fits: candidate new themes.

    Average-linkage agglomerative clustering on cosine distance, cut at `max_distance`; groups smaller
    than `min_size` are noise. A group's threshold is the similarity its members reach to its centroid
    (10th percentile), which later decides whether a single new comment belongs to it.
    """
    if len(vectors) < max(min_size, 2):
        return []
    model = AgglomerativeClustering(
        n_clusters=None, metric="cosine", linkage="average", distance_threshold=max_distance
    )
    if len(vectors) > DISCOVER_MAX:
        # Groups from a seeded sample; every other comment joins the group whose linkage cut it falls within.
        sample = np.sort(np.random.default_rng(seed).choice(len(vectors), DISCOVER_MAX, replace=False))
        found = model.fit_predict(vectors[sample])
        centroids = centroids_of(vectors[sample], found.astype(np.int64))
        similarity = vectors @ centroids.T
        labels = np.where(similarity.max(axis=1) >= 1 - max_distance, similarity.argmax(axis=1), -1)
        labels[sample] = found
    else:
        labels = model.fit_predict(vectors)
    groups = []
    for label in sorted(set(labels.tolist())):
        members = [int(i) for i in np.flatnonzero(labels == label)]
        if len(members) < min_size or label < 0:
            continue
        centroid = vectors[members].mean(axis=0)
        centroid = (centroid / np.linalg.norm(centroid)).astype(np.float32)
        similarity = vectors[members] @ centroid
        groups.append(DiscoveredGroup(members, centroid, float(np.percentile(similarity, 10))))
    return groups


def stable_id(prefix: str, words: Sequence[str]) -> str:
    """An id derived from content, so the same group gets the same id when a run is repeated."""
    return prefix + hashlib.sha1(" ".join(words).encode()).hexdigest()[:8]
