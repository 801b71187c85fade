"""Build the report of a run: per provider, themes with counts, quotes, subjects and actions."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass

from triage.ports import Vectors
from triage.themes.analyze import ThemeAnalysis, mean_or_none
from triage.themes.keywords import representatives
from triage.types import (
    UNASSIGNED,
    Comment,
    CycleSentiment,
    Evidence,
    ProviderReport,
    Report,
    ReportSubject,
    ReportTheme,
    Sentiment,
    SubjectThemes,
    Summary,
    SummaryRequest,
    TrackedAction,
    TrackedGroupReport,
    Trend,
    WithheldTheme,
)

MAX_EVIDENCE = 12
GROWTH = 0.2
"""A theme grew (shrank) when its last-cycle count is at least this much above (below) the previous one."""


@dataclass
class ThemeGroup:
    """The comments of one provider whose primary theme is one theme."""

    provider: str
    theme_id: str
    members: list[int]
    """Indices into the run's comment list."""
    respondents: int
    withheld: bool


def respondent_count(comments: list[Comment], members: list[int]) -> int:
    """Distinct respondents; a comment without a respondent id counts as one respondent of its own."""
    return len({comments[i].respondent_hash or f"comment:{comments[i].id}" for i in members})


def theme_groups(comments: list[Comment], analysis: ThemeAnalysis, min_respondents: int) -> list[ThemeGroup]:
    """Every (provider, primary theme) group, flagged withheld when under the anonymity threshold."""
    members: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, comment in enumerate(comments):
        theme = analysis.primary(i)
        if theme != UNASSIGNED:
            members[(comment.provider, theme)].append(i)
    groups = []
    for (provider, theme_id), indices in sorted(members.items()):
        respondents = respondent_count(comments, indices)
        groups.append(ThemeGroup(provider, theme_id, indices, respondents, respondents < min_respondents))
    return groups


def summary_request(
    group: ThemeGroup, comments: list[Comment], analysis: ThemeAnalysis, vectors: Vectors
) -> SummaryRequest:
    """What the summariser sees of a group: keywords, subjects and the most central comments."""
    model = analysis.model
    description = next((t.description for t in model.taxonomy.themes if t.id == group.theme_id), "")
    subjects = Counter(analysis.subjects[i] for i in group.members).most_common(3)
    ordered = representatives(vectors, group.members, top_n=MAX_EVIDENCE)
    return SummaryRequest(
        provider=group.provider,
        theme_id=group.theme_id,
        theme_name=model.name_of(group.theme_id),
        theme_description=description,
        keywords=analysis.theme_keywords.get(group.theme_id, []),
        subjects=[analysis.subject_info[s].phrase for s, _ in subjects],
        evidence=[Evidence(id=comments[i].id, text=comments[i].text, rating=comments[i].rating) for i in ordered],
        comments=len(group.members),
    )


def build_report(
    *,
    run_id: str,
    dataset_id: str,
    dataset_name: str,
    comments: list[Comment],
    vectors: Vectors,
    analysis: ThemeAnalysis,
    groups: list[ThemeGroup],
    summaries: dict[tuple[str, str], Summary],
    min_respondents: int,
    quotes_per_theme: int,
    accepted_actions: list[TrackedAction] | None = None,
    sentiments: list[Sentiment | None] | None = None,
    languages: list[str] | None = None,
) -> Report:
    cycles = cycle_order(comments)
    settings = _Settings(
        cycles, min_respondents, quotes_per_theme, sentiments or [], languages or ["und"] * len(comments)
    )
    by_provider: dict[str, list[int]] = defaultdict(list)
    for i, comment in enumerate(comments):
        by_provider[comment.provider].append(i)
    providers = []
    for provider, indices in sorted(by_provider.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        mine = [g for g in groups if g.provider == provider]
        shown = sorted((g for g in mine if not g.withheld), key=lambda g: (-len(g.members), g.theme_id))
        withheld = [g for g in mine if g.withheld]
        themes = [
            _report_theme(g, len(indices), comments, vectors, analysis, summaries[(provider, g.theme_id)], settings)
            for g in shown
        ]
        followed = [
            a.model_copy(update={"share_now": next((t.share for t in themes if t.id == a.theme_id), None)})
            for a in accepted_actions or []
            if a.provider == provider and a.run_id != run_id
        ]
        providers.append(
            ProviderReport(
                followed_actions=followed,
                cycle_comments={c: sum(comments[i].cycle == c for i in indices) for c in cycles},
                sentiment_cycles=_provider_sentiment_cycles(indices, comments, settings),
                subjects=_subject_themes(indices, comments, analysis, min_respondents),
                provider=provider,
                comments=len(indices),
                respondents=respondent_count(comments, indices),
                unassigned=sum(1 for i in indices if analysis.primary(i) == UNASSIGNED),
                withheld=WithheldTheme(count=sum(len(g.members) for g in withheld), themes=len(withheld)),
                themes=themes,
            )
        )
    tracked, tracked_withheld = _tracked(comments, analysis, min_respondents)
    return Report(
        run_id=run_id,
        dataset_id=dataset_id,
        dataset_name=dataset_name,
        created_at=dt.datetime.now(dt.UTC),
        comments=len(comments),
        min_respondents=min_respondents,
        taxonomy_version=analysis.model.taxonomy.version,
        embed_model=analysis.model.embed_model,
        cycles=cycles,
        providers=providers,
        tracked=tracked,
        tracked_gone=sum(1 for g in analysis.tracked if g.status == "gone"),
        tracked_withheld=tracked_withheld,
    )


def _tracked(
    comments: list[Comment], analysis: ThemeAnalysis, min_respondents: int
) -> tuple[list[TrackedGroupReport], int]:
    """The run's subjects and discovered themes against the previous run, and how many were withheld (< k)."""
    members: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i in range(len(comments)):
        members[("subject", analysis.subjects[i])].append(i)
        members[("discovered", analysis.primary(i))].append(i)
    shown: list[TrackedGroupReport] = []
    withheld = 0
    for g in analysis.tracked:
        if g.status == "gone":
            continue
        if respondent_count(comments, members.get((g.kind, g.id), [])) < min_respondents:
            withheld += 1
            continue
        previous_share = None
        if g.previous_count is not None and g.previous_total:
            previous_share = round(g.previous_count / g.previous_total, 4)
        shown.append(
            TrackedGroupReport(
                kind=g.kind,
                id=g.id,
                name=g.name,
                status=g.status,
                count=g.count,
                share=round(g.share, 4),
                previous_count=g.previous_count,
                previous_share=previous_share,
            )
        )
    return shown, withheld


def cycle_order(comments: list[Comment]) -> list[str]:
    """The run's cycles, oldest first (cycle labels such as 2026-Q1 sort in time order)."""
    return sorted({c.cycle for c in comments if c.cycle})


def trend(previous: int, last: int) -> Trend:
    if previous == 0:
        return "new" if last else "steady"
    if last == 0:
        return "gone"
    change = (last - previous) / previous
    if change >= GROWTH and last - previous >= 2:
        return "grown"
    if change <= -GROWTH and previous - last >= 2:
        return "shrunk"
    return "steady"


def _cycles(
    group: ThemeGroup, comments: list[Comment], cycles: list[str], min_respondents: int
) -> tuple[dict[str, int | None], Trend | None]:
    per_cycle = {cycle: [i for i in group.members if comments[i].cycle == cycle] for cycle in cycles}
    shown: dict[str, int | None] = {
        cycle: len(members) if respondent_count(comments, members) >= min_respondents else None
        for cycle, members in per_cycle.items()
    }
    # One hidden cell could be recovered as the total minus the others: hide the smallest other cell too.
    hidden = [c for c, n in shown.items() if n is None]
    if len(hidden) == 1 and len(shown) > 1:
        smallest = min((c for c, n in shown.items() if n is not None), key=lambda c: len(per_cycle[c]))
        shown[smallest] = None
    if len(cycles) < 2:
        return shown, None
    return shown, trend(len(per_cycle[cycles[-2]]), len(per_cycle[cycles[-1]]))


def _subject_themes(
    indices: list[int], comments: list[Comment], analysis: ThemeAnalysis, min_respondents: int
) -> list[SubjectThemes]:
    """Which subjects of one provider fail in which way; subjects and cells under k respondents are withheld."""
    by_subject: dict[str, list[int]] = defaultdict(list)
    for i in indices:
        by_subject[analysis.subjects[i]].append(i)
    result = []
    for subject_id, members in by_subject.items():
        if respondent_count(comments, members) < min_respondents:
            continue
        cells: dict[str, list[int]] = defaultdict(list)
        for i in members:
            cells[analysis.primary(i)].append(i)
        shown = {
            theme: len(cell)
            for theme, cell in sorted(cells.items(), key=lambda kv: -len(kv[1]))
            if theme != UNASSIGNED and respondent_count(comments, cell) >= min_respondents
        }
        info = analysis.subject_info[subject_id]
        result.append(
            SubjectThemes(
                id=subject_id,
                name=info.name,
                keywords=info.keywords,
                count=len(members),
                themes=shown,
                withheld=len(members) - sum(shown.values()),
            )
        )
    return sorted(result, key=lambda s: -s.count)


@dataclass(frozen=True)
class _Settings:
    cycles: list[str]
    min_respondents: int
    quotes_per_theme: int
    sentiments: list[Sentiment | None]
    languages: list[str]


def _report_theme(
    group: ThemeGroup,
    provider_total: int,
    comments: list[Comment],
    vectors: Vectors,
    analysis: ThemeAnalysis,
    summary: Summary,
    settings: _Settings,
) -> ReportTheme:
    subjects = Counter(analysis.subjects[i] for i in group.members).most_common(5)
    quotes = representatives(vectors, group.members, top_n=settings.quotes_per_theme)
    cycles, theme_trend = _cycles(group, comments, settings.cycles, settings.min_respondents)
    sentiment_cycles = {
        cycle: None if n is None else cycle_sentiment(_in_cycle(group.members, comments, cycle), settings.sentiments)
        for cycle, n in cycles.items()
    }
    # Comments without a sentiment (non-English text and no rating) are left out of the averages.
    moods = [m for i in group.members if settings.sentiments and (m := settings.sentiments[i]) is not None]
    return ReportTheme(
        id=group.theme_id,
        name=summary.name,
        theme_name=analysis.model.name_of(group.theme_id),
        discovered=group.theme_id.startswith("new_"),
        count=len(group.members),
        respondents=group.respondents,
        share=round(len(group.members) / provider_total, 4),
        mean_rating=mean_or_none([comments[i].rating for i in group.members]),
        keywords=analysis.theme_keywords.get(group.theme_id, []),
        summary=summary.summary,
        summarizer=summary.summarizer,
        dropped_actions=summary.dropped_actions,
        quotes=[comments[i].text for i in quotes],
        subjects=[ReportSubject(id=s, name=analysis.subject_info[s].name, count=n) for s, n in subjects],
        actions=summary.actions,
        negative_share=round(sum(m.label == "negative" for m in moods) / len(moods), 4) if moods else None,
        mean_sentiment=round(sum(m.score for m in moods) / len(moods), 3) if moods else None,
        quote_languages=[settings.languages[i] for i in quotes],
        cycles=cycles,
        trend=theme_trend,
        sentiment_cycles=sentiment_cycles if settings.sentiments else {},
    )


def _in_cycle(members: list[int], comments: list[Comment], cycle: str) -> list[int]:
    return [i for i in members if comments[i].cycle == cycle]


def cycle_sentiment(members: list[int], sentiments: list[Sentiment | None]) -> CycleSentiment:
    """Share negative and mean score of the members that have a sentiment (None when none has)."""
    moods = [m for i in members if (m := sentiments[i]) is not None]
    return CycleSentiment(
        scored=len(moods),
        negative_share=round(sum(m.label == "negative" for m in moods) / len(moods), 4) if moods else None,
        mean_sentiment=round(sum(m.score for m in moods) / len(moods), 3) if moods else None,
    )


def _provider_sentiment_cycles(
    indices: list[int], comments: list[Comment], settings: _Settings
) -> dict[str, CycleSentiment | None]:
    """A provider's sentiment per cycle; a cycle with fewer than k respondents is withheld (None)."""
    if not settings.sentiments or len(settings.cycles) < 2:
        return {}
    out: dict[str, CycleSentiment | None] = {}
    for cycle in settings.cycles:
        members = _in_cycle(indices, comments, cycle)
        enough = respondent_count(comments, members) >= settings.min_respondents
        out[cycle] = cycle_sentiment(members, settings.sentiments) if enough else None
    return out
