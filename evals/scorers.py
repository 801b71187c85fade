"""Scorers: pure functions of gold and predicted labels, each with a direction (higher or lower is better)."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment
from sklearn.metrics import adjusted_rand_score, f1_score, normalized_mutual_info_score
from sklearn.metrics.cluster import contingency_matrix

LabelSeq = Sequence[Hashable] | npt.NDArray[Any]
ABSTAIN = "__abstain__"
"""The prediction that means "no answer" (unassigned, out of scope)."""


@dataclass(frozen=True)
class Scorer:
    name: str
    higher_is_better: bool
    fn: Callable[..., float]


def nmi(gold: LabelSeq, predicted: LabelSeq) -> float:
    """Normalised mutual information (arithmetic mean normalisation, as scikit-learn and the papers)."""
    return float(normalized_mutual_info_score(gold, predicted))


def ari(gold: LabelSeq, predicted: LabelSeq) -> float:
    return float(adjusted_rand_score(gold, predicted))


def matched_accuracy(gold: LabelSeq, predicted: LabelSeq) -> float:
    """Clustering accuracy: the share of items right under the best one-to-one cluster-to-label map (Hungarian).

    With more clusters than labels, the clusters left unmatched count as wrong.
    """
    if len(gold) == 0:
        return 0.0
    table = contingency_matrix(gold, predicted)
    rows, cols = linear_sum_assignment(-table)
    return float(table[rows, cols].sum() / len(gold))


def accuracy(gold: LabelSeq, predicted: LabelSeq) -> float:
    if len(gold) == 0:
        return 0.0
    return float(np.mean([g == p for g, p in zip(gold, predicted, strict=True)]))


def macro_f1(gold: LabelSeq, predicted: LabelSeq) -> float:
    """Macro-F1 over the gold labels (an abstention counts as a miss, never as its own class)."""
    labels = sorted({str(g) for g in gold})
    return float(
        f1_score([str(g) for g in gold], [str(p) for p in predicted], labels=labels, average="macro", zero_division=0)
    )


def accuracy_any_gold(all_gold: Sequence[Sequence[Hashable]], predicted: LabelSeq) -> float:
    """The share of items whose prediction is among their gold labels (multi-label data)."""
    if len(all_gold) == 0:
        return 0.0
    return float(np.mean([p in g for g, p in zip(all_gold, predicted, strict=True)]))


def abstention_rate(predicted: LabelSeq) -> float:
    if len(predicted) == 0:
        return 0.0
    return float(np.mean([p == ABSTAIN for p in predicted]))


def accuracy_of_answered(gold: LabelSeq, predicted: LabelSeq) -> float:
    """Accuracy on the items that were not abstained on (0 when all were)."""
    pairs = [(g, p) for g, p in zip(gold, predicted, strict=True) if p != ABSTAIN]
    return float(np.mean([g == p for g, p in pairs])) if pairs else 0.0


def oos_recall(gold: LabelSeq, predicted: LabelSeq, oos_label: Hashable = "oos") -> float:
    """The share of out-of-scope items that were abstained on (or predicted as out of scope)."""
    oos = [p for g, p in zip(gold, predicted, strict=True) if g == oos_label]
    return float(np.mean([p in (ABSTAIN, oos_label) for p in oos])) if oos else 0.0


def in_scope_accuracy(gold: LabelSeq, predicted: LabelSeq, oos_label: Hashable = "oos") -> float:
    pairs = [(g, p) for g, p in zip(gold, predicted, strict=True) if g != oos_label]
    return float(np.mean([g == p for g, p in pairs])) if pairs else 0.0


CLUSTER_SCORERS = (
    Scorer("acc", True, matched_accuracy),
    Scorer("nmi", True, nmi),
    Scorer("ari", True, ari),
)
ASSIGN_SCORERS = (
    Scorer("accuracy", True, accuracy),
    Scorer("macro_f1", True, macro_f1),
    Scorer("abstention_rate", False, lambda gold, predicted: abstention_rate(predicted)),
    Scorer("accuracy_of_answered", True, accuracy_of_answered),
)
SCORERS = {s.name: s for s in (*CLUSTER_SCORERS, *ASSIGN_SCORERS)} | {
    "accuracy_any_gold": Scorer("accuracy_any_gold", True, accuracy_any_gold),
    "oos_recall": Scorer("oos_recall", True, oos_recall),
    "in_scope_accuracy": Scorer("in_scope_accuracy", True, in_scope_accuracy),
    "n_clusters": Scorer("n_clusters", True, lambda gold, predicted: float(len(set(predicted)))),
    "seed_agreement_ari": Scorer("seed_agreement_ari", True, ari),
}


def higher_is_better(metric: str) -> bool:
    """The direction of a metric named `<scorer>` or `<scorer>_<suffix>` (e.g. `acc_std` is lower-better)."""
    if metric.endswith("_std"):
        return False
    base = metric.removesuffix("_mean")
    return SCORERS[base].higher_is_better if base in SCORERS else True
