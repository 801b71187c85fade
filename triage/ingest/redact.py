"""Redaction of personal data before anything is stored, embedded or sent to an LLM."""

from __future__ import annotations

import re

EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
# Phone-like digit runs: optional country code, optional (area), then 2+ groups; checked for digit count below.
PHONE = re.compile(
    r"(?<![\w+])(?:\+\d{1,3}[\s.-]?)?(?:\(\d{1,5}\)[\s.-]?)?\d{2,5}(?:[\s.-]\d{2,8}){1,4}(?![\w-])"
    r"|(?<![\w+])\+\d{8,15}(?!\w)"
)
# Employee, ticket and order ids: a short letter prefix and 4+ digits (E40917, EMP-0042, INC0012345).
RECORD_ID = re.compile(r"(?<![\w-])[A-Za-z]{1,4}-?\d{4,}(?![\w-])")
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
MIN_PHONE_DIGITS = 7


def _phone(match: re.Match[str]) -> str:
    candidate = match.group(0)
    digits = sum(ch.isdigit() for ch in candidate)
    if digits < MIN_PHONE_DIGITS or ISO_DATE.fullmatch(candidate.strip()):
        return candidate
    return "[PHONE]"


def _record_id(match: re.Match[str]) -> str:
    candidate = match.group(0)
    digits = candidate.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
    if len(digits) == 4 and digits[:2] in ("19", "20"):  # FY2026, Q2025: a year, not an id
        return candidate
    return "[ID]"


def redact(text: str) -> str:
    """Replace emails, phone numbers and record ids with placeholders that keep the sentence readable.

    Personal names are not detected yet (that needs a named-entity model).
    """
    text = EMAIL.sub("[EMAIL]", text)
    text = PHONE.sub(_phone, text)
    return RECORD_ID.sub(_record_id, text)
