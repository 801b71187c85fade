"""Clustering side by side on the same texts and the same vectors (saved by the pipeline benchmark).

- `subjects`: the product's subject clustering (`triage.themes.cluster.subject_clusters`, k <= 20);
- `triage-k`: the same method with k chosen up to 300 (`cluster_vectors`, as the evals run it);
- `bertopic`: BERTopic's default pipeline (UMAP 15 neighbours / 5 dims, HDBSCAN min size 10, c-TF-IDF);
- `scale`: 1M synthetic vectors (real ones plus noise) with mini-batch k-means, and at 100k the NMI of
  full k-means against mini-batch k-means at the same k (the quality cost of going mini-batch).
Each method runs in its own process, so its peak memory is its own. NMI is against the source labels
of the corpus (dataset-prefixed); BERTopic's outliers (-1) count as one cluster.
"""

from __future__ import annotations

import resource
import time
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.metrics import normalized_mutual_info_score

SCALE_K = 100
"""Clusters for the scale test (a fixed k: choosing k on a 1M-point graph is what mini-batch avoids)."""


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _load(path: Path) -> tuple[np.ndarray, list[str], list[str]]:
    data = np.load(path)
    return data["vectors"].astype(np.float32), [str(x) for x in data["texts"]], [str(x) for x in data["labels"]]


def _nmi(labels: list[str], predicted: np.ndarray) -> float:
    keep = [i for i, label in enumerate(labels) if label]
    return round(float(normalized_mutual_info_score([labels[i] for i in keep], predicted[keep])), 4)


def method(name: str, path: Path, seed: int = 0) -> dict[str, Any]:
    vectors, texts, labels = _load(path)
    base_mb = _peak_mb()
    started = time.perf_counter()
    if name == "subjects":
        from triage.themes.cluster import subject_clusters

        predicted = subject_clusters(vectors, seed=seed).labels
    elif name == "triage-k":
        from triage.themes.clustering import cluster_vectors

        predicted = cluster_vectors(vectors, None, seed=seed, k_max=300).labels
    elif name == "bertopic":
        from bertopic import BERTopic
        from hdbscan import HDBSCAN
        from umap import UMAP

        umap = UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine", random_state=seed)
        hdbscan = HDBSCAN(min_cluster_size=10, metric="euclidean", cluster_selection_method="eom", prediction_data=True)
        topics, _ = BERTopic(umap_model=umap, hdbscan_model=hdbscan).fit_transform(texts, embeddings=vectors)
        predicted = np.asarray(topics)
    else:
        raise ValueError(f"unknown method {name}")
    seconds = time.perf_counter() - started
    return {
        "method": name,
        "n": len(vectors),
        "seconds": round(seconds, 2),
        "clusters": len(set(predicted.tolist())),
        "nmi": _nmi(labels, predicted),
        "peak_rss_mb": round(_peak_mb(), 1),
        "rss_before_mb": round(base_mb, 1),
    }


def synthetic(vectors: np.ndarray, n: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """`n` unit vectors: real ones drawn with replacement plus Gaussian noise; returns them and their sources."""
    rng = np.random.default_rng(seed)
    source = rng.integers(0, len(vectors), n)
    out = np.empty((n, vectors.shape[1]), dtype=np.float32)
    for start in range(0, n, 100_000):
        idx = source[start : start + 100_000]
        block = vectors[idx] + rng.normal(0, noise, (len(idx), vectors.shape[1])).astype(np.float32)
        out[start : start + len(idx)] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out, source


def _minibatch(vectors: np.ndarray, k: int, seed: int) -> np.ndarray:
    model = MiniBatchKMeans(n_clusters=k, batch_size=8192, n_init=3, max_no_improvement=20, random_state=seed)
    labels: np.ndarray = model.fit_predict(vectors)
    return labels


def scale(path: Path, n: int, quality_n: int, seed: int = 0, noise: float = 0.02) -> dict[str, Any]:
    """Mini-batch k-means on `n` synthetic vectors; full vs mini-batch NMI at `quality_n`."""
    real, _, labels = _load(path)
    label_of = np.array(labels)
    result: dict[str, Any] = {"k": SCALE_K, "noise": noise, "source_vectors": len(real)}

    sample, source = synthetic(real, quality_n, noise, seed)
    truth = list(label_of[source])
    started = time.perf_counter()
    full = KMeans(n_clusters=SCALE_K, n_init=1, random_state=seed).fit_predict(sample)
    full_s = time.perf_counter() - started
    started = time.perf_counter()
    mini = _minibatch(sample, SCALE_K, seed)
    mini_s = time.perf_counter() - started
    result["quality"] = {
        "n": quality_n,
        "full_kmeans_s": round(full_s, 2),
        "minibatch_s": round(mini_s, 2),
        "full_nmi": _nmi(truth, full),
        "minibatch_nmi": _nmi(truth, mini),
        "agreement_nmi": round(float(normalized_mutual_info_score(full, mini)), 4),
    }
    del sample

    started = time.perf_counter()
    big, source = synthetic(real, n, noise, seed + 1)
    make_s = time.perf_counter() - started
    started = time.perf_counter()
    labels_big = _minibatch(big, SCALE_K, seed)
    minibatch_s = time.perf_counter() - started
    from triage.themes.cluster import subject_clusters

    started = time.perf_counter()
    subjects = subject_clusters(big, seed=seed)
    result["large"] = {
        "n": n,
        "make_vectors_s": round(make_s, 2),
        "minibatch_s": round(minibatch_s, 2),
        "nmi": _nmi(list(label_of[source]), labels_big),
        "product_subjects_s": round(time.perf_counter() - started, 2),
        "product_subjects_k": int(subjects.labels.max()) + 1,
        "product_subjects_nmi": _nmi(list(label_of[source]), subjects.labels),
        "peak_rss_mb": round(_peak_mb(), 1),
    }
    return result
