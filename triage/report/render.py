"""Render a report as Markdown or CSV (JSON is the Report model itself)."""

from __future__ import annotations

import csv
import io

from triage.types import Report

FORMATS = ("json", "md", "csv")


def _pct(share: float) -> str:
    return f"{share * 100:.0f}%"


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
            lines += ["| theme | comments | share | mean rating |", "| --- | ---: | ---: | ---: |"]
            for t in p.themes:
                rating = f"{t.mean_rating:.1f}" if t.mean_rating is not None else "-"
                lines.append(f"| {t.name} | {t.count} | {_pct(t.share)} | {rating} |")
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
    return "\n".join(lines)


def to_csv(report: Report) -> str:
    """One row per (provider, theme) with the numbers and the actions joined."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        [
            "provider",
            "theme_id",
            "theme",
            "count",
            "respondents",
            "share",
            "mean_rating",
            "summarizer",
            "summary",
            "actions",
        ]
    )
    for p in report.providers:
        for t in p.themes:
            actions = " | ".join(f"{a.text} [{' '.join(map(str, a.evidence))}]" for a in t.actions)
            writer.writerow(
                [
                    p.provider,
                    t.id,
                    t.name,
                    t.count,
                    t.respondents,
                    t.share,
                    t.mean_rating,
                    t.summarizer,
                    t.summary,
                    actions,
                ]
            )
        if p.withheld.themes:
            writer.writerow([p.provider, "", "(withheld)", p.withheld.count, "", "", "", "", "", ""])
    return buffer.getvalue()


def render(report: Report, fmt: str) -> str:
    if fmt == "md":
        return to_markdown(report)
    if fmt == "csv":
        return to_csv(report)
    return report.model_dump_json(indent=2)
