"""Analysis runs: embed, themes, sentiment, summaries, report; progress and failure recorded."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any

from triage.config import Settings
from triage.embed.cache import embed_cached
from triage.errors import Conflict, NotFound, TriageError
from triage.ingest.language import detect_language
from triage.llm import CachedLLMClient, OpenAIChatClient
from triage.pipeline.services import Services, base_theme_model
from triage.ports import LLMClient, Summarizer
from triage.prompting.templates import load_prompt
from triage.report.audit import audit_report
from triage.report.build import build_report, summary_request, theme_groups
from triage.sentiment import score_sentiment_by_language
from triage.store.sql import NewAssignment
from triage.summarize.llm import LLMSummarizer, LLMUsage
from triage.summarize.names import dedupe_names
from triage.summarize.offline import OfflineSummarizer
from triage.summarize.playbook import load_playbook
from triage.themes.analyze import load_tracked, save_tracked
from triage.themes.multilingual import analyze_themes_routed, is_routed, routed_comments
from triage.types import (
    Report,
    RunUsage,
    Summary,
    SummaryRequest,
)

log = logging.getLogger(__name__)
Progress = Callable[[float, str], None]
SUMMARY_CONCURRENCY = 4
PROGRESS_WRITE_INTERVAL_S = 1.0
"""Stored progress is written at most this often within a stage: each write is a committed transaction."""


def _summarizer(settings: Settings, client: LLMClient | None) -> Summarizer:
    offline = OfflineSummarizer(load_playbook(settings.models_dir / "playbook.toml"))
    if client is None:
        return offline
    prompt = load_prompt(settings.prompts_dir, "summarize", settings.llm.prompt_version)
    return LLMSummarizer(client, prompt, fallback=offline)


async def analyze(services: Services, run_id: str, on_progress: Progress | None = None) -> Report:
    """Run theme analysis for a queued run; stores results and marks it succeeded, or failed on error."""
    sql = services.sql
    stored_stage = ""
    stored_at = 0.0

    def progress(value: float, stage: str) -> None:
        # `GET /v1/runs/{id}` reads the stored value: a stage change or the end always, else once a second.
        # The values only grow, so a skipped write never makes the stored progress go back.
        nonlocal stored_stage, stored_at
        now = time.monotonic()
        if stage != stored_stage or value >= 1.0 or now - stored_at >= PROGRESS_WRITE_INTERVAL_S:
            sql.update_run(run_id, progress=round(value, 3), stage=stage)
            stored_stage, stored_at = stage, now
        if on_progress:
            on_progress(value, stage)

    status = sql.run(run_id)
    if status is None:
        raise NotFound(f"run {run_id} not found")
    sql.update_run(run_id, status="running")
    try:
        return await _analyze(services, run_id, status.dataset_id, progress)
    except Exception as exc:
        detail = exc.detail if isinstance(exc, TriageError) else f"internal error ({type(exc).__name__})"
        log.exception("run %s failed", run_id)
        sql.update_run(run_id, status="failed", error=detail)
        raise


async def _analyze(services: Services, run_id: str, dataset_id: str, progress: Progress) -> Report:
    settings = services.settings
    dataset = services.sql.dataset(dataset_id)
    if dataset is None:
        raise NotFound(f"dataset {dataset_id} not found")
    comments = services.sql.comments(dataset_id)
    if not comments:
        raise Conflict(f"dataset {dataset_id} has no comments to analyse")
    started = time.perf_counter()
    progress(0.02, "embedding")
    texts = [c.text for c in comments]
    vectors = await asyncio.to_thread(
        embed_cached,
        services.embedder,
        services.vectors,
        texts,
        on_progress=lambda done, total: progress(0.02 + 0.48 * done / max(total, 1), "embedding"),
    )
    embed_seconds = time.perf_counter() - started
    progress(0.5, "themes")
    base = await asyncio.to_thread(base_theme_model, services)
    languages, routed = await asyncio.to_thread(_languages_and_routed, services, texts)
    head = services.multilingual.head(base.taxonomy) if routed else None
    # Subjects and discovered themes that continue the last run's keep their ids (matched by centroid).
    last_run = services.sql.latest_succeeded_run()
    previous = load_tracked(settings.artifacts_dir / last_run) if last_run else []
    analysis = await asyncio.to_thread(
        analyze_themes_routed,
        base,
        head,
        routed,
        texts,
        vectors,
        settings.themes.min_new_theme_size,
        [c.provider for c in comments],
        previous,
    )
    sentiments = await asyncio.to_thread(
        score_sentiment_by_language,
        texts,
        [c.rating for c in comments],
        languages,
        {i: routed[t][1] for i, t in enumerate(texts) if t in routed},
    )
    urgencies = await asyncio.to_thread(services.urgency.assess, texts, vectors, languages)
    groups = theme_groups(comments, analysis, settings.report.min_respondents)
    shown = [g for g in groups if not g.withheld]
    progress(0.7, "summaries")
    # The HTTP client lives on this run's event loop: opened here, closed when the summaries are done.
    client = OpenAIChatClient(settings.llm) if settings.llm.enabled else None
    llm: LLMClient | None = client
    if client is not None and settings.llm.cache:
        # Validated answers are kept by (model, prompt, inputs): re-running a report costs no calls.
        llm = CachedLLMClient(client, settings.data_dir / "llm_cache")
    requests = [summary_request(g, comments, analysis, vectors) for g in shown]
    summaries_started = time.perf_counter()
    try:
        summarizer = _summarizer(settings, llm)
        summaries = await _summarize_all(summarizer, requests, progress)
    finally:
        if client is not None:
            await client.aclose()
    summary_seconds = time.perf_counter() - summaries_started
    summaries = dedupe_names(summaries, requests, [t.name for t in services.taxonomy.themes])
    report = build_report(
        run_id=run_id,
        dataset_id=dataset_id,
        dataset_name=dataset.name,
        comments=comments,
        vectors=vectors,
        analysis=analysis,
        groups=groups,
        summaries=summaries,
        min_respondents=settings.report.min_respondents,
        quotes_per_theme=settings.report.quotes_per_theme,
        accepted_actions=services.sql.actions(),
        sentiments=sentiments,
        languages=languages,
    )
    # Every generated text (LLM or offline) is audited for personal data before the report is stored or shown.
    report = await asyncio.to_thread(audit_report, report)
    analysis.model.save(settings.artifacts_dir / run_id)
    save_tracked(settings.artifacts_dir / run_id, analysis.tracked)
    assignments = [
        NewAssignment(comment_id=c.id, kind="theme", label=t.id, confidence=t.confidence, rank=rank)
        for c, themes in zip(comments, analysis.themes, strict=True)
        for rank, t in enumerate(themes)
    ]
    per_comment = zip(comments, analysis.subjects, sentiments, languages, urgencies, strict=True)
    for c, subject, mood, language, urgency in per_comment:
        assignments += [
            NewAssignment(comment_id=c.id, kind="subject", label=subject, confidence=1.0, rank=0),
            NewAssignment(comment_id=c.id, kind="language", label=language, confidence=1.0, rank=0),
        ]
        if urgency.urgent:
            category = urgency.category or "unspecified"
            level = 0 if urgency.level == "urgent" else 1  # rank 0: escalate now, 1: to review
            assignments.append(
                NewAssignment(comment_id=c.id, kind="urgent", label=category, confidence=urgency.score, rank=level)
            )
        if mood is not None:
            assignments.append(
                NewAssignment(comment_id=c.id, kind="sentiment", label=mood.label, confidence=mood.score, rank=0)
            )
    usage = _usage(
        summarizer,
        list(summaries.values()),
        f"llm:{settings.llm.model}" if llm is not None else "offline",
        seconds=time.perf_counter() - started,
        embed_seconds=embed_seconds,
        summary_seconds=summary_seconds,
    )
    report = report.model_copy(update={"usage": usage})
    if usage.fallbacks:
        log.warning(
            "run %s: %d of %d summaries fell back to the offline summariser", run_id, usage.fallbacks, len(shown)
        )
    services.sql.finish_run(run_id, report.model_dump(mode="json"), assignments, usage)
    progress(1.0, "done")
    log.info(
        "run %s succeeded: %d comments, %d themes shown, %d llm calls, %.1f s",
        run_id,
        len(comments),
        len(shown),
        usage.llm_calls,
        usage.seconds,
    )
    return report


def _usage(
    summarizer: Summarizer,
    summaries: list[Summary],
    summarizer_name: str,
    *,
    seconds: float,
    embed_seconds: float,
    summary_seconds: float,
) -> RunUsage:
    """The run's cost record; the LLM counters come from the summariser when it used an LLM."""
    llm = summarizer.usage() if isinstance(summarizer, LLMSummarizer) else LLMUsage()
    return RunUsage(
        summarizer=summarizer_name,
        seconds=round(seconds, 3),
        embed_seconds=round(embed_seconds, 3),
        summary_seconds=round(summary_seconds, 3),
        llm_calls=llm.calls,
        llm_tokens=llm.tokens,
        llm_cache_hits=llm.cache_hits,
        fallbacks=llm.fallbacks,
        dropped_actions=sum(s.dropped_actions for s in summaries),
    )


def _languages_and_routed(services: Services, texts: list[str]) -> tuple[list[str], dict[str, Any]]:
    """Language per comment, and the es/de/fr/pt ones with their multilingual vectors (no encoder loaded without)."""
    languages = [detect_language(t) for t in texts]
    if not any(is_routed(lang) for lang in languages):
        return languages, {}
    return languages, routed_comments(texts, languages, services.multilingual.encoder)


async def _summarize_all(
    summarizer: Summarizer, requests: list[SummaryRequest], progress: Progress
) -> dict[tuple[str, str], Summary]:
    """One summary per (provider, theme), a few at a time."""
    semaphore = asyncio.Semaphore(SUMMARY_CONCURRENCY)
    done = 0

    async def one(request: SummaryRequest) -> Summary:
        nonlocal done
        async with semaphore:
            summary = await summarizer.summarize(request)
        done += 1
        progress(0.7 + 0.25 * done / max(len(requests), 1), "summaries")
        return summary

    results = await asyncio.gather(*(one(r) for r in requests))
    return {(r.provider, r.theme_id): s for r, s in zip(requests, results, strict=True)}


def start_run(services: Services, dataset_id: str, owner_key_id: int | None = None) -> str:
    dataset = services.sql.dataset(dataset_id)
    if dataset is None:
        raise NotFound(f"dataset {dataset_id} not found")
    if dataset.comments == 0:
        raise Conflict(f"dataset {dataset_id} has no comments to analyse")
    return services.sql.create_run(dataset_id, owner_key_id)
