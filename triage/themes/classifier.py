"""NgramEmbeddingClassifier: the failure-mode theme of a comment from its wording and its embedding.

General sentence embeddings mostly encode the subject of a comment; the failure mode lives in the
wording ("three weeks", "never replied"), so word and character n-grams carry most of the signal and
the embedding adds the rest (DESIGN.md, "Two axes").
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
import sklearn
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from triage.errors import ModelMismatch
from triage.ports import Vectors

WORD = {"analyzer": "word", "ngram_range": (1, 2), "sublinear_tf": True, "min_df": 1, "lowercase": True}
CHAR = {"analyzer": "char_wb", "ngram_range": (2, 5), "sublinear_tf": True, "min_df": 2, "lowercase": True}
PARAMS = {"C": 30.0, "embedding_weight": 0.5, "temperature": 0.84}
Probabilities = npt.NDArray[np.float64]


class NgramEmbeddingClassifier:
    """Multinomial logistic regression on TF-IDF word + char n-grams and the sentence embedding."""

    def __init__(
        self,
        C: float = PARAMS["C"],
        embedding_weight: float = PARAMS["embedding_weight"],
        temperature: float = PARAMS["temperature"],
    ) -> None:
        self.C = C
        self.embedding_weight = embedding_weight
        self.temperature = temperature
        self.word = TfidfVectorizer(**WORD)
        self.char = TfidfVectorizer(**CHAR)
        self.model = LogisticRegression(C=C, max_iter=3000, class_weight="balanced")
        self.classes: list[str] = []

    def _features(self, texts: list[str], vectors: Vectors) -> sp.csr_matrix:
        return sp.hstack(
            [self.word.transform(texts), self.char.transform(texts), sp.csr_matrix(vectors * self.embedding_weight)]
        ).tocsr()

    def fit(self, texts: list[str], vectors: Vectors, labels: list[str]) -> NgramEmbeddingClassifier:
        self.word.fit(texts)
        self.char.fit(texts)
        self.model.fit(self._features(texts, vectors), labels)
        self.classes = [str(c) for c in self.model.classes_]
        return self

    def predict_proba(self, texts: list[str], vectors: Vectors) -> Probabilities:
        """Probabilities, one column per class in `self.classes` order, calibrated by `temperature`.

        The temperature divides the logits (a softmax of `decision_function / T`): below 1 it sharpens the
        balanced logistic regression's under-confident probabilities so that a confidence of 0.6 is right
        about 60% of the time (chosen on cross-validated data; evals/README.md, "Theme model").
        """
        if not texts:
            return np.zeros((0, len(self.classes)))
        logits = np.asarray(self.model.decision_function(self._features(texts, vectors)), dtype=np.float64)
        logits = logits / self.temperature
        logits -= logits.max(axis=1, keepdims=True)
        exp = np.exp(logits)
        return np.asarray(exp / exp.sum(axis=1, keepdims=True), dtype=np.float64)

    def save(self, directory: Path, extra: dict[str, Any]) -> None:
        """Plain arrays + JSON (no pickle), with the library versions that made them."""
        directory.mkdir(parents=True, exist_ok=True)
        meta = {
            "kind": type(self).__name__,
            "sklearn_version": sklearn.__version__,
            "params": {
                "C": self.C,
                "embedding_weight": self.embedding_weight,
                "temperature": self.temperature,
                "word": WORD,
                "char": CHAR,
            },
            "classes": self.classes,
            "word_vocabulary": {k: int(v) for k, v in self.word.vocabulary_.items()},
            "char_vocabulary": {k: int(v) for k, v in self.char.vocabulary_.items()},
            **extra,
        }
        (directory / "classifier.json").write_text(json.dumps(meta), encoding="utf-8")
        np.savez(
            directory / "classifier.npz",
            word_idf=self.word.idf_,
            char_idf=self.char.idf_,
            coef=self.model.coef_,
            intercept=self.model.intercept_,
        )

    @classmethod
    def load(cls, directory: Path) -> tuple[NgramEmbeddingClassifier, dict[str, Any]]:
        """Load a saved classifier; refuses one made with another scikit-learn version."""
        meta = json.loads((directory / "classifier.json").read_text(encoding="utf-8"))
        if meta["sklearn_version"] != sklearn.__version__:
            raise ModelMismatch(
                f"theme model was fitted with scikit-learn {meta['sklearn_version']}, this is {sklearn.__version__}"
            )
        arrays = np.load(directory / "classifier.npz")
        params = meta["params"]
        self = cls(
            C=params["C"], embedding_weight=params["embedding_weight"], temperature=params.get("temperature", 1.0)
        )
        self.word = TfidfVectorizer(**WORD, vocabulary=meta["word_vocabulary"])
        self.word.idf_ = arrays["word_idf"]
        self.char = TfidfVectorizer(**CHAR, vocabulary=meta["char_vocabulary"])
        self.char.idf_ = arrays["char_idf"]
        self.model.coef_ = arrays["coef"]
        self.model.intercept_ = arrays["intercept"]
        self.model.classes_ = np.array(meta["classes"])
        self.classes = list(meta["classes"])
        return self, meta
