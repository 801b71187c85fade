"""Render a report as Markdown or CSV (JSON is the Report model itself)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from triage.types import CycleSentiment, ProviderReport, Report, RunUsage

FORMATS = ("json", "md", "csv")


def _pct(share: float) -> str:
    return f"{share * 100:.0f}%"


def _count(value: int | None) -> str:
    return "<k" if value is None else str(value)


def describe_usage(usage: RunUsage) -> str:
    """One line of what the run cost, for report footers."""
    parts = [f"analysed in {usage.seconds:.1f} s (embedding {usage.embed_seconds:.1f} s)"]
    if usage.summarizer == "offline":
        parts.append(f"summaries by the offline summariser in {usage.summary_seconds:.1f} s, no LLM calls")
    else:
        parts.append(
            f"summaries by {usage.summarizer} in {usage.summary_seconds:.1f} s: {usage.llm_calls} LLM calls, "
            f"{usage.llm_tokens} tokens, {usage.llm_cache_hits} answers from the cache, "
            f"{usage.fallbacks} fell back to the offline summariser (flagged)"
        )
    parts.append(f"{usage.dropped_actions} suggested actions dropped for evidence that did not hold")
    return "; ".join(parts) + "."


def to_markdown(report: Report) -> str:
    lines = [
        f"# Feedback themes: {report.dataset_name}",
        "",
        f"Run `{report.run_id}`, {report.comments} comments, generated {report.created_at:%Y-%m-%d %H:%M} UTC. "
        f"Themes backed by fewer than {report.min_respondents} distinct respondents are withheld. "
        f"Taxonomy {report.taxonomy_version}, embeddings `{report.embed_model}`.",
        "",
    ]
    for p in report.providers:
        lines += [
            f"## {p.provider}",
            "",
            f"{p.comments} comments from {p.respondents} respondents; {p.unassigned} matched no theme; "
            f"{p.withheld.count} comments in {p.withheld.themes} small themes withheld.",
            "",
        ]
        if p.themes:
            cycles = report.cycles if len(report.cycles) > 1 else []
            head = "".join(f" {c} |" for c in cycles) + (" trend |" if cycles else "")
            lines += [
                f"| theme | comments | share | mean rating | negative |{head}",
                "| --- | ---: | ---: | ---: | ---: |" + " ---: |" * len(cycles) + (" --- |" if cycles else ""),
            ]
            for t in p.themes:
                rating = f"{t.mean_rating:.1f}" if t.mean_rating is not None else "-"
                per_cycle = "".join(f" {_count(t.cycles.get(c))} |" for c in cycles) + (
                    f" {t.trend} |" if cycles else ""
                )
                negative = _pct(t.negative_share) if t.negative_share is not None else "-"
                lines.append(f"| {t.name} | {t.count} | {_pct(t.share)} | {rating} | {negative} |{per_cycle}")
            lines.append("")
            lines += sentiment_trend_lines(p, report.cycles)
        if p.followed_actions:
            lines += ["Accepted actions from earlier runs:", ""]
            for tracked in p.followed_actions:
                now = _pct(tracked.share_now) if tracked.share_now is not None else "not shown now"
                due = f", due {tracked.due_date}" if tracked.due_date else ""
                lines.append(
                    f"- {tracked.text} ({tracked.owner}, {tracked.status}{due}): "
                    f"theme share {_pct(tracked.share_then)} -> {now}"
                )
            lines.append("")
        if p.subjects:
            names = {t.id: t.theme_name for t in p.themes}
            lines += ["Subjects and how they fail:", "", "| subject | comments | themes |", "| --- | ---: | --- |"]
            for s in p.subjects:
                cells = ", ".join(f"{names.get(theme, theme)} {n}" for theme, n in s.themes.items()) or "-"
                lines.append(f"| {s.name} | {s.count} | {cells} |")
            lines.append("")
        for t in p.themes:
            new = " (new theme)" if t.discovered else ""
            lines += [f"### {t.name}{new}", "", t.summary, ""]
            if t.subjects:
                lines.append("Subjects: " + "; ".join(f"{s.name} ({s.count})" for s in t.subjects) + ".")
                lines.append("")
            lines.append("Suggested actions:")
            for a in t.actions:
                lines.append(f"- {a.text} (evidence: {', '.join(f'#{e}' for e in a.evidence)})")
            lines.append("")
            for quote in t.quotes:
                lines += [f"> {quote}", ""]
            lines += [f"*Written by: {t.summarizer}. Keywords: {', '.join(t.keywords)}.*", ""]
    lines += tracked_lines(report)
    if report.usage is not None:
        lines += ["---", "", f"*Cost: {describe_usage(report.usage)}*", ""]
    if report.redactions_in_output is not None:
        lines += [f"*Output audit: {report.redactions_in_output} spans of personal data redacted from its text.*", ""]
    return "\n".join(lines)


def tracked_lines(report: Report) -> list[str]:
    """Subjects and discovered themes against the previous run (same ids when they continue one)."""
    if not (report.tracked or report.tracked_gone or report.tracked_withheld):
        return []
    lines = ["## Since the last run", ""]
    if report.tracked:
        lines += [
            "| kind | id | name | status | comments | share | before |",
            "| --- | --- | --- | --- | ---: | ---: | ---: |",
        ]
        for g in report.tracked:
            before = "-" if g.previous_share is None else f"{g.previous_count} ({_pct(g.previous_share)})"
            lines.append(f"| {g.kind} | `{g.id}` | {g.name} | {g.status} | {g.count} | {_pct(g.share)} | {before} |")
        lines.append("")
    lines += [
        f"{report.tracked_gone} groups of the last run are gone; {report.tracked_withheld} groups backed by fewer "
        f"than {report.min_respondents} respondents are withheld.",
        "",
    ]
    return lines


# A cell starting with one of these is run as a formula by Excel, LibreOffice and Sheets (OWASP CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def escape_cell(value: object) -> object:
    """Text a spreadsheet would run as a formula gets a leading apostrophe; numbers stay numbers."""
    if isinstance(value, str) and value.lstrip(" ").startswith(FORMULA_START):
        return "'" + value
    return value


class SafeCsvWriter:
    """`csv.writer` whose every text cell is escaped: provider names and summaries come from uploaded data."""

    def __init__(self, buffer: io.StringIO) -> None:
        self._writer = csv.writer(buffer)

    def writerow(self, row: Iterable[object]) -> None:
        self._writer.writerow([escape_cell(v) for v in row])


def _cycle_cell(cells: dict[str, CycleSentiment | None], cycle: str) -> str:
    """A cycle as "40% neg, -0.31"; "<k" where withheld; "-" where no comment has a sentiment."""
    if cycle not in cells:
        return "-"
    cell = cells[cycle]
    if cell is None:
        return "<k"
    if cell.negative_share is None or cell.mean_sentiment is None:
        return "-"
    return f"{_pct(cell.negative_share)} neg, {cell.mean_sentiment:+.2f}"


def _cycle_values(cells: dict[str, CycleSentiment | None], cycle: str) -> list[object]:
    """CSV values (negative share, mean score) of one cycle: "<k" where withheld, blank where unknown."""
    cell = cells.get(cycle)
    if cycle in cells and cell is None:
        return ["<k", "<k"]
    return [cell.negative_share, cell.mean_sentiment] if cell else ["", ""]


def sentiment_trend_lines(p: ProviderReport, cycles: list[str]) -> list[str]:
    """Markdown table of sentiment per cycle: the provider's comments, then each theme."""
    if len(cycles) < 2 or not (p.sentiment_cycles or any(t.sentiment_cycles for t in p.themes)):
        return []
    lines = [
        "Sentiment across cycles (share negative, mean score -1..1; <k: under the anonymity threshold):",
        "",
        "| |" + "".join(f" {c} |" for c in cycles),
        "| --- |" + " ---: |" * len(cycles),
        "| all comments |" + "".join(f" {_cycle_cell(p.sentiment_cycles, c)} |" for c in cycles),
    ]
    lines += [f"| {t.name} |" + "".join(f" {_cycle_cell(t.sentiment_cycles, c)} |" for c in cycles) for t in p.themes]
    return [*lines, ""]


def to_csv(report: Report) -> str:
    """One row per (provider, theme) with the numbers, per-cycle counts and the actions joined."""
    buffer = io.StringIO()
    writer = SafeCsvWriter(buffer)
    numbers = ["count", "respondents", "share", "mean_rating", "negative_share", "mean_sentiment", "trend"]
    numbers += [f"count_{c}" for c in report.cycles]
    numbers += [f"{m}_{c}" for c in report.cycles for m in ("negative_share", "mean_sentiment")]
    writer.writerow(["provider", "theme_id", "theme", *numbers, "summarizer", "summary", "actions"])
    for p in report.providers:
        for t in p.themes:
            actions = " | ".join(f"{a.text} [{' '.join(map(str, a.evidence))}]" for a in t.actions)
            values: list[object] = [t.count, t.respondents, t.share, t.mean_rating, t.negative_share, t.mean_sentiment]
            values.append(t.trend or "")
            values += [_count(t.cycles.get(c)) for c in report.cycles]
            values += [v for c in report.cycles for v in _cycle_values(t.sentiment_cycles, c)]
            writer.writerow([p.provider, t.id, t.name, *values, t.summarizer, t.summary, actions])
        if p.withheld.themes:
            blanks = [""] * (len(numbers) + 2)
            writer.writerow([p.provider, "", "(withheld)", p.withheld.count, *blanks[1:]])
    return buffer.getvalue()


def render(report: Report, fmt: str) -> str:
    if fmt == "md":
        return to_markdown(report)
    if fmt == "csv":
        return to_csv(report)
    return report.model_dump_json(indent=2)
