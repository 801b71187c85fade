"""`python -m evals ablate`: one clustering idea at a time, measured on the TUNING splits only.

Each tuning split is subsampled to the size and density of its test split (Banking77: up to 40 per intent,
CLINC150: 20 per intent), a few disjoint-seeded subsamples, k = gold count; mean ACC / NMI / ARI.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace

import numpy as np
import numpy.typing as npt

from evals.data import CACHE, Dataset, EmbeddingCache, banking77, clinc150
from evals.scorers import ari, matched_accuracy, nmi
from triage.themes.clustering import ClusterParams, cluster_vectors

Labels = npt.NDArray[np.int64]
Variant = Callable[[Dataset, int | None, int], Labels]


def tune_subsets(data: Dataset, per_label: int, n: int) -> list[Dataset]:
    """`n` stratified subsamples with `per_label` items per label (seeded 0..n-1)."""
    out = []
    for seed in range(n):
        rng = np.random.default_rng(1000 + seed)
        by_label: dict[str, list[int]] = defaultdict(list)
        for i in rng.permutation(len(data)):
            if len(by_label[data.labels[i]]) < per_label:
                by_label[data.labels[i]].append(int(i))
        out.append(data.take(sorted(i for idx in by_label.values() for i in idx), name=f"{data.name}-sub{seed}"))
    return out


def params_variant(params: ClusterParams) -> Variant:
    def run(data: Dataset, k: int | None, seed: int) -> Labels:
        assert data.vectors is not None
        return cluster_vectors(data.vectors, k, texts=data.texts, seed=seed, params=params).labels

    return run


OURS = ClusterParams()
BASE = replace(OURS, layout_dims=0)
"""The spectral method before the layout: k-means on the spectral embedding of the 10-NN graph."""
KMEANS = replace(BASE, spectral=False)
VARIANTS: dict[str, Variant] = {
    "MiniLM + k-means (10 restarts)": params_variant(KMEANS),
    "k-means + neighbour smoothing 1.0": params_variant(replace(KMEANS, smooth=1.0)),
    "k-means + TF-IDF 0.5": params_variant(replace(KMEANS, text_weight=0.5)),
    "spectral, 10-NN cosine graph": params_variant(BASE),
    "spectral, 7-NN": params_variant(replace(BASE, n_neighbors=7)),
    "spectral, 15-NN": params_variant(replace(BASE, n_neighbors=15)),
    "spectral, 25-NN": params_variant(replace(BASE, n_neighbors=25)),
    "spectral + smoothing 0.5": params_variant(replace(BASE, smooth=0.5)),
    "spectral + 20 extra eigenvectors": params_variant(replace(BASE, extra_dims=20)),
    "spectral + TF-IDF 0.3": params_variant(replace(BASE, text_weight=0.3)),
    "spectral + TF-IDF 0.6": params_variant(replace(BASE, text_weight=0.6)),
    "spectral, local-scaling weights": params_variant(replace(BASE, weights="local")),
    "spectral, shared-neighbour weights": params_variant(replace(BASE, weights="snn")),
    "spectral, 30 restarts": params_variant(replace(BASE, n_init=30)),
    "spectral + k-means refinement": params_variant(replace(BASE, refine=True)),
    "spectral + consensus of 5 runs": params_variant(replace(BASE, consensus=5)),
    "spectral, 15-NN favouring mutual edges (0.3)": params_variant(replace(BASE, n_neighbors=15, mutual=0.3)),
    "layout: fuzzy 15-NN graph, 5 dims, k-means": params_variant(replace(OURS, layout_dims=5)),
    "layout: fuzzy 15-NN graph, 10 dims, k-means (ours)": params_variant(OURS),
    "layout, 10 dims, 20-NN": params_variant(replace(OURS, layout_neighbors=20)),
}


def tuning_sets(n_subsets: int = 2) -> dict[str, list[Dataset]]:
    cache = EmbeddingCache(cache_dir=CACHE)
    b77 = banking77("tune").embed(cache)
    clinc = clinc150("tune").embed(cache)
    return {"banking77": tune_subsets(b77, 40, n_subsets), "clinc150": tune_subsets(clinc, 20, n_subsets)}


def evaluate(variant: Variant, sets: list[Dataset], k_gold: bool = True, seeds: int = 1) -> dict[str, float]:
    scores: dict[str, list[float]] = defaultdict(list)
    for data in sets:
        for seed in range(seeds):
            labels = variant(data, data.n_labels if k_gold else None, seed)
            scores["acc"].append(matched_accuracy(data.labels, labels))
            scores["nmi"].append(nmi(data.labels, labels))
            scores["ari"].append(ari(data.labels, labels))
            scores["k"].append(len(set(labels.tolist())))
    return {name: float(np.mean(v)) for name, v in scores.items()}


def ablate(
    variants: dict[str, Variant] | None = None, n_subsets: int = 2, k_gold: bool = True
) -> list[dict[str, object]]:
    sets = tuning_sets(n_subsets)
    rows: list[dict[str, object]] = []
    for name, variant in (variants or VARIANTS).items():
        row: dict[str, object] = {"variant": name}
        started = time.perf_counter()
        for dataset, subsets in sets.items():
            for metric, value in evaluate(variant, subsets, k_gold).items():
                row[f"{dataset}_{metric}"] = round(value, 4)
        row["seconds"] = round(time.perf_counter() - started, 1)
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows
