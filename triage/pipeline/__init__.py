"""The jobs the entry points run: ingest, analyse, report, triage one comment."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from triage.config import Settings
from triage.embed.cache import embed_cached
from triage.embed.manifest import ModelEntry, load_model_entry
from triage.embed.sentence_transformer import SentenceTransformerEmbedder
from triage.errors import Conflict, InvalidInput, NotFound, TriageError
from triage.ingest.language import detect_language
from triage.ingest.readers import RawRow, detect_format, read_file
from triage.ingest.redact import redact
from triage.ingest.validate import prepare
from triage.llm.openai_chat import OpenAIChatClient
from triage.ports import Embedder, Summarizer
from triage.prompting.templates import load_prompt
from triage.report.build import build_report, summary_request, theme_groups
from triage.report.render import render
from triage.sentiment import score_sentiment
from triage.store.chroma import ChromaVectorStore, open_chroma
from triage.store.sql import NewAssignment, SqlStore
from triage.summarize.llm import LLMSummarizer
from triage.summarize.offline import OfflineSummarizer
from triage.summarize.playbook import load_playbook
from triage.themes.analyze import analyze_themes, fit_theme_model
from triage.themes.model import ThemeModel, taxonomy_hash
from triage.themes.taxonomy import load_taxonomy
from triage.types import (
    UNASSIGNED,
    IngestReport,
    Report,
    Sentiment,
    Summary,
    SummaryRequest,
    Taxonomy,
    TrackedAction,
    TriageResult,
)

log = logging.getLogger(__name__)
Progress = Callable[[float, str], None]
SUMMARY_CONCURRENCY = 4
MAX_NAME = 200


def _respondent_key(settings: Settings) -> bytes:
    """The key of respondent hashes: from settings, else a random one kept in the data dir."""
    if settings.respondent_key:
        return settings.respondent_key.get_secret_value().encode()
    path = settings.data_dir / "respondent.key"
    if not path.exists():
        path.write_text(secrets.token_hex(32), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip().encode()


@dataclass
class Services:
    """Long-lived clients and models, opened once per process."""

    settings: Settings
    sql: SqlStore
    vectors: ChromaVectorStore
    model_entry: ModelEntry
    taxonomy: Taxonomy
    respondent_key: bytes
    _embedder: Embedder | None = None
    _base_model: ThemeModel | None = None
    _run_models: dict[str, ThemeModel] = field(default_factory=dict)

    @property
    def embedder(self) -> Embedder:
        """The embedding model, loaded on first use (ingest alone does not need it)."""
        if self._embedder is None:
            self._embedder = SentenceTransformerEmbedder(self.model_entry, batch_size=self.settings.embed_batch_size)
        return self._embedder

    def close(self) -> None:
        self.sql.close()


def open_services(settings: Settings, embedder: Embedder | None = None) -> Services:
    """Open stores and load models; an `embedder` may be passed in to share one loaded model."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    entry = load_model_entry(settings.models_dir, settings.embed_model)
    client = open_chroma(path=settings.chroma_path, url=settings.chroma_url)
    return Services(
        settings=settings,
        sql=SqlStore(settings.db_url),
        vectors=ChromaVectorStore(client, entry.alias, entry.dimensions),
        model_entry=entry,
        _embedder=embedder,
        taxonomy=load_taxonomy(settings.models_dir / "taxonomy.toml"),
        respondent_key=_respondent_key(settings),
    )


# ingest


def ingest_rows(services: Services, rows: Iterable[RawRow], name: str, owner_key_id: int | None = None) -> IngestReport:
    """Validate, redact and store rows in the dataset called `name` (created if new)."""
    name = name.strip()
    if not 1 <= len(name) <= MAX_NAME:
        raise InvalidInput(f"dataset name must have 1 to {MAX_NAME} characters", field="name")
    good, bad = prepare(rows, services.respondent_key)
    if len(good) + len(bad) > services.settings.api.max_rows:
        raise InvalidInput(f"too many rows: at most {services.settings.api.max_rows} per upload", field="rows")
    dataset_id = services.sql.get_or_create_dataset(name, owner_key_id)
    accepted, duplicates = services.sql.add_comments(dataset_id, good)
    log.info("dataset %s: %d accepted, %d duplicates, %d rejected", dataset_id, accepted, duplicates, len(bad))
    return IngestReport(id=dataset_id, name=name, accepted=accepted, duplicates=duplicates, rejected=bad)


def ingest_bytes(
    services: Services, data: bytes, filename: str, name: str | None = None, owner_key_id: int | None = None
) -> IngestReport:
    rows = read_file(data, detect_format(filename))
    return ingest_rows(services, rows, name or Path(filename).stem, owner_key_id)


# themes


def base_theme_model(services: Services) -> ThemeModel:
    """The taxonomy classifier before any run, fitted on the taxonomy's example comments."""
    if services._base_model is None or taxonomy_hash(services._base_model.taxonomy) != taxonomy_hash(services.taxonomy):
        examples = [e for t in services.taxonomy.themes for e in t.examples]
        vectors = embed_cached(services.embedder, services.vectors, examples)
        s = services.settings.themes
        services._base_model = fit_theme_model(
            services.taxonomy, vectors, services.embedder.alias, s.min_confidence, s.secondary_confidence
        )
    return services._base_model


def run_model(services: Services, run_id: str | None) -> tuple[ThemeModel, str | None]:
    """The fitted model of `run_id` (default: the newest succeeded run), else the base model."""
    run_id = run_id or services.sql.latest_succeeded_run()
    if run_id is None:
        return base_theme_model(services), None
    if run_id not in services._run_models:
        services._run_models[run_id] = ThemeModel.load(
            services.settings.artifacts_dir / run_id, services.embedder.alias
        )
    return services._run_models[run_id], run_id


def triage_text(services: Services, text: str, provider: str | None = None, run_id: str | None = None) -> TriageResult:
    """One comment: redact, embed, the theme model of `run_id` (default: the newest run). No LLM on this path."""
    started = time.perf_counter()
    if not text.strip():
        raise InvalidInput("text must not be empty", field="text")
    model, run_id = run_model(services, run_id)
    redacted = redact(text.strip())
    vectors = services.embedder.encode([redacted])
    themes = model.score([redacted], vectors)[0]
    return TriageResult(
        primary_theme=themes[0].id if themes else UNASSIGNED,
        themes=themes,
        redacted_text=redacted,
        provider=provider,
        urgent=False,
        sentiment=score_sentiment([redacted])[0],
        language=detect_language(redacted),
        model_run_id=run_id,
        elapsed_ms=round((time.perf_counter() - started) * 1000, 2),
    )


# analysis runs


def _summarizer(settings: Settings, client: OpenAIChatClient | None) -> Summarizer:
    offline = OfflineSummarizer(load_playbook(settings.models_dir / "playbook.toml"))
    if client is None:
        return offline
    prompt = load_prompt(settings.prompts_dir, "summarize", settings.llm.prompt_version)
    return LLMSummarizer(client, prompt, fallback=offline)


async def analyze(services: Services, run_id: str, on_progress: Progress | None = None) -> Report:
    """Run theme analysis for a queued run; stores results and marks it succeeded, or failed on error."""
    sql = services.sql

    def progress(value: float, stage: str) -> None:
        sql.update_run(run_id, progress=round(value, 3), stage=stage)
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
    progress(0.02, "embedding")
    texts = [c.text for c in comments]
    vectors = await asyncio.to_thread(
        embed_cached,
        services.embedder,
        services.vectors,
        texts,
        on_progress=lambda done, total: progress(0.02 + 0.48 * done / max(total, 1), "embedding"),
    )
    progress(0.5, "themes")
    base = await asyncio.to_thread(base_theme_model, services)
    analysis = await asyncio.to_thread(
        analyze_themes, base, texts, vectors, settings.themes.min_new_theme_size, [c.provider for c in comments]
    )
    sentiments, languages = await asyncio.to_thread(_moods_and_languages, texts, [c.rating for c in comments])
    groups = theme_groups(comments, analysis, settings.report.min_respondents)
    shown = [g for g in groups if not g.withheld]
    progress(0.7, "summaries")
    # The HTTP client lives on this run's event loop: opened here, closed when the summaries are done.
    client = OpenAIChatClient(settings.llm) if settings.llm.enabled else None
    try:
        summarizer = _summarizer(settings, client)
        summaries = await _summarize_all(
            summarizer, [summary_request(g, comments, analysis, vectors) for g in shown], progress
        )
    finally:
        if client is not None:
            await client.aclose()
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
    analysis.model.save(settings.artifacts_dir / run_id)
    assignments = [
        NewAssignment(comment_id=c.id, kind="theme", label=t.id, confidence=t.confidence, rank=rank)
        for c, themes in zip(comments, analysis.themes, strict=True)
        for rank, t in enumerate(themes)
    ]
    for c, subject, mood, language in zip(comments, analysis.subjects, sentiments, languages, strict=True):
        assignments += [
            NewAssignment(comment_id=c.id, kind="subject", label=subject, confidence=1.0, rank=0),
            NewAssignment(comment_id=c.id, kind="sentiment", label=mood.label, confidence=mood.score, rank=0),
            NewAssignment(comment_id=c.id, kind="language", label=language, confidence=1.0, rank=0),
        ]
    calls = getattr(summarizer, "calls", 0)
    tokens = getattr(summarizer, "tokens", 0)
    if fallbacks := getattr(summarizer, "fallbacks", 0):
        log.warning("run %s: %d of %d summaries fell back to the offline summariser", run_id, fallbacks, len(shown))
    services.sql.finish_run(run_id, report.model_dump(mode="json"), assignments, calls, tokens)
    progress(1.0, "done")
    log.info("run %s succeeded: %d comments, %d themes shown, %d llm calls", run_id, len(comments), len(shown), calls)
    return report


def _moods_and_languages(texts: list[str], ratings: list[int | None]) -> tuple[list[Sentiment], list[str]]:
    return score_sentiment(texts, ratings), [detect_language(t) for t in texts]


def warm_up(services: Services) -> None:
    """Load every model the triage path uses, so the first request is as fast as the others."""
    base_theme_model(services)
    triage_text(services, "Warm-up: still waiting three weeks for a laptop.")


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


def get_report(services: Services, run_id: str) -> Report:
    status = services.sql.run(run_id)
    if status is None:
        raise NotFound(f"run {run_id} not found")
    if status.status != "succeeded":
        raise Conflict(f"run {run_id} is {status.status}; its report is not ready")
    data = services.sql.run_report(run_id)
    assert data is not None
    return Report.model_validate(data)


def accept_action(
    services: Services,
    *,
    run_id: str,
    provider: str,
    theme_id: str,
    action_index: int,
    owner: str,
    due_date: dt.date | None,
    created_by: int | None,
) -> TrackedAction:
    """Accept one suggested action of a report, with an owner and due date, to follow it across runs."""
    report = get_report(services, run_id)
    section = next((p for p in report.providers if p.provider == provider), None)
    theme = next((t for t in section.themes if t.id == theme_id), None) if section else None
    if theme is None:
        raise NotFound(f"run {run_id} shows no theme {theme_id!r} for provider {provider!r}")
    if not 0 <= action_index < len(theme.actions):
        raise InvalidInput(f"action_index must be 0..{len(theme.actions) - 1}", field="action_index")
    action_id = services.sql.add_action(
        {
            "run_id": run_id,
            "provider": provider,
            "theme_id": theme_id,
            "text": theme.actions[action_index].text,
            "share_then": theme.share,
            "owner": owner,
            "due_date": due_date.isoformat() if due_date else None,
            "created_by": created_by,
        }
    )
    return services.sql.actions(action_id=action_id)[0]


def render_report(services: Services, run_id: str, fmt: str) -> str:
    return render(get_report(services, run_id), fmt)
