"""Records passed between layers and returned by the API."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

RunState = Literal["queued", "running", "succeeded", "failed"]
Trend = Literal["new", "grown", "shrunk", "gone", "steady"]
Role = Literal["manager", "hr", "integrator", "admin"]
UrgencyLevel = Literal["urgent", "review"]
"""How soon HR should act: "urgent" (escalate now; high precision) or "review" (someone should look today)."""
UNASSIGNED = "unassigned"


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CommentIn(Record):
    """One survey row after validation, before redaction."""

    text: str = Field(min_length=1, max_length=20_000)
    provider: str | None = Field(None, max_length=200)
    respondent_dept: str | None = Field(None, max_length=200)
    cycle: str | None = Field(None, max_length=50)
    rating: int | None = Field(None, ge=1, le=5)
    submitted_at: dt.date | None = None
    respondent: str | None = Field(None, max_length=200)


class RowError(Record):
    row: int
    reason: str


class IngestReport(Record):
    id: str
    name: str
    accepted: int
    duplicates: int
    rejected: list[RowError]


class NewComment(Record):
    """A validated, redacted comment ready to store."""

    content_hash: str
    text: str
    text_hash: str
    provider: str
    respondent_dept: str | None
    cycle: str | None
    rating: int | None
    submitted_at: str | None
    respondent_hash: str | None


class Comment(Record):
    """A stored comment: text is already redacted; the respondent is a keyed hash."""

    id: int
    dataset_id: str
    text: str
    text_hash: str
    provider: str
    respondent_dept: str | None
    cycle: str | None
    rating: int | None
    respondent_hash: str | None


class ThemeDef(Record):
    id: str
    name: str
    description: str
    examples: list[str] = []


class Taxonomy(Record):
    version: str
    themes: list[ThemeDef]

    def name_of(self, theme_id: str) -> str:
        return next((t.name for t in self.themes if t.id == theme_id), theme_id)


class ThemeScore(Record):
    id: str
    name: str
    confidence: float


class TriageResult(Record):
    primary_theme: str
    themes: list[ThemeScore]
    redacted_text: str
    provider: str | None
    urgent: bool = False
    urgency: Urgency | None = None
    sentiment: Sentiment | None = None
    language: str = "und"
    model_run_id: str | None = None
    elapsed_ms: float


ActionStatus = Literal["open", "in_progress", "done", "dropped"]


class TrackedAction(Record):
    """An accepted action and how its theme moved since the run it came from."""

    id: int
    run_id: str
    provider: str
    theme_id: str
    text: str
    owner: str
    status: ActionStatus
    due_date: dt.date | None
    share_then: float
    share_now: float | None = None
    """The theme's share in the report that shows this action; None if the theme is gone or withheld."""
    created_at: dt.datetime


class Action(Record):
    text: str
    evidence: list[int] = Field(min_length=1)


class Summary(Record):
    name: str
    summary: str
    actions: list[Action] = Field(min_length=1, max_length=3)
    summarizer: str
    dropped_actions: int = Field(default=0, ge=0, description="Actions the model proposed that failed grounding.")


class Evidence(Record):
    """A comment offered to a summariser as evidence (already redacted)."""

    id: int
    text: str
    rating: int | None = None


class SummaryRequest(Record):
    """What a summariser gets for one (provider, theme)."""

    provider: str
    theme_id: str
    theme_name: str
    theme_description: str
    keywords: list[str]
    subjects: list[str]
    evidence: list[Evidence]
    comments: int | None = None
    """How many comments the group has (the evidence is a sample of at most a dozen)."""


class UrgentComment(Record):
    """A comment in HR's urgent queue (`level` "urgent": escalate now, or "review": look today): for HR only,
    never withheld from HR, never shown to others."""

    comment_id: int
    run_id: str
    dataset_id: str
    provider: str
    cycle: str | None
    category: str
    score: float
    redacted_text: str
    level: UrgencyLevel = "urgent"
    """"urgent" (escalate now) or "review" (look today); the queue lists every "urgent" item first."""


class RunUsage(Record):
    """What a run cost: wall time and the LLM's work. In the run status and the report footer."""

    summarizer: str
    """"offline" or the LLM's model name."""
    seconds: float = 0.0
    """Wall time of the whole run."""
    embed_seconds: float = 0.0
    summary_seconds: float = 0.0
    llm_calls: int = 0
    """Requests that reached the LLM server (cache hits excluded, re-asks included)."""
    llm_tokens: int = 0
    llm_cache_hits: int = 0
    fallbacks: int = 0
    """Summaries the offline summariser wrote because the LLM's answer was refused (each flagged)."""
    dropped_actions: int = 0
    """Suggested actions dropped because their evidence did not hold."""


class RunStatus(Record):
    id: str
    dataset_id: str
    status: RunState
    progress: float
    stage: str | None = None
    error: str | None = None
    created_at: dt.datetime
    finished_at: dt.datetime | None = None
    llm_calls: int = 0
    llm_tokens: int = 0
    usage: RunUsage | None = None


class ReportSubject(Record):
    id: str
    name: str
    count: int


class ReportTheme(Record):
    id: str
    name: str
    """The summary's name for this theme in this provider ("Slow response: laptops")."""
    theme_name: str
    """The taxonomy's (or discovered theme's) own name."""
    discovered: bool = False
    count: int
    respondents: int
    share: float
    mean_rating: float | None
    keywords: list[str]
    summary: str
    summarizer: str
    quotes: list[str]
    subjects: list[ReportSubject]
    actions: list[Action]
    negative_share: float | None = None
    """Share of the theme's comments whose sentiment is negative."""
    mean_sentiment: float | None = None
    """Mean sentiment score (-1..1), beside the mean rating."""
    quote_languages: list[str] = []
    """Language of each quote (ISO 639-1, "und" when unclear); quotes stay in their original language."""
    cycles: dict[str, int | None] = {}
    """Comments per cycle, oldest first; None where that cycle's group is under the anonymity threshold."""
    trend: Trend | None = None
    """Last cycle against the one before it; None with fewer than two cycles."""
    sentiment_cycles: dict[str, CycleSentiment | None] = {}
    """Sentiment per cycle, oldest first; None where the cycle's count is withheld (as in `cycles`)."""
    dropped_actions: int = 0
    """Suggested actions dropped from this theme's summary because their evidence did not hold."""


class CycleSentiment(Record):
    """The sentiment of one group of comments in one cycle."""

    scored: int
    """Comments with a sentiment (the others, non-English without a vector and no rating, are left out)."""
    negative_share: float | None
    mean_sentiment: float | None


class SubjectThemes(Record):
    """One subject of a provider crossed with the themes it fails in (DESIGN.md "Two axes")."""

    id: str
    name: str
    keywords: list[str]
    count: int
    themes: dict[str, int]
    """Comments per theme id, only for cells backed by at least k respondents."""
    withheld: int
    """Comments of this subject in cells below the threshold (or unassigned)."""


class WithheldTheme(Record):
    count: int
    themes: int


class ProviderReport(Record):
    provider: str
    comments: int
    respondents: int
    unassigned: int
    withheld: WithheldTheme
    themes: list[ReportTheme]
    subjects: list[SubjectThemes] = []
    cycle_comments: dict[str, int] = {}
    """The provider's comments per cycle (totals only, for shares within a cycle)."""
    sentiment_cycles: dict[str, CycleSentiment | None] = {}
    """All the provider's comments per cycle; None where the cycle has fewer than k respondents."""
    followed_actions: list[TrackedAction] = []
    """Actions accepted from earlier runs for this provider, with their theme's share then and now."""


class TrackedGroupReport(Record):
    """A subject or discovered theme against the previous run: the same id when it continues one (matched by
    centroid), and whether it is new, grown, shrunk or steady (Trend)."""

    kind: Literal["subject", "discovered"]
    id: str
    name: str
    status: Trend
    count: int
    share: float
    previous_count: int | None = None
    previous_share: float | None = None


class Report(Record):
    run_id: str
    dataset_id: str
    dataset_name: str
    created_at: dt.datetime
    comments: int
    min_respondents: int
    redactions_in_output: int | None = None
    """Spans of personal data the output audit (triage/report/audit.py) removed from this report's generated text
    (summaries, names, actions, quotes); None for a report not audited yet."""
    taxonomy_version: str
    embed_model: str
    cycles: list[str] = []
    providers: list[ProviderReport]
    tracked: list[TrackedGroupReport] = []
    """The run's subjects and discovered themes against the previous run, each backed by at least k respondents."""
    tracked_gone: int = 0
    """Groups of the previous run that no comment of this run continues."""
    tracked_withheld: int = 0
    """Groups left out of `tracked`: fewer than k distinct respondents."""
    usage: RunUsage | None = None


SentimentLabel = Literal["negative", "mixed", "neutral", "positive"]


class Sentiment(Record):
    """The sentiment of one comment: a label and a score from -1 (negative) to 1 (positive)."""

    label: SentimentLabel
    score: float = Field(ge=-1.0, le=1.0)


UrgencyCategory = Literal["harassment", "discrimination", "threats", "safety", "fraud", "data_breach", "self_harm"]


class Urgency(Record):
    """Whether a comment belongs in HR's urgent queue, how soon (`level`), to which kind of case, and how sure the
    detector is (0..1). `urgent` is True at either level; escalate now only when `level == "urgent"`."""

    urgent: bool
    """In HR's urgent queue: `level` is "urgent" or "review" (None when not urgent)."""
    level: UrgencyLevel | None = None
    """"urgent" when a rule fired or the head is sure (dev precision >= 0.85): escalate now; "review" when only the
    recall-first threshold is reached: a person should look today."""
    category: UrgencyCategory | None = None
    score: float = Field(ge=0.0, le=1.0)
    cues: list[str] = []
    """What fired: rule ids (`rules:<category>`) and/or `model`; never comment text."""


class AuditEvent(Record):
    """One audit event: who (key id, name, role) did what to which target, when, from where, with what outcome."""

    id: int
    at: dt.datetime
    key_id: int | None
    key_name: str | None
    role: str | None
    action: str
    target_type: str | None
    target_id: str | None
    format: str | None
    status: int
    method: str
    path: str
    client: str | None
    user_agent: str | None
