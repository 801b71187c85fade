"""UrgencyHead: two small logistic regressions fitted on the dev split of evals/datasets/urgent.

- `urgent`: urgent or not, on hashed word (1-2) and character (3-5, within words) n-grams. Chosen on dev
  by 5-fold cross-validation over n-grams, MiniLM embeddings and both (`python -m evals.suites.urgent`):
  the n-grams ranked best; the embeddings added false alarms.
- `category`: which of the seven kinds an urgent comment is, on the comment's MiniLM embedding
  (better than n-grams in cross-validation on the urgent dev comments); used when no rule names one.

Saved as plain JSON (sparse coefficients, library versions, a hash of the training data); no pickle.
The hashing is stateless, so nothing but coefficients needs saving.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from sklearn import __version__ as sklearn_version
from sklearn.feature_extraction.text import HashingVectorizer

from triage.errors import ConfigurationError, InvalidInput, ModelMismatch
from triage.types import UrgencyCategory

FORMAT = 1
N_FEATURES = 2**14
"""Hash buckets per n-gram family (words, characters)."""
FEATURE_SETS = ("ngrams", "minilm+ngrams")
"""What P(urgent) reads: n-grams alone (the dev choice), or the embedding followed by the n-grams."""
Matrix = npt.NDArray[np.float64]
_WORDS = HashingVectorizer(ngram_range=(1, 2), n_features=N_FEATURES, alternate_sign=False, norm="l2")
_CHARS = HashingVectorizer(
    analyzer="char_wb", ngram_range=(3, 5), n_features=N_FEATURES, alternate_sign=False, norm="l2"
)


def ngrams(texts: Sequence[str]) -> sp.csr_matrix:
    """Hashed word and character n-grams, one row per text (2 * N_FEATURES columns)."""
    texts = [t.replace("\u2019", "'") for t in texts]
    return sp.hstack([_WORDS.transform(texts), _CHARS.transform(texts)]).tocsr()


def inputs(features: str, texts: Sequence[str], vectors: npt.NDArray[np.floating[Any]] | None) -> sp.csr_matrix:
    """The rows P(urgent) is computed from, for a feature set of FEATURE_SETS."""
    if features == "ngrams":
        return ngrams(texts)
    if vectors is None:
        raise InvalidInput("this urgency head reads the comments' embeddings: pass their vectors")
    return sp.hstack([sp.csr_matrix(np.asarray(vectors, dtype=np.float64)), ngrams(texts)]).tocsr()


def data_hash(texts: Sequence[str], labels: Sequence[object]) -> str:
    payload = json.dumps([list(texts), [str(x) for x in labels]], ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _round(values: Matrix) -> list[float]:
    return [float(f"{v:.6g}") for v in np.ravel(values)]


class UrgencyHead:
    """P(urgent) from n-grams; P(category | urgent) from an embedding."""

    def __init__(
        self,
        coef: Matrix,
        intercept: float,
        categories: list[UrgencyCategory],
        category_coef: Matrix,
        category_intercept: Matrix,
        meta: dict[str, Any],
    ) -> None:
        self.coef = coef
        self.intercept = intercept
        self.categories = categories
        self.category_coef = category_coef
        self.category_intercept = category_intercept
        self.meta = meta

    @property
    def threshold(self) -> float:
        return float(self.meta["threshold"])

    @property
    def dimensions(self) -> int:
        return int(self.category_coef.shape[1])

    @property
    def features(self) -> str:
        return str(self.meta.get("features", "ngrams"))

    @classmethod
    def fit(
        cls,
        texts: Sequence[str],
        urgent: Sequence[bool],
        vectors: npt.NDArray[np.float32],
        categories: Sequence[UrgencyCategory | None],
        c: float,
        category_c: float,
        threshold: float,
        embed_model: str,
        features: str = "ngrams",
    ) -> UrgencyHead:
        """Fit both models (deterministic: lbfgs, no sampling)."""
        from sklearn.linear_model import LogisticRegression

        if features not in FEATURE_SETS:
            raise ConfigurationError(f"unknown urgency feature set {features!r}; known: {', '.join(FEATURE_SETS)}")
        y = np.asarray(urgent, dtype=bool)
        model = LogisticRegression(C=c, max_iter=5000, class_weight="balanced").fit(inputs(features, texts, vectors), y)
        idx = [i for i, cat in enumerate(categories) if cat is not None]
        cat_model = LogisticRegression(C=category_c, max_iter=5000).fit(
            np.asarray(vectors, dtype=np.float64)[idx], [categories[i] for i in idx]
        )
        meta = {
            "format": FORMAT,
            "n_features": N_FEATURES,
            "features": features,
            "C": c,
            "category_C": category_c,
            "threshold": threshold,
            "embed_model": embed_model,
            "trained_on": len(texts),
            "urgent": int(y.sum()),
            "data_sha256": data_hash(texts, [f"{u}:{cat}" for u, cat in zip(urgent, categories, strict=True)]),
            "sklearn_version": sklearn_version,
        }
        cat_coef = cat_model.coef_.astype(np.float64)
        cat_intercept = cat_model.intercept_.astype(np.float64)
        if len(cat_model.classes_) == 2:  # binary: one row for the second class; softmax over [0, z] is the same
            cat_coef = np.vstack([np.zeros_like(cat_coef), cat_coef])
            cat_intercept = np.concatenate([[0.0], cat_intercept])
        return cls(
            model.coef_[0].astype(np.float64),
            float(model.intercept_[0]),
            [str(x) for x in cat_model.classes_],  # type: ignore[misc]
            cat_coef,
            cat_intercept,
            meta,
        )

    def probability(self, texts: Sequence[str], vectors: npt.NDArray[np.floating[Any]] | None = None) -> Matrix:
        """P(urgent) per text; `vectors` (the texts' embeddings) only for a head whose features include them."""
        if not texts:
            return np.zeros(0)
        z = inputs(self.features, texts, vectors) @ self.coef + self.intercept
        return np.asarray(1.0 / (1.0 + np.exp(-z)), dtype=np.float64)

    def category_probabilities(self, vectors: npt.NDArray[np.floating[Any]]) -> Matrix:
        """P(category | urgent) per row of `vectors`, columns in `self.categories` order."""
        x = np.asarray(vectors, dtype=np.float64).reshape(-1, self.dimensions)
        z = x @ self.category_coef.T + self.category_intercept
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return np.asarray(e / e.sum(axis=1, keepdims=True), dtype=np.float64)

    def save(self, path: Path) -> None:
        nonzero = np.flatnonzero(self.coef)
        data = {
            **self.meta,
            "categories": self.categories,
            "coef_index": nonzero.tolist(),
            "coef_value": _round(self.coef[nonzero]),
            "intercept": float(f"{self.intercept:.6g}"),
            "category_coef": [_round(row) for row in self.category_coef],
            "category_intercept": _round(self.category_intercept),
        }
        path.write_text(json.dumps(data, separators=(",", ":")) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> UrgencyHead:
        """Load a saved head; refuses one saved with another format, hashing or scikit-learn version."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ConfigurationError(f"cannot read urgency head {path}: {exc}") from exc
        if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("n_features") != N_FEATURES:
            raise ModelMismatch(f"urgency head {path.name} has another format; refit it")
        if data.get("sklearn_version") != sklearn_version:
            raise ModelMismatch(
                f"urgency head {path.name} was fitted with scikit-learn {data.get('sklearn_version')}, "
                f"this is {sklearn_version}; refit it with `python -m evals.suites.urgent --fit`"
            )
        if data.get("features", "ngrams") not in FEATURE_SETS:
            raise ModelMismatch(f"urgency head {path.name} reads unknown features {data.get('features')!r}")
        try:
            categories = list(data.pop("categories"))
            cat_coef = np.asarray(data.pop("category_coef"), dtype=np.float64)
            cat_intercept = np.asarray(data.pop("category_intercept"), dtype=np.float64)
            dims = cat_coef.shape[1] if data.get("features") == "minilm+ngrams" else 0
            coef = np.zeros(dims + 2 * N_FEATURES)
            coef[np.asarray(data.pop("coef_index"), dtype=np.int64)] = np.asarray(data.pop("coef_value"))
            intercept = float(data.pop("intercept"))
            float(data["threshold"])
        except (KeyError, ValueError, TypeError, IndexError) as exc:
            raise ConfigurationError(f"urgency head {path.name} is incomplete or malformed: {exc!r}") from exc
        if cat_coef.ndim != 2 or cat_coef.shape[0] != len(categories) or cat_intercept.shape != (len(categories),):
            raise ConfigurationError(f"urgency head {path.name}: category arrays do not match its categories")
        return cls(coef, intercept, categories, cat_coef, cat_intercept, data)
