"""SentimentHead: multinomial logistic regression on the rule mix's signals and the rating.

Chosen on the dev split of evals/datasets/sentiment by 5-fold cross-validation against VADER, the rating,
the rule mix alone and a head on MiniLM embeddings (`python -m evals.suites.sentiment`). It needs no
embedding, so a single comment is scored in well under a millisecond. Saved as plain JSON (feature names,
scaler, coefficients, library versions, a hash of the training data) and applied with NumPy alone.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from triage.errors import ModelMismatch
from triage.sentiment.score import RATING_WEIGHT, is_sarcastic, mix_sentiment, text_signals
from triage.types import Sentiment, SentimentLabel

LABELS: tuple[SentimentLabel, ...] = ("negative", "mixed", "neutral", "positive")
FEATURES = [
    "compound",
    "negative_cues",
    "positive_cues",
    "sarcasm_cues",
    "rating_missing",
    "rating_1",
    "rating_2",
    "rating_3",
    "rating_4",
    "rating_5",
    "mix_score",
    "sarcastic",
    "mixed",
    "positive_clause",
    "negative_clause",
    "clauses",
]
FORMAT = 1
Matrix = npt.NDArray[np.float64]


def features(text: str, rating: int | None) -> list[float]:
    """One row of the head's inputs, in `FEATURES` order."""
    signals = text_signals(text)
    mix = mix_sentiment(text, rating)
    return [
        signals.compound,
        float(signals.negative_cues),
        float(signals.positive_cues),
        float(signals.sarcasm_cues),
        *(1.0 if rating == k else 0.0 for k in (None, 1, 2, 3, 4, 5)),
        mix.score,
        float(is_sarcastic(signals, rating)),
        float(mix.label == "mixed"),
        float(signals.positive_clause),
        float(signals.negative_clause),
        float(signals.clauses),
    ]


def feature_matrix(texts: Sequence[str], ratings: Sequence[int | None]) -> Matrix:
    return np.asarray([features(t, r) for t, r in zip(texts, ratings, strict=True)], dtype=np.float64).reshape(
        len(texts), len(FEATURES)
    )


def data_hash(texts: Sequence[str], ratings: Sequence[int | None], labels: Sequence[str]) -> str:
    payload = json.dumps([list(texts), list(ratings), list(labels)], ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


class SentimentHead:
    """Standardised features -> softmax over LABELS; score = P(positive) - P(negative)."""

    def __init__(self, mean: Matrix, scale: Matrix, coef: Matrix, intercept: Matrix, meta: dict[str, Any]) -> None:
        self.mean = mean
        self.scale = scale
        self.coef = coef
        self.intercept = intercept
        self.meta = meta

    @classmethod
    def fit(cls, texts: Sequence[str], ratings: Sequence[int | None], labels: Sequence[str], c: float) -> SentimentHead:
        """Fit on labelled comments (deterministic: lbfgs, no sampling)."""
        from sklearn import __version__ as sklearn_version
        from sklearn.linear_model import LogisticRegression

        x = feature_matrix(texts, ratings)
        mean = x.mean(axis=0)
        scale = x.std(axis=0)
        scale[scale == 0] = 1.0
        model = LogisticRegression(C=c, max_iter=5000, class_weight="balanced").fit((x - mean) / scale, list(labels))
        order = [list(model.classes_).index(label) for label in LABELS]
        meta = {
            "format": FORMAT,
            "features": FEATURES,
            "labels": list(LABELS),
            "C": c,
            "rating_weight": RATING_WEIGHT,
            "trained_on": len(texts),
            "data_sha256": data_hash(texts, ratings, labels),
            "sklearn_version": sklearn_version,
        }
        return cls(mean, scale, model.coef_[order], model.intercept_[order], meta)

    def probabilities(self, texts: Sequence[str], ratings: Sequence[int | None]) -> Matrix:
        """One row per text, columns in LABELS order."""
        if not texts:
            return np.zeros((0, len(LABELS)))
        z = ((feature_matrix(texts, ratings) - self.mean) / self.scale) @ self.coef.T + self.intercept
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return np.asarray(e / e.sum(axis=1, keepdims=True), dtype=np.float64)

    def predict(self, texts: Sequence[str], ratings: Sequence[int | None]) -> list[Sentiment]:
        probs = self.probabilities(texts, ratings)
        neg, pos = LABELS.index("negative"), LABELS.index("positive")
        return [
            Sentiment(label=LABELS[int(row.argmax())], score=round(float(np.clip(row[pos] - row[neg], -1, 1)), 4))
            for row in probs
        ]

    def save(self, path: Path) -> None:
        data = {
            **self.meta,
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "coef": self.coef.tolist(),
            "intercept": self.intercept.tolist(),
        }
        path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> SentimentHead:
        """Load a saved head; refuses one whose features or format differ from this code's."""
        data = json.loads(path.read_text(encoding="utf-8"))
        if (
            data.get("format") != FORMAT
            or data.get("features") != FEATURES
            or data.get("labels") != list(LABELS)
            or data.get("rating_weight") != RATING_WEIGHT
        ):
            raise ModelMismatch(f"sentiment head {path.name} was saved with other features; refit it")
        arrays = {k: np.asarray(data.pop(k), dtype=np.float64) for k in ("mean", "scale", "coef", "intercept")}
        return cls(arrays["mean"], arrays["scale"], arrays["coef"], arrays["intercept"], data)
