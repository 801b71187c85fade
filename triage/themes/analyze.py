"""The batch theme step: assign, discover, cluster into subjects, label with keywords."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from triage.ports import Vectors
from triage.themes.classifier import NgramEmbeddingClassifier
from triage.themes.cluster import discover_groups, stable_id, subject_clusters
from triage.themes.keywords import class_keywords
from triage.themes.model import DiscoveredTheme, ThemeModel
from triage.types import UNASSIGNED, Taxonomy, ThemeScore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Subject:
    id: str
    name: str
    keywords: list[str]

    @property
    def phrase(self) -> str:
        """A short phrase for sentences ("laptop provisioning"): the subject's top keyword."""
        return self.keywords[0] if self.keywords else "these requests"


@dataclass
class ThemeAnalysis:
    model: ThemeModel
    themes: list[list[ThemeScore]]
    """Per comment, primary first; empty = unassigned."""
    subjects: list[str]
    """Subject id per comment."""
    subject_info: dict[str, Subject] = field(default_factory=dict)
    theme_keywords: dict[str, list[str]] = field(default_factory=dict)

    def primary(self, i: int) -> str:
        return self.themes[i][0].id if self.themes[i] else UNASSIGNED


def fit_theme_model(
    taxonomy: Taxonomy,
    example_vectors: Vectors,
    embed_model: str,
    min_confidence: float,
    secondary_confidence: float,
) -> ThemeModel:
    """Fit the taxonomy classifier on the taxonomy's example comments (vectors in example order)."""
    texts = [e for t in taxonomy.themes for e in t.examples]
    labels = [t.id for t in taxonomy.themes for _ in t.examples]
    classifier = NgramEmbeddingClassifier().fit(texts, example_vectors, labels)
    return ThemeModel(taxonomy, classifier, embed_model, min_confidence, secondary_confidence)


def _discover(
    base: ThemeModel, texts: list[str], vectors: Vectors, unassigned: list[int], min_size: int
) -> list[DiscoveredTheme]:
    groups = discover_groups(vectors[unassigned], min_size=min_size)
    discovered = []
    for group in groups:
        members = {unassigned[m] for m in group.members}
        labels = ["group" if i in members else "rest" for i in range(len(texts))]
        keywords = class_keywords(texts, labels, top_n=6).get("group", [])
        if not keywords:
            continue
        name = "New: " + ", ".join(keywords[:3])
        discovered.append(
            DiscoveredTheme(stable_id("new_", keywords[:3]), name, keywords, group.centroid, group.threshold)
        )
    log.info("discovered %d candidate themes among %d unassigned comments", len(discovered), len(unassigned))
    return discovered


def analyze_themes(
    base: ThemeModel,
    texts: list[str],
    vectors: Vectors,
    min_new_theme_size: int,
    providers: list[str] | None = None,
    subjects_k: int | None = None,
) -> ThemeAnalysis:
    """Themes for every comment, with candidate new themes and subjects; returns the run's fitted model.

    Provider names are left out of subject keywords: a subject is what was asked for, not of whom.
    """
    first = base.taxonomy_scores(texts, vectors)
    unassigned = [i for i, themes in enumerate(first) if not themes]
    discovered = _discover(base, texts, vectors, unassigned, min_new_theme_size)
    model = ThemeModel(
        base.taxonomy, base.classifier, base.embed_model, base.min_confidence, base.secondary_confidence, discovered
    )
    themes = model.score(texts, vectors)

    clustering = subject_clusters(vectors, k=subjects_k) if len(texts) else None
    subject_labels = [str(x) for x in (clustering.labels.tolist() if clustering else [])]
    provider_words = {w for p in providers or [] for w in p.lower().split()}
    generic = {"weeks", "week", "days", "months", "new", "time", "year", "team", "people", "need", "asked", "get"}
    subject_keywords = class_keywords(texts, subject_labels, top_n=5, extra_stop_words=sorted(provider_words | generic))
    subject_info: dict[str, Subject] = {}
    for label, words in subject_keywords.items():
        subject_id = stable_id("subj_", words[:3] or [label])
        subject_info[label] = Subject(subject_id, " / ".join(words[:3]) or "miscellaneous", words)
    subjects = [subject_info[label].id for label in subject_labels]

    analysis = ThemeAnalysis(model, themes, subjects, {s.id: s for s in subject_info.values()})
    primaries = [analysis.primary(i) for i in range(len(texts))]
    analysis.theme_keywords = class_keywords(texts, primaries, top_n=8)
    log.info(
        "themes: %d comments, %d assigned, %d unassigned, %d subjects",
        len(texts),
        sum(1 for t in themes if t),
        sum(1 for t in themes if not t),
        len(subject_info),
    )
    return analysis


def mean_or_none(values: list[int | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(float(np.mean(present)), 2) if present else None
