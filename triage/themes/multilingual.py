"""Themes of comments in Spanish, German, French and Portuguese: a head on a multilingual encoder.

MiniLM and the n-gram classifier read English only (on evals/datasets/multilingual they get about a
fifth of non-English primary themes right). Comments detected as es/de/fr/pt are embedded by the multilingual
encoder (manifest alias `e5-multilingual`) and assigned by a logistic regression fitted, in that
encoder's space, on the English labelled comments the English classifier learns from (the taxonomy's
examples and the packaged ones, `training_examples`; not an organisation's own examples). Before the
head, a comment is moved by its language's offset: minus the mean of unlabelled comments written in that language
(`models/multilingual/calibration.jsonl`), plus the mean of the training examples ("language
centring", no translation). The head's probabilities are flatter than the English classifier's, so its
confidence thresholds are the product's times `confidence_scale`: the median top probability of the head
on the calibration comments over that of the English path on their English counterparts (unlabelled
text only). English and undetermined comments keep the product path untouched.
Measured by `python -m evals.suites.multilingual`.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import sklearn

from triage.errors import ModelMismatch
from triage.ports import Embedder, Vectors
from triage.themes.analyze import ThemeAnalysis, TrackedGroup, analyze_themes
from triage.themes.keywords import class_keywords
from triage.themes.model import MAX_THEMES, ThemeModel, taxonomy_hash, training_examples
from triage.themes.taxonomy import packaged_examples
from triage.types import Taxonomy, ThemeScore

log = logging.getLogger(__name__)

ENCODER = "e5-multilingual"
"""Manifest alias of the multilingual encoder."""
LANGUAGES = ("es", "de", "fr", "pt")
"""Languages routed to the multilingual head (ISO 639-1); every other comment keeps the English path."""
C = 10.0
"""Inverse regularisation of the head, as the product's English classifier (not tuned on the eval set)."""
DEFAULT_ENGLISH_TOP_MEDIAN = 0.9
"""Used when refitting without a saved head: the value measured on the default taxonomy (0.899)."""
FORMAT = 1
Vector = npt.NDArray[np.float32]
Routed = Mapping[str, tuple[str, Vector]]
"""Comment text -> (language, multilingual vector) for the comments that take the multilingual path."""


def is_routed(language: str) -> bool:
    return language in LANGUAGES


def read_calibration(path: Path) -> dict[str, list[str]]:
    """Unlabelled comments per language: `{"lang", "text"}` JSON lines."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    out: dict[str, list[str]] = {}
    for row in rows:
        out.setdefault(row["lang"], []).append(row["text"])
    return out


def _sha(items: Sequence[object]) -> str:
    return hashlib.sha256(json.dumps(list(items), ensure_ascii=False).encode()).hexdigest()[:16]


def examples_sha(examples: Sequence[str], labels: Sequence[str]) -> str:
    return _sha([list(pair) for pair in zip(examples, labels, strict=True)])


class MultilingualThemeHead:
    """Language-centred vectors -> softmax over the taxonomy's theme ids."""

    def __init__(
        self,
        classes: list[str],
        coef: npt.NDArray[np.float64],
        intercept: npt.NDArray[np.float64],
        train_mean: npt.NDArray[np.float64],
        language_means: dict[str, npt.NDArray[np.float64]],
        meta: dict[str, Any],
    ) -> None:
        self.classes = classes
        self.coef = coef
        self.intercept = intercept
        self.train_mean = train_mean
        self.language_means = language_means
        self.meta = meta

    @classmethod
    def fit(
        cls,
        taxonomy: Taxonomy,
        examples: list[str],
        labels: list[str],
        example_vectors: Vectors,
        encoder: str,
        calibration: dict[str, list[str]],
        calibration_vectors: dict[str, Vectors],
        english_top_median: float,
    ) -> MultilingualThemeHead:
        """Fit on labelled English examples (vectors in the same order); deterministic (lbfgs, no sampling).

        `english_top_median`: the median top probability of the English path on the English calibration
        comments, which sets `confidence_scale`.
        """
        from sklearn.linear_model import LogisticRegression

        if not len(examples) == len(labels) == len(example_vectors):
            raise ValueError(f"{len(examples)} examples, {len(labels)} labels and {len(example_vectors)} vectors")
        x = np.asarray(example_vectors, dtype=np.float64)
        model = LogisticRegression(C=C, max_iter=5000, class_weight="balanced").fit(x, labels)
        means = {lang: np.asarray(calibration_vectors[lang], dtype=np.float64).mean(axis=0) for lang in LANGUAGES}
        meta = {
            "format": FORMAT,
            "encoder": encoder,
            "C": C,
            "taxonomy_hash": taxonomy_hash(taxonomy),
            "taxonomy_version": taxonomy.version,
            "trained_on": len(examples),
            "examples_sha256": examples_sha(examples, labels),
            "calibration_sha256": _sha([[lang, calibration[lang]] for lang in LANGUAGES]),
            "calibration_counts": {lang: len(calibration[lang]) for lang in LANGUAGES},
            "sklearn_version": sklearn.__version__,
        }
        classes = [str(c) for c in model.classes_]
        head = cls(classes, model.coef_, model.intercept_, x.mean(axis=0), means, meta)
        languages = [lang for lang in LANGUAGES for _ in calibration[lang]]
        stacked = np.concatenate([calibration_vectors[lang] for lang in LANGUAGES]).astype(np.float32)
        top_median = float(np.median(head.probabilities(stacked, languages).max(axis=1)))
        meta["top_median"] = round(top_median, 4)
        meta["english_top_median"] = round(english_top_median, 4)
        meta["confidence_scale"] = round(min(1.0, top_median / english_top_median), 4)
        return head

    @property
    def confidence_scale(self) -> float:
        """Multiplies the product's confidence thresholds for this head's probabilities."""
        return float(self.meta.get("confidence_scale", 1.0))

    def centred(self, vectors: Vectors, languages: Sequence[str]) -> npt.NDArray[np.float64]:
        """Each vector moved from its language's mean to the training examples' mean."""
        x = np.asarray(vectors, dtype=np.float64).copy()
        for i, lang in enumerate(languages):
            if lang in self.language_means:
                x[i] += self.train_mean - self.language_means[lang]
        return x

    def probabilities(self, vectors: Vectors, languages: Sequence[str]) -> npt.NDArray[np.float64]:
        """One row per comment, columns in `classes` order."""
        if len(vectors) == 0:
            return np.zeros((0, len(self.classes)))
        z = self.centred(vectors, languages) @ self.coef.T + self.intercept
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return np.asarray(e / e.sum(axis=1, keepdims=True), dtype=np.float64)

    def save(self, directory: Path) -> None:
        """Plain arrays (`themes.npz`) and JSON (`themes.json`), no pickle."""
        directory.mkdir(parents=True, exist_ok=True)
        meta = {**self.meta, "classes": self.classes, "languages": sorted(self.language_means)}
        (directory / "themes.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
        arrays: dict[str, Any] = {f"mean_{lang}": m for lang, m in self.language_means.items()}
        arrays |= {"coef": self.coef, "intercept": self.intercept, "train_mean": self.train_mean}
        np.savez(directory / "themes.npz", **arrays)

    @classmethod
    def load(cls, directory: Path) -> MultilingualThemeHead:
        meta = json.loads((directory / "themes.json").read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT:
            raise ModelMismatch(f"multilingual theme head in {directory} has another format; refit it")
        arrays = np.load(directory / "themes.npz")
        means = {lang: np.asarray(arrays[f"mean_{lang}"], dtype=np.float64) for lang in meta["languages"]}
        classes = list(meta.pop("classes"))
        meta.pop("languages")
        return cls(
            classes,
            np.asarray(arrays["coef"], dtype=np.float64),
            np.asarray(arrays["intercept"], dtype=np.float64),
            np.asarray(arrays["train_mean"], dtype=np.float64),
            means,
            meta,
        )


def head_training(taxonomy: Taxonomy, models_dir: Path) -> tuple[list[str], list[str]]:
    """The English labelled comments of the English classifier: the taxonomy's and the packaged examples."""
    return training_examples(taxonomy, packaged_examples(models_dir))


def fit_head(
    taxonomy: Taxonomy, encoder: Embedder, directory: Path, english_top_median: float
) -> MultilingualThemeHead:
    """Encode the training examples and the calibration comments, then fit (2-3 minutes on one core).

    `directory`: models/multilingual (its parent is the models dir, whose packaged examples are used).
    """
    examples, labels = head_training(taxonomy, directory.parent)
    calibration_path = directory / "calibration.jsonl"
    calibration = read_calibration(calibration_path)
    missing = [lang for lang in LANGUAGES if not calibration.get(lang)]
    if missing:
        raise ModelMismatch(f"{calibration_path.name} has no comments in {', '.join(missing)}")
    calibration_vectors = {lang: encoder.encode(calibration[lang]) for lang in LANGUAGES}
    return MultilingualThemeHead.fit(
        taxonomy,
        examples,
        labels,
        encoder.encode(examples),
        encoder.alias,
        calibration,
        calibration_vectors,
        english_top_median,
    )


def head_for(taxonomy: Taxonomy, encoder: Embedder, directory: Path) -> MultilingualThemeHead:
    """The head saved in `directory` when it was fitted on this taxonomy and encoder, else one fitted now."""
    english_top_median = DEFAULT_ENGLISH_TOP_MEDIAN
    try:
        head = MultilingualThemeHead.load(directory)
        examples_now = examples_sha(*head_training(taxonomy, directory.parent))
        if (
            head.meta["taxonomy_hash"] == taxonomy_hash(taxonomy)
            and head.meta["encoder"] == encoder.alias
            and head.meta["examples_sha256"] == examples_now
        ):
            return head
        english_top_median = float(head.meta["english_top_median"])
        log.warning("the training examples differ from the multilingual head's: refitting it (a few minutes)")
    except (OSError, KeyError, ModelMismatch) as exc:
        log.warning("no usable multilingual theme head in %s (%s): fitting one", directory, exc)
    return fit_head(taxonomy, encoder, directory, english_top_median)


class RoutedThemeModel(ThemeModel):
    """A run's ThemeModel whose taxonomy scores for routed comments come from the multilingual head.

    Everything else (thresholds, names, discovered themes, the English classifier) is the wrapped model's,
    so a routed comment that fits no taxonomy theme may still join a discovered theme, as in the batch.
    """

    def __init__(self, model: ThemeModel, head: MultilingualThemeHead, routed: Routed) -> None:
        super().__init__(
            model.taxonomy,
            model.classifier,
            model.embed_model,
            model.min_confidence,
            model.secondary_confidence,
            model.discovered,
        )
        if head.meta["taxonomy_hash"] != taxonomy_hash(model.taxonomy):
            raise ModelMismatch("the multilingual head was fitted on another taxonomy than this theme model")
        self.head = head
        self.routed = routed

    def _pick(self, row: npt.NDArray[np.float64]) -> list[ThemeScore]:
        order = np.argsort(-row)
        scale = self.head.confidence_scale
        if row[order[0]] < self.min_confidence * scale:
            return []
        picked = [order[0]] + [j for j in order[1:MAX_THEMES] if row[j] >= self.secondary_confidence * scale]
        cls = self.head.classes
        return [ThemeScore(id=cls[j], name=self.name_of(cls[j]), confidence=round(float(row[j]), 4)) for j in picked]

    def taxonomy_scores(self, texts: list[str], vectors: Vectors) -> list[list[ThemeScore]]:
        routed = [i for i, text in enumerate(texts) if text in self.routed]
        if not routed:
            return super().taxonomy_scores(texts, vectors)
        english = [i for i in range(len(texts)) if i not in set(routed)]
        results: list[list[ThemeScore]] = [[] for _ in texts]
        if english:
            scored = super().taxonomy_scores([texts[i] for i in english], vectors[english])
            for i, themes in zip(english, scored, strict=True):
                results[i] = themes
        languages = [self.routed[texts[i]][0] for i in routed]
        ml_vectors = np.stack([self.routed[texts[i]][1] for i in routed]).astype(np.float32)
        for i, row in zip(routed, self.head.probabilities(ml_vectors, languages), strict=True):
            results[i] = self._pick(row)
        return results


def routed_comments(texts: Sequence[str], languages: Sequence[str], encoder: Embedder | None) -> dict[str, Any]:
    """The routed comments of a batch with their multilingual vectors (encoded once, here)."""
    indices = [i for i, lang in enumerate(languages) if is_routed(lang)]
    if not indices or encoder is None:
        return {}
    vectors = encoder.encode([texts[i] for i in indices])
    return {texts[i]: (languages[i], vectors[k]) for k, i in enumerate(indices)}


def analyze_themes_routed(
    base: ThemeModel,
    head: MultilingualThemeHead | None,
    routed: Routed,
    texts: list[str],
    vectors: Vectors,
    min_new_theme_size: int,
    providers: list[str] | None = None,
    previous: Sequence[TrackedGroup] = (),
) -> ThemeAnalysis:
    """`analyze_themes`, with routed comments assigned by the multilingual head.

    Without routed comments this is `analyze_themes` itself. With them, the head's answers also keep the
    routed comments out of new-theme discovery (MiniLM would group them by language, not by failure).
    """
    if not routed or head is None:
        return analyze_themes(base, texts, vectors, min_new_theme_size, providers, previous=previous)
    routed_model = RoutedThemeModel(base, head, routed)
    analysis = analyze_themes(routed_model, texts, vectors, min_new_theme_size, providers, previous=previous)
    model = RoutedThemeModel(analysis.model, head, routed)
    analysis.themes = model.score(texts, vectors)
    primaries = [analysis.primary(i) for i in range(len(texts))]
    analysis.theme_keywords = class_keywords(texts, primaries, top_n=8)
    return analysis


class MultilingualThemes:
    """The multilingual encoder and its theme head per taxonomy, kept for the life of a process."""

    def __init__(self, encoder: Embedder, directory: Path) -> None:
        self.encoder = encoder
        self.directory = directory
        self._heads: dict[str, MultilingualThemeHead] = {}

    def head(self, taxonomy: Taxonomy) -> MultilingualThemeHead:
        key = taxonomy_hash(taxonomy)
        if key not in self._heads:
            self._heads[key] = head_for(taxonomy, self.encoder, self.directory)
        return self._heads[key]
