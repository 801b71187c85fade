"""The output audit: every generated text of a report is run through the redaction detector before it is shown.

Comments are redacted at ingest, but an LLM can still write a name into a summary ("Maria in Payroll is slow"),
quote one from its instructions, or a name can slip past ingest in one comment and be repeated elsewhere. As Clio
audits its cluster summaries, the report's theme names, summaries, suggested actions, quotes and subject names are
redacted again with the same detector (`triage.ingest.redact`), and what it replaced is counted per report in
`Report.redactions_in_output` (shown in the Markdown footer and the JSON). The owner of an accepted action is a
person named on purpose by the user who accepted it, so it is not audited; keywords are single words that the
name model cannot judge out of context.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from triage.ingest.language import detect_language
from triage.ingest.redact import redact_many
from triage.types import Report

log = logging.getLogger(__name__)


@dataclass
class _Field:
    text: str
    language: str
    store: Callable[[str], None]


def _audit(fields: list[_Field]) -> int:
    """Redact every field in one batch, write the changed ones back; returns how many spans were replaced."""
    if not fields:
        return 0
    results = redact_many([f.text for f in fields], [f.language for f in fields])
    replaced = 0
    for field, result in zip(fields, results, strict=True):
        if result.total:
            field.store(result.text)
            replaced += result.total
    return replaced


def _setter(obj: object, attr: str) -> Callable[[str], None]:
    return lambda value: setattr(obj, attr, value)


def _item_setter(items: list[str], index: int) -> Callable[[str], None]:
    def store(value: str) -> None:
        items[index] = value

    return store


def audit_report(report: Report) -> Report:
    """A copy of `report` with personal data redacted from every generated text and the count recorded.

    The count adds to what earlier audits of the same report found (a stored report is audited when built).
    """
    audited = report.model_copy(deep=True)
    fields: list[_Field] = []
    for provider in audited.providers:
        for subject in provider.subjects:
            fields.append(_Field(subject.name, detect_language(subject.name), _setter(subject, "name")))
        for theme in provider.themes:
            fields.append(_Field(theme.name, detect_language(theme.name), _setter(theme, "name")))
            fields.append(_Field(theme.summary, detect_language(theme.summary), _setter(theme, "summary")))
            fields += [_Field(a.text, detect_language(a.text), _setter(a, "text")) for a in theme.actions]
            fields += [_Field(s.name, detect_language(s.name), _setter(s, "name")) for s in theme.subjects]
            languages = theme.quote_languages or []
            for i, quote in enumerate(theme.quotes):
                language = languages[i] if i < len(languages) else detect_language(quote)
                fields.append(_Field(quote, language, _item_setter(theme.quotes, i)))
        for tracked in provider.followed_actions:
            fields.append(_Field(tracked.text, detect_language(tracked.text), _setter(tracked, "text")))
    replaced = _audit(fields)
    if replaced:
        log.warning("report of run %s: the output audit redacted %d spans of personal data", report.run_id, replaced)
    audited.redactions_in_output = (report.redactions_in_output or 0) + replaced
    return audited


def audited(report: Report) -> Report:
    """`report` as it may be shown: audited now unless it was audited when it was built (stored reports are)."""
    return report if report.redactions_in_output is not None else audit_report(report)
