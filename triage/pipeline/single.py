"""The triage path for new comments: redact, embed, the run's theme model, urgency, sentiment. No LLM.

`triage_texts` does every step once for a whole batch of comments (one name-model pass, one forward pass,
one classifier call); `TriageQueue` feeds it the comments of concurrent requests, so a busy API answers
many requests with the work of a few.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from triage.errors import InvalidInput
from triage.ingest.language import detect_language
from triage.ingest.redact import redact_many
from triage.microbatch import MicroBatcher
from triage.pipeline.services import Services, base_theme_model, run_model
from triage.sentiment import score_sentiment_by_language
from triage.themes.multilingual import RoutedThemeModel, is_routed, routed_comments
from triage.types import (
    UNASSIGNED,
    TriageResult,
)

Item = tuple[str, str | None]
"""A comment to triage: (text, provider)."""


def _checked(text: str) -> str:
    if not text.strip():
        raise InvalidInput("text must not be empty", field="text")
    return text.strip()


def triage_texts(services: Services, items: Sequence[Item], run_id: str | None = None) -> list[TriageResult]:
    """Triage several comments at once with the theme model of `run_id` (default: the newest run)."""
    started = time.perf_counter()
    texts = [_checked(text) for text, _ in items]
    if not texts:
        return []
    model, run_id = run_model(services, run_id)
    redacted = [r.text for r in redact_many(texts)]
    vectors = services.embedder.encode(redacted)
    languages = [detect_language(t) for t in redacted]
    routed = {}
    if any(is_routed(lang) for lang in languages):
        routed = routed_comments(redacted, languages, services.multilingual.encoder)
    if routed:
        # es/de/fr/pt: the multilingual head; every other comment takes the English path unchanged.
        model = RoutedThemeModel(model, services.multilingual.head(model.taxonomy), routed)
    themes = model.score(redacted, vectors)
    urgencies = services.urgency.assess(redacted, vectors, languages)
    multilingual = {i: routed[t][1] for i, t in enumerate(redacted) if t in routed}
    sentiments = score_sentiment_by_language(redacted, [None] * len(redacted), languages, multilingual or None)
    elapsed = round((time.perf_counter() - started) * 1000, 2)
    return [
        TriageResult(
            primary_theme=scores[0].id if scores else UNASSIGNED,
            themes=scores,
            redacted_text=text,
            provider=provider,
            urgent=urgency.urgent,
            urgency=urgency,
            sentiment=sentiment,
            language=language,
            model_run_id=run_id,
            elapsed_ms=elapsed,
        )
        for text, (_, provider), scores, urgency, sentiment, language in zip(
            redacted, items, themes, urgencies, sentiments, languages, strict=True
        )
    ]


def triage_text(services: Services, text: str, provider: str | None = None, run_id: str | None = None) -> TriageResult:
    """One comment: redact, embed, the theme model of `run_id` (default: the newest run). No LLM on this path."""
    return triage_texts(services, [(text, provider)], run_id)[0]


class TriageQueue:
    """Concurrent triage requests answered in shared batches (`triage.microbatch.MicroBatcher`).

    A lone request is served at once; requests arriving while a batch runs form the next one, up to
    `max_batch` comments. Each result's `elapsed_ms` is its own time from submission to answer.
    """

    def __init__(self, services: Services, max_batch: int) -> None:
        self.services = services
        self._batcher: MicroBatcher[Item, TriageResult] = MicroBatcher(
            lambda items: triage_texts(services, items), max(max_batch, 1), name="triage-queue"
        )

    @property
    def batches(self) -> int:
        return self._batcher.batches

    async def triage(self, text: str, provider: str | None = None) -> TriageResult:
        """Triage one comment with the newest run's model; waits on the event loop, works on the queue's thread."""
        started = time.perf_counter()
        item = (_checked(text), provider)  # a bad request is refused alone, never failing the batch it would join
        (result,) = await asyncio.wrap_future(self._batcher.submit([item]))
        return result.model_copy(update={"elapsed_ms": round((time.perf_counter() - started) * 1000, 2)})

    def close(self) -> None:
        self._batcher.close()


def warm_up(services: Services) -> None:
    """Load every model the triage path uses, so the first request is as fast as the others."""
    base_theme_model(services)
    triage_text(services, "Warm-up: still waiting three weeks for a laptop.")
    # The multilingual encoder loads in about 0.1 s and 40 MB: warm it too, so a first es/de/fr/pt comment is fast.
    triage_text(services, "Calentamiento: llevo tres semanas esperando un portátil.")
