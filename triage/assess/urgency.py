"""UrgencyDetector: comments that need escalation now (harassment, discrimination, threats, safety,
fraud, data breaches, self-harm risk).

Two levels, as in a trust-and-safety queue (`Urgency.level`):
- "urgent" (escalate now): a curated rule of `models/urgency/rules.toml` fired (a high-precision layer), or the
  head's P(urgent) reaches its high-precision threshold (the highest-recall point with out-of-fold dev precision
  >= 0.85, `triage.assess.training.URGENT_PRECISION`);
- "review" (a person should look today): only the recall-first threshold (out-of-fold dev recall 0.97) is reached.
`Urgency.urgent` means "in HR's urgent queue", i.e. either level; `level` says which. Rules name the category;
otherwise, and to break ties between rules, the head's category model does. The head reads the
embedding the pipeline already computed, so one comment costs a few milliseconds on top of it. Measured in
`python -m evals.suites.urgent`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
import numpy.typing as npt

from triage.assess.head import UrgencyHead
from triage.assess.rules import CATEGORIES, UrgencyRules
from triage.errors import ConfigurationError, InvalidInput, ModelMismatch
from triage.ingest.language import detect_language
from triage.types import Urgency, UrgencyCategory, UrgencyLevel

log = logging.getLogger(__name__)
RULES_FILE = "rules.toml"
HEAD_NAME = "head"
"""`head.json` (metadata) and `head.npz` (arrays)."""
RULE_RELIABILITY = 0.9
"""A rule hit alone gives a score of at least this (noisy-OR with the head's probability)."""


class UrgencyDetector:
    """Rules OR head; one `Urgency` per comment, at level "urgent" or "review" (see the module docstring)."""

    def __init__(self, rules: UrgencyRules, head: UrgencyHead, threshold: float | None = None) -> None:
        """`threshold` overrides the head's recall-first one (chosen on dev; the "urgent" level is never below it);
        above 1 the head never flags alone (rules only)."""
        unknown = sorted(set(head.categories) - set(CATEGORIES))
        if unknown:
            raise ConfigurationError(f"urgency head knows categories the rules do not: {', '.join(unknown)}")
        self.rules = rules
        self.head = head
        self._threshold = threshold

    @classmethod
    def load(cls, directory: Path, embed_model: str | None = None, threshold: float | None = None) -> UrgencyDetector:
        """Load `rules.toml`, `head.json` and `head.npz` from `directory` (normally `models/urgency/`).

        `embed_model`, when given, is the alias of the embedder whose vectors `assess` will get; a head
        fitted on another model's vectors is refused.
        """
        if not directory.is_dir():
            raise ConfigurationError(f"urgency model directory {directory} does not exist")
        head = UrgencyHead.load(directory, HEAD_NAME)
        if embed_model is not None and head.meta.get("embed_model") != embed_model:
            raise ModelMismatch(
                f"urgency head was fitted on {head.meta.get('embed_model')!r} vectors, the embedder is {embed_model!r}"
            )
        return cls(UrgencyRules.load(directory / RULES_FILE), head, threshold)

    @property
    def threshold(self) -> float:
        return self.head.threshold if self._threshold is None else self._threshold

    def thresholds(self, texts: Sequence[str], languages: Sequence[str]) -> list[float]:
        """The head's threshold per text: by language, stricter where the rules' guards spoke."""
        return self._thresholds([self.rules.guarded(t) for t in texts], languages)[0]

    def urgent_thresholds(self, texts: Sequence[str], languages: Sequence[str]) -> list[float]:
        """The head's "urgent"-level threshold per text (never below `thresholds`)."""
        return self._thresholds([self.rules.guarded(t) for t in texts], languages)[1]

    def _thresholds(self, guarded: Sequence[bool], languages: Sequence[str]) -> tuple[list[float], list[float]]:
        """(review, urgent) thresholds per text, from whether the rules' guards spoke on it (computed once)."""
        if self._threshold is not None:
            review = [self._threshold] * len(languages)
        else:
            review = [self.head.threshold_for(lang, g) for g, lang in zip(guarded, languages, strict=True)]
        urgent = [
            max(r, self.head.urgent_threshold_for(lang, g))
            for g, lang, r in zip(guarded, languages, review, strict=True)
        ]
        return review, urgent

    def assess(
        self,
        texts: Sequence[str],
        vectors: npt.NDArray[np.floating[Any]],
        languages: Sequence[str] | None = None,
    ) -> list[Urgency]:
        """One Urgency per text; `vectors` are the texts' embeddings (one row each, the head's model).

        `languages` (ISO 639-1 per text) pick the head's threshold: MiniLM reads English, so for other languages
        the head only flags when it is sure and the rules carry the rest. Detected here when not given. The head
        must also be surer where the rules' guards spoke (a figure of speech, a negated cue)."""
        if len(vectors) != len(texts):
            raise InvalidInput(f"{len(texts)} texts but {len(vectors)} vectors")
        if languages is None:
            languages = [detect_language(t) for t in texts]
        if len(languages) != len(texts):
            raise InvalidInput(f"{len(texts)} texts but {len(languages)} languages")
        if len(texts) and (np.ndim(vectors) != 2 or np.shape(vectors)[1] != self.head.dimensions):
            raise ModelMismatch(
                f"urgency head wants {self.head.dimensions}-dimensional vectors, got {np.shape(vectors)}"
            )
        if not texts:
            return []
        probs = self.head.probability(texts, vectors)
        cat_probs = self.head.category_probabilities(vectors)
        order = self.head.categories
        results = []
        thresholds, levels = self._thresholds([self.rules.guarded(t) for t in texts], languages)
        for text, p, row, threshold, escalate in zip(texts, probs, cat_probs, thresholds, levels, strict=True):
            fired = self.rules.match(text)
            score = 1 - (1 - float(p)) * (1 - RULE_RELIABILITY) if fired else float(p)
            urgent = bool(fired) or p >= threshold
            level: UrgencyLevel | None = "urgent" if fired or p >= escalate else "review" if urgent else None
            category: UrgencyCategory | None = None
            if fired:
                category = max(fired, key=lambda c: row[order.index(c)] if c in order else -1.0)
            elif urgent:
                category = cast(UrgencyCategory, order[int(row.argmax())])
            cues = [f"rules:{c}" for c in fired] + (["model"] if p >= threshold else [])
            results.append(
                Urgency(urgent=urgent, level=level, category=category, score=round(min(score, 1.0), 4), cues=cues)
            )
        flagged = sum(r.urgent for r in results)
        if flagged:
            now = sum(r.level == "urgent" for r in results)
            log.info("urgency: %d of %d comments urgent, %d to review", now, len(results), flagged - now)
        return results
