"""Sentiment of comments in Spanish, German, French and Portuguese: a head on the multilingual encoder.

VADER and the domain cues are English, so the product head cannot read these comments. This head is a
multinomial logistic regression on multilingual-e5-small vectors (manifest alias `e5-multilingual`),
trained on English labelled comments (the dev split of evals/datasets/sentiment) plus the taxonomy's
examples as weak labels (praise positive, every failure mode negative); the encoder carries it across
languages. A rating, when given, is weighed with the text as in the English rule mix. Saved as plain
JSON and applied with NumPy alone. Measured by `python -m evals.suites.multilingual` and
`python -m evals.suites.sentiment`.
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
from triage.ports import Vectors
from triage.sentiment.head import LABELS
from triage.sentiment.score import NEGATIVE_AT, POSITIVE_AT, RATING_WEIGHT
from triage.types import Sentiment, SentimentLabel

FORMAT = 1
C = 10.0
WEAK_WEIGHT = 1.0
"""Sample weight of the taxonomy examples (weak labels) beside the hand-labelled comments."""
Matrix = npt.NDArray[np.float64]


class MultilingualSentimentHead:
    """Vector -> softmax over LABELS; score = P(positive) - P(negative), blended with a rating when given."""

    def __init__(self, coef: Matrix, intercept: Matrix, meta: dict[str, Any]) -> None:
        self.coef = coef
        self.intercept = intercept
        self.meta = meta

    @classmethod
    def fit(
        cls, vectors: Vectors, labels: Sequence[str], weights: Sequence[float], encoder: str, texts: Sequence[str]
    ) -> MultilingualSentimentHead:
        """Fit on labelled vectors (deterministic: lbfgs, no sampling)."""
        from sklearn import __version__ as sklearn_version
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(C=C, max_iter=5000, class_weight="balanced").fit(
            np.asarray(vectors, dtype=np.float64), list(labels), sample_weight=np.asarray(weights)
        )
        order = [list(model.classes_).index(label) for label in LABELS]
        payload = json.dumps([list(texts), list(labels), list(weights)], ensure_ascii=False)
        meta = {
            "format": FORMAT,
            "encoder": encoder,
            "labels": list(LABELS),
            "C": C,
            "weak_weight": WEAK_WEIGHT,
            "rating_weight": RATING_WEIGHT,
            "trained_on": len(labels),
            "data_sha256": hashlib.sha256(payload.encode()).hexdigest()[:16],
            "sklearn_version": sklearn_version,
        }
        return cls(model.coef_[order], model.intercept_[order], meta)

    def probabilities(self, vectors: Vectors) -> Matrix:
        if len(vectors) == 0:
            return np.zeros((0, len(LABELS)))
        z = np.asarray(vectors, dtype=np.float64) @ self.coef.T + self.intercept
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return np.asarray(e / e.sum(axis=1, keepdims=True), dtype=np.float64)

    def predict(self, vectors: Vectors, ratings: Sequence[int | None]) -> list[Sentiment]:
        if len(ratings) != len(vectors):
            raise ValueError(f"{len(vectors)} vectors but {len(ratings)} ratings")
        neg, pos = LABELS.index("negative"), LABELS.index("positive")
        out = []
        for row, rating in zip(self.probabilities(vectors), ratings, strict=True):
            label: SentimentLabel = LABELS[int(row.argmax())]
            score = float(np.clip(row[pos] - row[neg], -1, 1))
            if rating is not None:
                score = float(np.clip((1 - RATING_WEIGHT) * score + RATING_WEIGHT * (rating - 3) / 2, -1, 1))
                if label != "mixed":
                    label = "positive" if score >= POSITIVE_AT else "negative" if score <= NEGATIVE_AT else "neutral"
            out.append(Sentiment(label=label, score=round(score, 4)))
        return out

    def save(self, path: Path) -> None:
        data = {**self.meta, "coef": self.coef.tolist(), "intercept": self.intercept.tolist()}
        path.write_text(json.dumps(data) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> MultilingualSentimentHead:
        """Load a saved head; refuses one saved with other labels, format or rating weight."""
        data = json.loads(path.read_text(encoding="utf-8"))
        if (
            data.get("format") != FORMAT
            or data.get("labels") != list(LABELS)
            or data.get("rating_weight") != RATING_WEIGHT
        ):
            raise ModelMismatch(f"multilingual sentiment head {path.name} was saved with other settings; refit it")
        coef = np.asarray(data.pop("coef"), dtype=np.float64)
        intercept = np.asarray(data.pop("intercept"), dtype=np.float64)
        return cls(coef, intercept, data)
