"""The systems the evals compare: ours (triage) and the baselines, behind one signature per task."""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sklearn.cluster import KMeans
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import silhouette_score

from evals.data import Dataset
from evals.scorers import ABSTAIN
from triage.themes.classifier import NgramEmbeddingClassifier
from triage.themes.clustering import cluster_vectors

log = logging.getLogger(__name__)
Labels = npt.NDArray[np.int64]
ClusterFn = Callable[[Dataset, "int | None", int], Labels]

OURS = "ours"


def _vectors(data: Dataset) -> npt.NDArray[np.float32]:
    if data.vectors is None:
        raise ValueError(f"dataset {data.name} has no vectors: call .embed() first")
    return data.vectors


# clustering: (data, k or None, seed) -> one label per item


def ours_cluster(data: Dataset, k: int | None, seed: int) -> Labels:
    """triage.themes.clustering: MiniLM vectors -> fuzzy 15-NN graph -> layout (10 dims, from its spectral
    embedding) -> k-means; k unknown: eigengap of the 10-NN graph."""
    return cluster_vectors(_vectors(data), k, texts=data.texts, seed=seed).labels


def tfidf_kmeans(data: Dataset, k: int | None, seed: int) -> Labels:
    if k is None:
        raise NotImplementedError
    tfidf = TfidfVectorizer(sublinear_tf=True, stop_words="english").fit_transform(data.texts)
    labels: Labels = KMeans(n_clusters=k, random_state=seed, n_init=1).fit_predict(tfidf).astype(np.int64)
    return labels


def silhouette_kmeans(vectors: npt.NDArray[np.float32], seed: int) -> Labels:
    """The product's subject clustering before `cluster_vectors`: k-means (4 restarts), k = 3..min(20, n/15)
    chosen by cosine silhouette (on at most 3,000 sampled points)."""
    n = len(vectors)
    best: tuple[float, Labels] | None = None
    for c in range(3, max(4, min(20, n // 15)) + 1):
        labels = KMeans(n_clusters=c, random_state=seed, n_init=4).fit_predict(vectors).astype(np.int64)
        if len(set(labels.tolist())) < 2:
            continue
        score = float(silhouette_score(vectors, labels, metric="cosine", sample_size=min(n, 3000), random_state=seed))
        if best is None or score > best[0]:
            best = (score, labels)
    assert best is not None
    return best[1]


def minilm_kmeans(data: Dataset, k: int | None, seed: int) -> Labels:
    """The classic embedding baseline; with k unknown, the product's former subject clustering (silhouette, k<=20)."""
    if k is None:
        return silhouette_kmeans(_vectors(data), seed)
    labels: Labels = KMeans(n_clusters=k, random_state=seed, n_init=1).fit_predict(_vectors(data)).astype(np.int64)
    return labels


def bertopic_available() -> bool:
    return all(importlib.util.find_spec(m) is not None for m in ("bertopic", "umap", "hdbscan"))


def bertopic_default(data: Dataset, k: int | None, seed: int) -> Labels:
    """BERTopic's default pipeline on the same vectors: UMAP(15 neighbours, 5 dims, cosine) then HDBSCAN
    (min_topic_size 10; outliers form one cluster, -1), or k-means when k is given (as in its docs)."""
    from bertopic import BERTopic
    from hdbscan import HDBSCAN
    from umap import UMAP

    umap = UMAP(n_neighbors=15, n_components=5, min_dist=0.0, metric="cosine", random_state=seed)
    clusterer = (
        KMeans(n_clusters=k, random_state=seed, n_init=1)
        if k is not None
        else HDBSCAN(min_cluster_size=10, metric="euclidean", cluster_selection_method="eom", prediction_data=True)
    )
    model = BERTopic(umap_model=umap, hdbscan_model=clusterer, calculate_probabilities=False)
    topics, _ = model.fit_transform(data.texts, embeddings=_vectors(data))
    return np.asarray(topics, dtype=np.int64)


@dataclass(frozen=True)
class ClusterMethod:
    name: str
    fn: ClusterFn
    chooses_k: bool
    what: str


def cluster_methods(include_bertopic: bool | None = None) -> list[ClusterMethod]:
    """Ours first, then the baselines (BERTopic only when its optional extra is installed)."""
    methods = [
        ClusterMethod(OURS, ours_cluster, True, "MiniLM + fuzzy kNN graph, 10-dim layout, k-means (triage)"),
        ClusterMethod("tfidf-kmeans", tfidf_kmeans, False, "TF-IDF + k-means"),
        ClusterMethod("minilm-kmeans", minilm_kmeans, True, "MiniLM + k-means; k unknown: silhouette (product before)"),
    ]
    if include_bertopic is None:
        include_bertopic = bertopic_available()
    if include_bertopic:
        methods.append(ClusterMethod("bertopic", bertopic_default, True, "BERTopic: UMAP + k-means / HDBSCAN"))
    return methods


# assignment: (train, test) -> (predicted label or ABSTAIN, confidence) per test item


@dataclass(frozen=True)
class Assignment:
    predicted: list[str]
    confidence: list[float]


AssignFn = Callable[[Dataset, Dataset, float], Assignment]


def _with_threshold(classes: list[str], proba: npt.NDArray[np.float64], threshold: float) -> Assignment:
    best = proba.argmax(axis=1)
    conf = proba.max(axis=1)
    predicted = [classes[j] if c >= threshold else ABSTAIN for j, c in zip(best, conf, strict=True)]
    return Assignment(predicted, [round(float(c), 4) for c in conf])


def ngram_embedding_proba(train: Dataset, test: Dataset) -> tuple[list[str], npt.NDArray[np.float64]]:
    """The product's theme classifier (word + char n-grams + embedding, logistic regression)."""
    model = NgramEmbeddingClassifier().fit(train.texts, _vectors(train), train.labels)
    return model.classes, model.predict_proba(test.texts, _vectors(test))


def minilm_logreg_proba(train: Dataset, test: Dataset) -> tuple[list[str], npt.NDArray[np.float64]]:
    """Linear probe on frozen MiniLM vectors (the MTEB classification protocol, roughly)."""
    model = LogisticRegression(C=10.0, max_iter=2000).fit(_vectors(train), train.labels)
    return [str(c) for c in model.classes_], np.asarray(model.predict_proba(_vectors(test)), dtype=np.float64)


def minilm_centroid_proba(train: Dataset, test: Dataset) -> tuple[list[str], npt.NDArray[np.float64]]:
    """Nearest label centroid by cosine; the 'probability' is a softmax of similarities (temperature 0.05)."""
    classes = sorted(set(train.labels))
    x = _vectors(train)
    centroids = np.stack([x[[i for i, y in enumerate(train.labels) if y == c]].mean(axis=0) for c in classes])
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    logits = (_vectors(test) @ centroids.T) / 0.05
    logits -= logits.max(axis=1, keepdims=True)
    proba = np.exp(logits)
    return classes, proba / proba.sum(axis=1, keepdims=True)


ProbaFn = Callable[[Dataset, Dataset], tuple[list[str], npt.NDArray[np.float64]]]


@dataclass(frozen=True)
class AssignMethod:
    name: str
    fn: ProbaFn
    what: str


def assign_methods() -> list[AssignMethod]:
    return [
        AssignMethod(OURS, ngram_embedding_proba, "triage NgramEmbeddingClassifier (n-grams + MiniLM, logreg)"),
        AssignMethod("minilm-logreg", minilm_logreg_proba, "logistic regression on MiniLM vectors"),
        AssignMethod("minilm-centroid", minilm_centroid_proba, "nearest label centroid, MiniLM"),
    ]


def choose_threshold(gold: list[str], classes: list[str], proba: npt.NDArray[np.float64]) -> float:
    """The confidence threshold that maximises accuracy on validation data (abstaining is right on `oos`)."""
    best = (-1.0, 0.0)
    for threshold in np.round(np.arange(0.0, 0.96, 0.05), 2):
        predicted = _with_threshold(classes, proba, float(threshold)).predicted
        score = np.mean([p == g or (p == ABSTAIN and g == "oos") for g, p in zip(gold, predicted, strict=True)])
        if score > best[0]:
            best = (float(score), float(threshold))
    return best[1]


def assign_with_abstention(
    method: AssignMethod, train: Dataset, test: Dataset, seed: int = 0
) -> tuple[Assignment, float]:
    """Fit on 80% of `train`, choose the abstention threshold on the other 20%, refit on all of it, predict `test`.

    Items labelled `oos` in `train` are used only to choose the threshold, never as a class.
    """
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(train))
    cut = int(len(train) * 0.8)
    fit_part, val_part = train.take(sorted(order[:cut])), train.take(sorted(order[cut:]))
    classes, proba = method.fn(fit_part.without("oos"), val_part)
    threshold = choose_threshold(val_part.labels, classes, proba)
    classes, proba = method.fn(train.without("oos"), test)
    return _with_threshold(classes, proba, threshold), threshold
