"""The single-comment triage path: redact, embed, the run's theme model. No LLM."""

from __future__ import annotations

import time

from triage.errors import InvalidInput
from triage.ingest.language import detect_language
from triage.ingest.redact import redact
from triage.pipeline.services import Services, base_theme_model, run_model
from triage.sentiment import score_sentiment_by_language
from triage.themes.multilingual import RoutedThemeModel, is_routed, routed_comments
from triage.types import (
    UNASSIGNED,
    TriageResult,
)


def triage_text(services: Services, text: str, provider: str | None = None, run_id: str | None = None) -> TriageResult:
    """One comment: redact, embed, the theme model of `run_id` (default: the newest run). No LLM on this path."""
    started = time.perf_counter()
    if not text.strip():
        raise InvalidInput("text must not be empty", field="text")
    model, run_id = run_model(services, run_id)
    redacted = redact(text.strip())
    vectors = services.embedder.encode([redacted])
    language = detect_language(redacted)
    routed = routed_comments([redacted], [language], services.multilingual.encoder) if is_routed(language) else {}
    if routed:
        # es/de/fr/pt: the multilingual head; every other comment takes the English path unchanged.
        model = RoutedThemeModel(model, services.multilingual.head(model.taxonomy), routed)
    themes = model.score([redacted], vectors)[0]
    urgency = services.urgency.assess([redacted], vectors)[0]
    return TriageResult(
        primary_theme=themes[0].id if themes else UNASSIGNED,
        themes=themes,
        redacted_text=redacted,
        provider=provider,
        urgent=urgency.urgent,
        urgency=urgency,
        sentiment=score_sentiment_by_language(
            [redacted], [None], [language], {0: routed[redacted][1]} if routed else None
        )[0],
        language=language,
        model_run_id=run_id,
        elapsed_ms=round((time.perf_counter() - started) * 1000, 2),
    )


def warm_up(services: Services) -> None:
    """Load every model the triage path uses, so the first request is as fast as the others."""
    base_theme_model(services)
    triage_text(services, "Warm-up: still waiting three weeks for a laptop.")
    # The multilingual encoder loads in about 0.1 s and 40 MB: warm it too, so a first es/de/fr/pt comment is fast.
    triage_text(services, "Calentamiento: llevo tres semanas esperando un portátil.")
