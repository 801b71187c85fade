"""UrgencyHead: logistic regressions on top of the comment's MiniLM embedding (already computed for themes).

- `urgent`: P(urgent) from up to three blocks of features (`FEATURE_SETS`): the embedding itself, its highest
  cosine similarity to each category's descriptive sentences (`models/urgency/prototypes.toml`, embedded once
  at fit time and stored), and hashed word (1-2) and character (3-5, within words) n-grams. Which blocks, C and
  the threshold are chosen on the dev split only (`triage.assess.training`).
- `category`: which of the seven kinds an urgent comment is, from the embedding and the prototype similarities.

Saved as `head.json` (parameters, library versions, data hash, metrics, licence) and `head.npz` (plain
arrays, loaded with `allow_pickle=False`). Loading refuses another format, another scikit-learn version or
arrays whose hash does not match the JSON. Scoring is numpy and scipy only: no scikit-learn on the hot path.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from sklearn import __version__ as sklearn_version
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.utils import murmurhash3_32

from triage.errors import ConfigurationError, InvalidInput, ModelMismatch

FORMAT = 2
N_FEATURES = 2**14
"""Hash buckets per n-gram family (words, characters)."""
FEATURE_SETS = ("ngrams", "minilm", "minilm+prototypes", "minilm+prototypes+ngrams")
Matrix = npt.NDArray[np.float64]
_WORDS = HashingVectorizer(ngram_range=(1, 2), n_features=N_FEATURES, alternate_sign=False, norm="l2")
_CHARS = HashingVectorizer(
    analyzer="char_wb", ngram_range=(3, 5), n_features=N_FEATURES, alternate_sign=False, norm="l2"
)
_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'})


_ANALYZERS = (_WORDS.build_analyzer(), _CHARS.build_analyzer())


def ngrams(texts: Sequence[str]) -> sp.csr_matrix:
    """Hashed word and character n-grams, one row per text (2 * N_FEATURES columns)."""
    texts = [t.translate(_QUOTES) for t in texts]
    return sp.hstack([_WORDS.transform(texts), _CHARS.transform(texts)]).tocsr()


def _hashed(tokens: list[str]) -> tuple[npt.NDArray[np.int64], Matrix]:
    """What HashingVectorizer(alternate_sign=False, norm="l2") makes of one text's tokens, as (index, value)."""
    if not tokens:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    h = np.asarray([murmurhash3_32(t, 0) for t in tokens], dtype=np.int64)
    index, counts = np.unique(np.abs(h) % N_FEATURES, return_counts=True)
    values = counts.astype(np.float64)
    return index, values / np.linalg.norm(values)


def ngram_scores(texts: Sequence[str], coef: Matrix) -> Matrix:
    """`ngrams(texts) @ coef` without building the sparse matrix (the one-comment hot path: ~10x faster)."""
    out = np.zeros(len(texts))
    for i, text in enumerate(texts):
        text = text.translate(_QUOTES)
        for block, analyze in enumerate(_ANALYZERS):
            index, values = _hashed(list(analyze(text)))
            out[i] += float(values @ coef[block * N_FEATURES + index])
    return out


def data_hash(texts: Sequence[str], labels: Sequence[object]) -> str:
    payload = json.dumps([list(texts), [str(x) for x in labels]], ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _unit(x: npt.NDArray[np.floating[Any]]) -> Matrix:
    x = np.asarray(x, dtype=np.float64)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return np.asarray(x / np.where(norms == 0, 1.0, norms), dtype=np.float64)


@dataclass(frozen=True)
class Prototypes:
    """Embedded descriptive sentences, each labelled with its category."""

    vectors: Matrix
    labels: tuple[str, ...]
    categories: tuple[str, ...]

    @staticmethod
    def read(path: Path) -> dict[str, list[str]]:
        """The sentences of a prototypes TOML file, per category (validated)."""
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigurationError(f"cannot read urgency prototypes {path}: {exc}") from exc
        tables = raw.get("categories")
        if raw.get("format") != 1 or not isinstance(tables, dict) or set(raw) - {"format", "categories"}:
            raise ConfigurationError(f"{path.name}: expected `format = 1` and a [categories] table only")
        bad = [
            k for k, v in tables.items() if not isinstance(v, list) or not v or not all(isinstance(s, str) for s in v)
        ]
        if bad:
            raise ConfigurationError(f"{path.name}: categories {', '.join(bad)} need a non-empty list of sentences")
        return {k: list(v) for k, v in tables.items()}

    @classmethod
    def build(cls, sentences: dict[str, list[str]], vectors: npt.NDArray[np.floating[Any]]) -> Prototypes:
        labels = tuple(c for c, items in sentences.items() for _ in items)
        if len(labels) != len(vectors):
            raise InvalidInput(f"{len(labels)} prototype sentences but {len(vectors)} vectors")
        return cls(_unit(vectors), labels, tuple(sentences))

    def similarities(self, vectors: npt.NDArray[np.floating[Any]]) -> Matrix:
        """Highest cosine similarity of each row to each category's sentences: (n, len(categories))."""
        sims = _unit(vectors) @ self.vectors.T
        out = np.empty((sims.shape[0], len(self.categories)))
        labels = np.asarray(self.labels)
        for j, cat in enumerate(self.categories):
            out[:, j] = sims[:, labels == cat].max(axis=1)
        return out


def design(
    features: str,
    texts: Sequence[str],
    vectors: npt.NDArray[np.floating[Any]] | None,
    prototypes: Prototypes | None,
    embedding_scale: float = 1.0,
) -> sp.csr_matrix:
    """The rows P(urgent) is computed from, for a feature set of FEATURE_SETS."""
    if features not in FEATURE_SETS:
        raise ConfigurationError(f"unknown urgency feature set {features!r}; known: {', '.join(FEATURE_SETS)}")
    blocks: list[sp.spmatrix] = []
    if features != "ngrams":
        if vectors is None:
            raise InvalidInput("this urgency head reads the comments' embeddings: pass their vectors")
        blocks.append(sp.csr_matrix(_unit(vectors) * embedding_scale))
    if "prototypes" in features:
        if prototypes is None:
            raise InvalidInput("this urgency head needs its prototypes")
        blocks.append(sp.csr_matrix(prototypes.similarities(np.asarray(vectors)) * embedding_scale))
    if "ngrams" in features:
        blocks.append(ngrams(texts))
    return sp.hstack(blocks).tocsr()


def category_design(vectors: npt.NDArray[np.floating[Any]], prototypes: Prototypes) -> Matrix:
    """What the category model reads: the unit embedding and the prototype similarities."""
    return np.hstack([_unit(vectors), prototypes.similarities(vectors)])


def _sha(arrays: dict[str, npt.NDArray[Any]]) -> str:
    digest = hashlib.sha256()
    for name in sorted(arrays):
        digest.update(name.encode())
        digest.update(np.ascontiguousarray(arrays[name]).tobytes())
    return digest.hexdigest()[:16]


class UrgencyHead:
    """P(urgent) and P(category | urgent) for a comment from its embedding (and its text, for n-grams)."""

    def __init__(
        self,
        coef: Matrix,
        intercept: float,
        categories: list[str],
        category_coef: Matrix,
        category_intercept: Matrix,
        prototypes: Prototypes,
        meta: dict[str, Any],
    ) -> None:
        self.coef = coef
        self.intercept = intercept
        self.categories = categories
        self.category_coef = category_coef
        self.category_intercept = category_intercept
        self.prototypes = prototypes
        self.meta = meta

    @property
    def threshold(self) -> float:
        return float(self.meta["threshold"])

    def threshold_for(self, language: str, guarded: bool = False) -> float:
        """The threshold for a comment in `language` (ISO 639-1; "und" counts as English); `guarded` when the
        rules' guards spoke (a figure of speech, a negated cue): then the head must be surer."""
        t = self.threshold if language in ("en", "und") else float(self.meta.get("other_language_threshold", 1.01))
        return max(t, float(self.meta.get("guarded_threshold", t))) if guarded else t

    def urgent_threshold_for(self, language: str, guarded: bool = False) -> float:
        """The threshold of the "urgent" level (escalate now; chosen on dev for precision, see
        `triage.assess.training.URGENT_PRECISION`), never below the recall-first one of `threshold_for`. A head
        saved without it has one level: everything the head flags is urgent."""
        review = self.threshold_for(language, guarded)
        key = "urgent_threshold" if language in ("en", "und") else "urgent_other_language_threshold"
        return max(review, float(self.meta.get(key, review)))

    @property
    def dimensions(self) -> int:
        return int(self.prototypes.vectors.shape[1])

    @property
    def features(self) -> str:
        return str(self.meta["features"])

    @property
    def embedding_scale(self) -> float:
        return float(self.meta.get("embedding_scale", 1.0))

    def probability(self, texts: Sequence[str], vectors: npt.NDArray[np.floating[Any]] | None = None) -> Matrix:
        """P(urgent) per text; `vectors` are the texts' embeddings (needed unless the head reads n-grams only)."""
        if not texts:
            return np.zeros(0)
        z = np.full(len(texts), self.intercept)
        width = 0
        if self.features != "ngrams":  # the dense blocks, as in `design` but without building a sparse matrix
            if vectors is None:
                raise InvalidInput("this urgency head reads the comments' embeddings: pass their vectors")
            unit = _unit(np.asarray(vectors).reshape(len(texts), -1))
            width = unit.shape[1]
            z += unit @ self.coef[:width] * self.embedding_scale
            if "prototypes" in self.features:
                k = len(self.prototypes.categories)
                z += self.prototypes.similarities(unit) @ self.coef[width : width + k] * self.embedding_scale
                width += k
        if "ngrams" in self.features:
            z += ngram_scores(texts, self.coef[width:])
        return np.asarray(1.0 / (1.0 + np.exp(-z)), dtype=np.float64)

    def category_probabilities(self, vectors: npt.NDArray[np.floating[Any]]) -> Matrix:
        """P(category | urgent) per row of `vectors`, columns in `self.categories` order."""
        x = category_design(np.asarray(vectors, dtype=np.float64).reshape(-1, self.dimensions), self.prototypes)
        z = x @ self.category_coef.T + self.category_intercept
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return np.asarray(e / e.sum(axis=1, keepdims=True), dtype=np.float64)

    def arrays(self) -> dict[str, npt.NDArray[Any]]:
        nonzero = np.flatnonzero(self.coef)
        return {
            "coef_index": nonzero.astype(np.int64),
            "coef_value": self.coef[nonzero].astype(np.float64),
            "category_coef": self.category_coef.astype(np.float64),
            "category_intercept": self.category_intercept.astype(np.float64),
            "prototype_vectors": self.prototypes.vectors.astype(np.float64),
        }

    def save(self, directory: Path, name: str = "head") -> None:
        """Write `<name>.json` (metadata) and `<name>.npz` (arrays) into `directory`."""
        arrays = self.arrays()
        meta = {
            **self.meta,
            "format": FORMAT,
            "n_features": N_FEATURES,
            "n_coef": int(self.coef.shape[0]),
            "intercept": self.intercept,
            "categories": self.categories,
            "prototype_labels": list(self.prototypes.labels),
            "prototype_categories": list(self.prototypes.categories),
            "arrays_sha256": _sha(arrays),
        }
        np.savez_compressed(directory / f"{name}.npz", **arrays)  # type: ignore[arg-type]
        (directory / f"{name}.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, directory: Path, name: str = "head") -> UrgencyHead:
        """Load a saved head; refuses another format or scikit-learn version, and arrays that do not match."""
        path = directory / f"{name}.json"
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ConfigurationError(f"cannot read urgency head {path}: {exc}") from exc
        if not isinstance(meta, dict) or meta.get("format") != FORMAT or meta.get("n_features") != N_FEATURES:
            raise ModelMismatch(f"urgency head {path.name} has another format; refit it")
        if meta.get("sklearn_version") != sklearn_version:
            raise ModelMismatch(
                f"urgency head {path.name} was fitted with scikit-learn {meta.get('sklearn_version')}, "
                f"this is {sklearn_version}; refit it with `python -m evals.suites.urgent --fit`"
            )
        if meta.get("features") not in FEATURE_SETS:
            raise ModelMismatch(f"urgency head {path.name} reads unknown features {meta.get('features')!r}")
        try:
            with np.load(directory / f"{name}.npz", allow_pickle=False) as npz:
                arrays = {k: np.asarray(npz[k]) for k in npz.files}
        except (OSError, ValueError) as exc:
            raise ConfigurationError(f"cannot read urgency head arrays {name}.npz: {exc}") from exc
        if _sha(arrays) != meta.get("arrays_sha256"):
            raise ModelMismatch(f"urgency head arrays {name}.npz do not match {path.name}; refit or restore both")
        try:
            coef = np.zeros(int(meta["n_coef"]))
            coef[arrays["coef_index"]] = arrays["coef_value"]
            prototypes = Prototypes(
                arrays["prototype_vectors"],
                tuple(meta["prototype_labels"]),
                tuple(meta["prototype_categories"]),
            )
            head = cls(
                coef,
                float(meta["intercept"]),
                list(meta["categories"]),
                arrays["category_coef"],
                arrays["category_intercept"],
                prototypes,
                meta,
            )
            float(meta["threshold"])
        except (KeyError, ValueError, TypeError, IndexError) as exc:
            raise ConfigurationError(f"urgency head {path.name} is incomplete or malformed: {exc!r}") from exc
        k = len(head.categories)
        if head.category_coef.shape != (
            k,
            head.dimensions + len(prototypes.categories),
        ) or head.category_intercept.shape != (k,):
            raise ConfigurationError(f"urgency head {path.name}: category arrays do not match its categories")
        if len(prototypes.labels) != prototypes.vectors.shape[0]:
            raise ConfigurationError(f"urgency head {path.name}: prototype labels do not match their vectors")
        return head
