"""The two eval tasks: clustering (discover the labels) and assignment (predict them), each run for every method."""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np

from evals.data import Dataset
from evals.methods import OURS, AssignMethod, ClusterMethod, assign_with_abstention
from evals.report import MetricRow, Section
from evals.scorers import (
    ABSTAIN,
    abstention_rate,
    accuracy,
    accuracy_any_gold,
    accuracy_of_answered,
    ari,
    in_scope_accuracy,
    macro_f1,
    matched_accuracy,
    nmi,
    oos_recall,
)

log = logging.getLogger(__name__)
Thresholds = dict[str, float]


def cluster_sections(
    data: Dataset,
    methods: list[ClusterMethod],
    seeds: int = 5,
    thresholds: dict[str, Thresholds] | None = None,
    settings: tuple[str, ...] = ("gold", "chosen"),
) -> tuple[list[Section], dict[str, list[dict[str, Any]]]]:
    """ACC / NMI / ARI (mean and std over `seeds`), clusters found, run-to-run ARI; k = gold and k chosen.

    `thresholds` maps a setting ("gold", "chosen") to {metric: threshold for ours}.
    """
    thresholds = thresholds or {}
    sections, items = [], {}
    for setting in settings:
        k = data.n_labels if setting == "gold" else None
        title = (
            f"{data.name}: cluster, k = {'gold (' + str(k) + ')' if k else 'chosen'}, n = {len(data)}, {seeds} seeds"
        )
        scores: dict[str, dict[str, list[float]]] = {}
        first: dict[str, list[int]] = {}
        seconds: dict[str, float] = {}
        for method in methods:
            if k is None and not method.chooses_k:
                continue
            started = time.perf_counter()
            runs = [method.fn(data, k, seed) for seed in range(seeds)]
            seconds[method.name] = (time.perf_counter() - started) / seeds
            log.info("%s %s: %.1fs per seed", title, method.name, seconds[method.name])
            first[method.name] = runs[0].tolist()
            scores[method.name] = {
                "acc": [matched_accuracy(data.labels, r) for r in runs],
                "nmi": [nmi(data.labels, r) for r in runs],
                "ari": [ari(data.labels, r) for r in runs],
                "n_clusters": [float(len(set(r.tolist()))) for r in runs],
                "seed_agreement_ari": [ari(runs[0], r) for r in runs[1:]] or [1.0],
            }
        names = [m.name for m in methods if m.name in scores]
        limits = thresholds.get(setting, {})
        rows = []
        for metric in ("acc", "nmi", "ari", "n_clusters", "seed_agreement_ari"):
            values: dict[str, float | None] = {m: float(np.mean(scores[m][metric])) for m in names}
            stds = {m: float(np.std(scores[m][metric])) for m in names} if metric in ("acc", "nmi", "ari") else {}
            rows.append(MetricRow(metric, values, stds, limits.get(metric)))
        notes = ["seconds per run: " + ", ".join(f"{m} {seconds[m]:.1f}" for m in names)]
        sections.append(Section(title, data.name, "cluster", f"k={setting}", names, rows, notes))
        items[title] = [
            {"id": data.ids[i], "gold": data.labels[i]} | {m: first[m][i] for m in names} for i in range(len(data))
        ]
    return sections, items


def assign_section(
    train: Dataset,
    test: Dataset,
    methods: list[AssignMethod],
    thresholds: Thresholds | None = None,
) -> tuple[Section, list[dict[str, Any]]]:
    """Fit on `train` (threshold chosen on a part of it), predict `test`: accuracy, macro-F1, abstention, OOS."""
    title = f"{test.name}: assign, trained on {train.name} ({len(train)}), n = {len(test)}"
    has_oos = "oos" in test.labels
    metrics = ["accuracy", "macro_f1", "accuracy_any_gold", "abstention_rate", "accuracy_of_answered"]
    if has_oos:
        metrics += ["in_scope_accuracy", "oos_recall"]
    values: dict[str, dict[str, float | None]] = {m: {} for m in metrics}
    predictions: dict[str, list[str]] = {}
    confidences: dict[str, list[float]] = {}
    notes = []
    for method in methods:
        started = time.perf_counter()
        assignment, threshold = assign_with_abstention(method, train, test)
        notes.append(f"{method.name}: abstains below {threshold:.2f}, {time.perf_counter() - started:.1f}s")
        p = assignment.predicted
        predictions[method.name], confidences[method.name] = p, assignment.confidence
        gold = test.labels
        # An abstention on an `oos` item is a right answer for accuracy; macro-F1 is over the in-scope labels.
        right = ["oos" if (g == "oos" and q == ABSTAIN) else q for g, q in zip(gold, p, strict=True)]
        in_scope = [i for i, g in enumerate(gold) if g != "oos"]
        computed = {
            "accuracy": accuracy(gold, right),
            "macro_f1": macro_f1([gold[i] for i in in_scope], [p[i] for i in in_scope]),
            "accuracy_any_gold": accuracy_any_gold(test.all_labels, right),
            "abstention_rate": abstention_rate(p),
            "accuracy_of_answered": accuracy_of_answered(gold, p),
            "in_scope_accuracy": in_scope_accuracy(gold, p),
            "oos_recall": oos_recall(gold, p),
        }
        for m in metrics:
            values[m][method.name] = computed[m]
    thresholds = thresholds or {}
    rows = [MetricRow(m, values[m], {}, thresholds.get(m)) for m in metrics]
    names = [m.name for m in methods]
    section = Section(title, test.name, "assign", "train/test", names, rows, notes)
    items = [
        {"id": test.ids[i], "gold": test.all_labels[i]}
        | {m: {"predicted": predictions[m][i], "confidence": confidences[m][i]} for m in names}
        for i in range(len(test))
    ]
    return section, items


def ours_first(names: list[str]) -> list[str]:
    return sorted(names, key=lambda n: n != OURS)
