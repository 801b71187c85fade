"""Clustering with scikit-learn: subjects of all comments, candidate new themes among the unassigned."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sklearn.cluster import AgglomerativeClustering, KMeans, MiniBatchKMeans
from sklearn.metrics import silhouette_score

from triage.ports import Vectors

log = logging.getLogger(__name__)
Labels = npt.NDArray[np.int64]
MINIBATCH_ABOVE = 20_000


@dataclass(frozen=True)
class Clustering:
    labels: Labels
    centroids: Vectors


def _kmeans(vectors: Vectors, k: int, seed: int) -> Clustering:
    model: KMeans | MiniBatchKMeans
    if len(vectors) > MINIBATCH_ABOVE:
        model = MiniBatchKMeans(n_clusters=k, random_state=seed, n_init=3, batch_size=4096)
    else:
        model = KMeans(n_clusters=k, random_state=seed, n_init=4)
    labels = model.fit_predict(vectors)
    centroids = model.cluster_centers_ / np.linalg.norm(model.cluster_centers_, axis=1, keepdims=True)
    return Clustering(labels.astype(np.int64), centroids.astype(np.float32))


def subject_clusters(vectors: Vectors, k: int | None = None, seed: int = 0) -> Clustering:
    """K-means on unit vectors; k chosen by cosine silhouette when not given."""
    n = len(vectors)
    if n < 4:
        return Clustering(np.zeros(n, dtype=np.int64), vectors[:1].copy() if n else vectors)
    if k is not None:
        return _kmeans(vectors, min(k, n), seed)
    candidates = [c for c in range(3, max(4, min(20, n // 15)) + 1) if c < n]
    best: tuple[float, Clustering] | None = None
    for c in candidates:
        clustering = _kmeans(vectors, c, seed)
        if len(set(clustering.labels.tolist())) < 2:
            continue
        score = float(
            silhouette_score(vectors, clustering.labels, metric="cosine", sample_size=min(n, 3000), random_state=seed)
        )
        log.debug("subjects k=%d silhouette=%.3f", c, score)
        if best is None or score > best[0]:
            best = (score, clustering)
    assert best is not None
    log.info("subjects: k=%d (silhouette %.3f)", len(best[1].centroids), best[0])
    return best[1]


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
    labels = model.fit_predict(vectors)
    groups = []
    for label in sorted(set(labels.tolist())):
        members = [int(i) for i in np.flatnonzero(labels == label)]
        if len(members) < min_size:
            continue
        centroid = vectors[members].mean(axis=0)
        centroid = (centroid / np.linalg.norm(centroid)).astype(np.float32)
        similarity = vectors[members] @ centroid
        groups.append(DiscoveredGroup(members, centroid, float(np.percentile(similarity, 10))))
    return groups


def stable_id(prefix: str, words: Sequence[str]) -> str:
    """An id derived from content, so the same group gets the same id when a run is repeated."""
    return prefix + hashlib.sha1(" ".join(words).encode()).hexdigest()[:8]
