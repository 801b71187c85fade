"""Redaction of personal data before anything is stored, embedded or sent to an LLM.

Patterns find emails, URLs with a personal path, phone numbers and employee/ticket-style ids; spaCy
named-entity models find personal names (`triage.ingest.names`). Each is replaced by a placeholder that keeps
the sentence readable: "ask Maria Gonzalez in payroll" -> "ask [PERSON] in payroll". Measured by
`python -m evals.suites.redaction` (recall and precision per kind, clean comments changed, ms per comment).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from triage.ingest.language import UNDETERMINED, detect_language
from triage.ingest.names import Found, find_names, find_names_many

KINDS = ("PERSON", "EMAIL", "PHONE", "ID", "URL")
PLACEHOLDERS = {kind: f"[{kind}]" for kind in KINDS}
PLACEHOLDER = re.compile(r"\[(?:PERSON|EMAIL|PHONE|ID|URL)\]")

EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
# Phone-like digit runs: optional country code, optional (area), then 2+ groups; checked for digit count below.
PHONE = re.compile(
    r"(?<![\w+-])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,5}\)[\s.-]?)?\d{2,5}(?:[\s.-]\d{2,8}){1,4}(?![\w-])"
    r"|(?<![\w+])\+\d{8,15}(?!\w)"
    r"|(?<![\w+])\+\d{1,3}[\s.-]?\d(?:[\s.-]\d{2,4}){3,5}(?![\w-])"  # +33 1 42 68 53 00
)
# Employee, ticket and order ids: a short letter prefix and 4+ digits (E40917, EMP-0042, INC0012345).
RECORD_ID = re.compile(r"(?<![\w-])[A-Za-z]{1,4}-?\d{4,}(?:-\d+)*(?![\w-])")
# A chat handle (@jsmith) names one person; @here, @channel and @everyone do not.
HANDLE = re.compile(r"(?<![\w.@/])@(?!(?:here|channel|everyone|all)\b)[A-Za-z][\w.-]{1,30}(?<![.-])")
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
MIN_PHONE_DIGITS = 7
URL = re.compile(
    r"(?:\bhttps?://|\bwww\.|\b(?:linkedin|github|gitlab|twitter|facebook|instagram|xing)\.com/)[^\s<>\"'()\[\]]+",
    re.IGNORECASE,
)
# A URL is personal when its path points at one person: a profile, a personal drive, a user page.
PERSONAL_PATH = re.compile(
    r"/(?:people|person|persons|user|users|u|in|profile|profiles|personal|employee|employees|staff|directory"
    r"|member|members|team/U[A-Z0-9]+|pub)/[^/?#]+"
    r"|/~[\w.-]+|/@[\w.-]+",
    re.IGNORECASE,
)
SOCIAL_HOSTS = re.compile(
    r"^(?:https?://)?(?:www\.)?(?:linkedin\.com|github\.com|gitlab\.com|twitter\.com|x\.com|facebook\.com"
    r"|instagram\.com|xing\.com)/[^/?#\s]+",
    re.IGNORECASE,
)
TRAILING = ".,;:!?"
PRIORITY = {"URL": 0, "EMAIL": 1, "PHONE": 2, "ID": 3, "PERSON": 4}


@dataclass(frozen=True)
class Redaction:
    """A redacted text and how many spans of each kind were replaced."""

    text: str
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def _phone_ok(candidate: str) -> bool:
    digits = sum(ch.isdigit() for ch in candidate)
    return digits >= MIN_PHONE_DIGITS and not ISO_DATE.fullmatch(candidate.strip())


def _record_id_ok(candidate: str) -> bool:
    digits = candidate.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-")
    return not (len(digits) == 4 and digits[:2] in ("19", "20"))  # FY2026, Q2025: a year, not an id


def find_patterns(text: str, urls: bool = True) -> list[Found]:
    """Emails, personal URLs (unless `urls` is False), phone numbers and record ids (no model)."""
    found: list[Found] = []
    for m in URL.finditer(text) if urls else ():
        url = m.group().rstrip(TRAILING)
        if PERSONAL_PATH.search(url) or SOCIAL_HOSTS.match(url):
            found.append(Found(m.start(), m.start() + len(url), "URL"))
    found += [Found(m.start(), m.end(), "EMAIL") for m in EMAIL.finditer(text)]
    found += [Found(m.start(), m.end(), "PHONE") for m in PHONE.finditer(text) if _phone_ok(m.group())]
    found += [Found(m.start(), m.end(), "ID") for m in RECORD_ID.finditer(text) if _record_id_ok(m.group())]
    found += [Found(m.start(), m.end(), "PERSON") for m in HANDLE.finditer(text)] if urls else []
    return found


def merge_spans(spans: list[Found], text: str) -> list[Found]:
    """Non-overlapping spans, a higher-priority kind winning; placeholders already in the text are left alone."""
    taken: list[Found] = [Found(m.start(), m.end(), "KEEP") for m in PLACEHOLDER.finditer(text)]
    for span in sorted(spans, key=lambda s: (PRIORITY[s.kind], s.start, -(s.end - s.start))):
        if all(span.end <= t.start or span.start >= t.end for t in taken):
            taken.append(span)
    return sorted((s for s in taken if s.kind != "KEEP"), key=lambda s: s.start)


def _apply(text: str, spans: list[Found]) -> Redaction:
    counts = dict.fromkeys(KINDS, 0)
    parts: list[str] = []
    at = 0
    for s in spans:
        parts += [text[at : s.start], PLACEHOLDERS[s.kind]]
        counts[s.kind] += 1
        at = s.end
    parts.append(text[at:])
    return Redaction("".join(parts), counts)


def _language(text: str, language: str | None) -> str:
    return language if language is not None else detect_language(text)


def find_personal_data(text: str, language: str | None = None) -> list[Found]:
    """Every span of personal data in `text` (patterns and names), non-overlapping, in order."""
    patterns = find_patterns(text)
    names = find_names(text, _language(text, language), [(s.start, s.end) for s in patterns]) if text.strip() else []
    return merge_spans(patterns + names, text)


def redact_counted(text: str, language: str | None = None) -> Redaction:
    """Redact one text and count what was replaced (the audit of LLM answers and reports uses the counts)."""
    return _apply(text, find_personal_data(text, language))


def redact(text: str, language: str | None = None) -> str:
    """Replace names, emails, personal URLs, phone numbers and record ids with readable placeholders.

    `language` (ISO 639-1) picks the name model; None detects it (`triage.ingest.language`).
    """
    return redact_counted(text, language).text


def find_personal_data_many(texts: Sequence[str], languages: Sequence[str] | None = None) -> list[list[Found]]:
    """`find_personal_data` for many texts, names found in batches per model (`nlp.pipe`)."""
    langs = list(languages) if languages is not None else [detect_language(t) for t in texts]
    patterns = [find_patterns(t) for t in texts]
    spans = [[(s.start, s.end) for s in p] for p in patterns]
    names = find_names_many(texts, [lang or UNDETERMINED for lang in langs], spans)
    return [merge_spans(p + n, t) for t, p, n in zip(texts, patterns, names, strict=True)]


def redact_many(texts: Sequence[str], languages: Sequence[str] | None = None) -> list[Redaction]:
    """Redact many texts at once: names are found in batches (`nlp.pipe`), for ingest and reports."""
    found = find_personal_data_many(texts, languages)
    return [_apply(t, f) for t, f in zip(texts, found, strict=True)]


def redact_patterns(text: str) -> str:
    """The patterns alone, no name model: what redaction did before names were detected (the eval's baseline)."""
    return _apply(text, merge_spans(find_patterns(text, urls=False), text)).text
