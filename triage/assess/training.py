"""Choosing and fitting the urgency head on a dev split (used by `python -m evals.suites.urgent --fit`).

Every candidate (feature set x C x embedding scale) is scored by 5-fold cross-validation on dev, extra
non-urgent comments included in the folds so that precision counts ordinary feedback too. The candidate
with the best out-of-fold precision at `TARGET_RECALL` wins (ties: average precision); its threshold is the
highest one whose out-of-fold recall reaches `TARGET_RECALL`. Deterministic: lbfgs and a seeded split.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from sklearn import __version__ as sklearn_version
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score
from sklearn.model_selection import StratifiedKFold

from triage.assess.head import FEATURE_SETS, Prototypes, UrgencyHead, category_design, data_hash, design
from triage.errors import ConfigurationError

TARGET_RECALL = 0.97
"""Out-of-fold recall the threshold is set for on dev (English rows): above the 0.95 goal, for new wording."""
OTHER_LANGUAGE_PRECISION = 0.7
"""MiniLM is an English model: on es/de/fr/pt comments the head ranks poorly (out-of-fold AP about 0.5), so
there it only flags at the lowest threshold whose out-of-fold precision on those rows reaches this; the rules
(which have es/de/fr/pt cues) do the rest."""
C_GRID = (0.3, 1.0, 3.0, 10.0, 30.0)
SCALES = (1.0, 3.0)
"""Multipliers of the dense blocks beside n-grams (they compete for the same L2 penalty)."""
GUARDED_PRECISION = 0.7
"""Where the rules' guards spoke (a figure of speech, a negated cue) the head's threshold is the lowest one whose
out-of-fold precision on such dev rows reaches this."""
URGENT_PRECISION = 0.85
"""The "urgent" level (escalate now): the head's threshold is the lowest one (highest recall) whose out-of-fold
precision on dev reaches this, per language group; below it and above the recall-first threshold is "review"."""
CATEGORY_C = 10.0
FOLDS = 5
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Candidate:
    features: str
    c: float
    embedding_scale: float = 1.0

    @property
    def name(self) -> str:
        return f"{self.features} C={self.c:g} scale={self.embedding_scale:g}"


def grid() -> list[Candidate]:
    out = []
    for features in FEATURE_SETS:
        scales = SCALES if features == "minilm+prototypes+ngrams" else (1.0,)
        out += [Candidate(features, c, s) for c in C_GRID for s in scales]
    return out


def _fit(x: sp.csr_matrix, y: Bools, c: float) -> LogisticRegression:
    return LogisticRegression(C=c, max_iter=5000, class_weight="balanced").fit(x, y)


def out_of_fold(x: sp.csr_matrix, y: Bools, strata: Sequence[str], c: float) -> Floats:
    p = np.zeros(len(y))
    folds = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=0)
    for train, held in folds.split(np.zeros(len(y)), list(strata)):
        p[held] = _fit(x[train], y[train], c).predict_proba(x[held])[:, 1]
    return p


def threshold_for_recall(p: Floats, y: Bools, target: float = TARGET_RECALL) -> float:
    """The highest threshold whose recall (share of urgent rows with p >= threshold) reaches `target`."""
    positives = np.sort(p[y])[::-1]
    if not len(positives):
        raise ConfigurationError("no urgent rows to set a threshold on")
    k = int(np.ceil(target * len(positives)))
    return float(positives[k - 1])


def threshold_for_precision(p: Floats, y: Bools, target: float) -> float:
    """The lowest threshold whose precision reaches `target`; above 1 (never flags) when none does."""
    best = 1.01
    for t in np.unique(p):
        flagged = p >= t
        if (flagged & y).sum() / max(int(flagged.sum()), 1) >= target:
            best = min(best, float(t))
    return best


def urgent_level(p: Floats, y: Bools, english: Bools, review_other: float) -> dict[str, Any]:
    """The "urgent" level's thresholds from out-of-fold P on dev: English (and undetermined) rows, other languages
    (never below their review threshold `review_other`), with the out-of-fold numbers at each."""
    en = threshold_for_precision(p[english], y[english], URGENT_PRECISION)
    other = max(review_other, threshold_for_precision(p[~english], y[~english], URGENT_PRECISION))
    return {
        "urgent_threshold": en,
        "urgent_other_language_threshold": other,
        "urgent_precision_target": URGENT_PRECISION,
        "dev_out_of_fold_urgent_english": at_threshold(p[english], y[english], en),
        "dev_out_of_fold_urgent_other_languages": at_threshold(p[~english], y[~english], other),
    }


def at_threshold(p: Floats, y: Bools, threshold: float) -> dict[str, float]:
    flagged = p >= threshold
    tp = int((flagged & y).sum())
    return {
        "threshold": round(threshold, 6),
        "precision": round(tp / max(int(flagged.sum()), 1), 4),
        "recall": round(tp / max(int(y.sum()), 1), 4),
        "flagged": int(flagged.sum()),
    }


def evaluate(
    candidate: Candidate,
    texts: Sequence[str],
    y: Bools,
    strata: Sequence[str],
    vectors: npt.NDArray[np.floating[Any]],
    prototypes: Prototypes,
    scored: Bools | None = None,
) -> dict[str, Any]:
    """Out-of-fold P on every row; AP, threshold and precision on the `scored` rows (default: all)."""
    x = design(candidate.features, texts, vectors, prototypes, candidate.embedding_scale)
    p = out_of_fold(x, y, strata, candidate.c)
    m = np.ones(len(y), dtype=bool) if scored is None else scored
    t = threshold_for_recall(p[m], y[m])
    return {
        "candidate": candidate,
        "p": p,
        "ap": round(float(average_precision_score(y[m], p[m])), 4),
        **at_threshold(p[m], y[m], t),
    }


def select(
    texts: Sequence[str],
    y: Bools,
    strata: Sequence[str],
    vectors: npt.NDArray[np.floating[Any]],
    prototypes: Prototypes,
    scored: Bools | None = None,
    candidates: Sequence[Candidate] | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Score every candidate out of fold (on the `scored` rows); return the winner and all rows, best first."""
    rows = [evaluate(c, texts, y, strata, vectors, prototypes, scored) for c in (candidates or grid())]
    rows.sort(key=lambda r: (r["precision"], r["ap"]), reverse=True)
    return rows[0], rows


def fit_head(
    candidate: Candidate,
    texts: Sequence[str],
    y: Bools,
    categories: Sequence[str | None],
    vectors: npt.NDArray[np.floating[Any]],
    prototypes: Prototypes,
    threshold: float,
    meta: dict[str, Any],
    other_threshold: float | None = None,
) -> UrgencyHead:
    """Fit P(urgent) on all rows and P(category) on the urgent ones; `meta` is stored with the head.

    `threshold` is for English comments (and undetermined ones); `other_threshold` for the other languages."""
    x = design(candidate.features, texts, vectors, prototypes, candidate.embedding_scale)
    model = _fit(x, y, candidate.c)
    idx = [i for i, cat in enumerate(categories) if cat is not None]
    cat_model = LogisticRegression(C=CATEGORY_C, max_iter=5000).fit(
        category_design(np.asarray(vectors)[idx], prototypes), [categories[i] for i in idx]
    )
    cat_coef = np.asarray(cat_model.coef_, dtype=np.float64)
    cat_intercept = np.asarray(cat_model.intercept_, dtype=np.float64)
    if len(cat_model.classes_) == 2:  # binary: one row for the second class; softmax over [0, z] is the same
        cat_coef = np.vstack([np.zeros_like(cat_coef), cat_coef])
        cat_intercept = np.concatenate([[0.0], cat_intercept])
    return UrgencyHead(
        np.asarray(model.coef_[0], dtype=np.float64),
        float(model.intercept_[0]),
        [str(x) for x in cat_model.classes_],
        cat_coef,
        cat_intercept,
        prototypes,
        {
            **meta,
            "features": candidate.features,
            "C": candidate.c,
            "embedding_scale": candidate.embedding_scale,
            "category_C": CATEGORY_C,
            "threshold": threshold,
            "other_language_threshold": threshold if other_threshold is None else other_threshold,
            "target_recall": TARGET_RECALL,
            "trained_on": len(texts),
            "urgent": int(y.sum()),
            "data_sha256": data_hash(texts, [f"{u}:{c}" for u, c in zip(y.tolist(), categories, strict=True)]),
            "sklearn_version": sklearn_version,
        },
    )
