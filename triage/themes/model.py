"""ThemeModel: the fitted model of one organisation, shared by batch runs and single-comment triage."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from triage.errors import ModelMismatch
from triage.ports import Vectors
from triage.themes.classifier import NgramEmbeddingClassifier
from triage.themes.taxonomy import LabelledExample
from triage.types import Taxonomy, ThemeScore

MAX_THEMES = 3


@dataclass(frozen=True)
class DiscoveredTheme:
    id: str
    name: str
    keywords: list[str]
    centroid: npt.NDArray[np.float32]
    threshold: float


def taxonomy_hash(taxonomy: Taxonomy) -> str:
    return hashlib.sha256(taxonomy.model_dump_json().encode()).hexdigest()[:16]


def training_examples(taxonomy: Taxonomy, extra: list[LabelledExample] | None = None) -> tuple[list[str], list[str]]:
    """Texts and theme ids to fit on: the taxonomy's examples, then an organisation's own labelled examples.

    Examples of a theme the taxonomy no longer has are left out.
    """
    texts = [e for t in taxonomy.themes for e in t.examples]
    labels = [t.id for t in taxonomy.themes for _ in t.examples]
    known = {t.id for t in taxonomy.themes}
    for example in extra or []:
        if example.theme_id in known:
            texts.append(example.text)
            labels.append(example.theme_id)
    return texts, labels


class ThemeModel:
    """Taxonomy classifier plus the themes discovered in the run that fitted it."""

    def __init__(
        self,
        taxonomy: Taxonomy,
        classifier: NgramEmbeddingClassifier,
        embed_model: str,
        min_confidence: float,
        secondary_confidence: float,
        discovered: list[DiscoveredTheme] | None = None,
    ) -> None:
        self.taxonomy = taxonomy
        self.classifier = classifier
        self.embed_model = embed_model
        self.min_confidence = min_confidence
        self.secondary_confidence = secondary_confidence
        self.discovered = discovered or []
        self._names = {t.id: t.name for t in taxonomy.themes} | {d.id: d.name for d in self.discovered}

    @classmethod
    def fit(
        cls,
        taxonomy: Taxonomy,
        texts: list[str],
        labels: list[str],
        vectors: Vectors,
        embed_model: str,
        min_confidence: float,
        secondary_confidence: float,
    ) -> ThemeModel:
        """Fit the taxonomy classifier on labelled texts (see `training_examples`), vectors in the same order."""
        classifier = NgramEmbeddingClassifier().fit(texts, vectors, labels)
        return cls(taxonomy, classifier, embed_model, min_confidence, secondary_confidence)

    def name_of(self, theme_id: str) -> str:
        return self._names.get(theme_id, theme_id)

    def taxonomy_scores(self, texts: list[str], vectors: Vectors) -> list[list[ThemeScore]]:
        """Taxonomy themes per comment, primary first; an empty list means no theme fits."""
        probabilities = self.classifier.predict_proba(texts, vectors)
        results: list[list[ThemeScore]] = []
        for row in probabilities:
            order = np.argsort(-row)
            if row[order[0]] < self.min_confidence:
                results.append([])
                continue
            picked = [order[0]] + [j for j in order[1:MAX_THEMES] if row[j] >= self.secondary_confidence]
            cls = self.classifier.classes
            results.append(
                [ThemeScore(id=cls[j], name=self.name_of(cls[j]), confidence=round(float(row[j]), 4)) for j in picked]
            )
        return results

    def score(self, texts: list[str], vectors: Vectors) -> list[list[ThemeScore]]:
        """Taxonomy themes, else the nearest discovered theme the comment is close enough to, else []."""
        return self.add_discovered(self.taxonomy_scores(texts, vectors), vectors)

    def add_discovered(self, taxonomy_scores: list[list[ThemeScore]], vectors: Vectors) -> list[list[ThemeScore]]:
        """`taxonomy_scores` with each unassigned comment given the nearest discovered theme it is close enough to."""
        results = list(taxonomy_scores)
        if not self.discovered:
            return results
        centroids = np.stack([d.centroid for d in self.discovered])
        for i, themes in enumerate(results):
            if themes:
                continue
            similarity = centroids @ vectors[i]
            best = int(np.argmax(similarity))
            if similarity[best] >= self.discovered[best].threshold:
                d = self.discovered[best]
                results[i] = [ThemeScore(id=d.id, name=d.name, confidence=round(float(similarity[best]), 4))]
        return results

    def save(self, directory: Path) -> None:
        self.classifier.save(
            directory,
            {
                "embed_model": self.embed_model,
                "taxonomy": self.taxonomy.model_dump(),
                "taxonomy_hash": taxonomy_hash(self.taxonomy),
                "min_confidence": self.min_confidence,
                "secondary_confidence": self.secondary_confidence,
            },
        )
        discovered = [
            {"id": d.id, "name": d.name, "keywords": d.keywords, "threshold": d.threshold} for d in self.discovered
        ]
        (directory / "discovered.json").write_text(json.dumps(discovered), encoding="utf-8")
        centroids = np.stack([d.centroid for d in self.discovered]) if self.discovered else np.zeros((0, 0))
        np.save(directory / "discovered.npy", centroids)

    @classmethod
    def load(cls, directory: Path, embed_model: str) -> ThemeModel:
        classifier, meta = NgramEmbeddingClassifier.load(directory)
        if meta["embed_model"] != embed_model:
            raise ModelMismatch(f"theme model was fitted on embeddings of {meta['embed_model']}, not {embed_model}")
        items = json.loads((directory / "discovered.json").read_text(encoding="utf-8"))
        centroids = np.load(directory / "discovered.npy")
        discovered = [
            DiscoveredTheme(d["id"], d["name"], d["keywords"], centroids[i].astype(np.float32), d["threshold"])
            for i, d in enumerate(items)
        ]
        return cls(
            Taxonomy.model_validate(meta["taxonomy"]),
            classifier,
            embed_model,
            meta["min_confidence"],
            meta["secondary_confidence"],
            discovered,
        )
