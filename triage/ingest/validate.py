"""Turn raw rows into validated, redacted comments; every bad row is reported, none stops the others."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import json
import re
from collections.abc import Iterable
from typing import Any

from pydantic import ValidationError

from triage.embed.cache import text_hash
from triage.ingest.readers import RawRow
from triage.ingest.redact import redact, redact_many
from triage.types import CommentIn, NewComment, RowError

FIELDS = set(CommentIn.model_fields)
UNSPECIFIED_PROVIDER = "Unspecified"
# C0 controls but tab and newlines, DEL: invisible in every export, and NUL is refused by Postgres.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def hash_respondent(respondent: str, key: bytes) -> str:
    """Keyed hash of a respondent id: stable within one installation, useless without the key."""
    return hmac.new(key, respondent.strip().lower().encode("utf-8"), hashlib.sha256).hexdigest()


def clean_text(value: str) -> str:
    """Without control characters and lone surrogates (a JSON escape can carry one; UTF-8 cannot store it)."""
    value = CONTROL.sub("", value)
    return value.encode("utf-8", "replace").decode("utf-8") if not value.isascii() else value


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        value = clean_text(value).strip()
        return value or None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _clean_rating(value: Any) -> Any:
    if isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return value
        return int(number) if number.is_integer() else value
    return value


def _reason(exc: ValidationError) -> str:
    # Field names and messages only: the rejected value may be personal data.
    return "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'row'}: {e['msg']}" for e in exc.errors())


def validate_row(fields: dict[str, Any]) -> CommentIn:
    """Validate one row's known fields (unknown columns are ignored); raises ValidationError."""
    known = {k: _clean(v) for k, v in fields.items() if k in FIELDS}
    if isinstance(known.get("text"), int | float | dt.date):  # a spreadsheet cell holding only a number or date
        known["text"] = str(known["text"])
    if known.get("text") is None:
        raise ValueError("text: missing or empty")
    if "rating" in known:
        known["rating"] = _clean_rating(known["rating"])
    when = known.get("submitted_at")
    if isinstance(when, str) and len(when) > 10:
        with contextlib.suppress(ValueError):  # else left for the model to reject with a clear message
            known["submitted_at"] = dt.datetime.fromisoformat(when).date()
    for key in ("provider", "respondent_dept", "cycle", "respondent"):
        if known.get(key) is not None:
            known[key] = str(known[key])
    return CommentIn.model_validate(known)


def to_new_comment(comment: CommentIn, respondent_key: bytes, redacted: str | None = None) -> NewComment:
    """Redact the text (unless `redacted` is given), hash the respondent, compute the de-duplication hash."""
    text = redact(comment.text.strip()) if redacted is None else redacted
    respondent_hash = hash_respondent(comment.respondent, respondent_key) if comment.respondent else None
    provider = comment.provider or UNSPECIFIED_PROVIDER
    identity = [text, provider, comment.respondent_dept, comment.cycle, comment.rating, respondent_hash]
    content_hash = hashlib.sha256(json.dumps(identity, default=str).encode()).hexdigest()
    return NewComment(
        content_hash=content_hash,
        text=text,
        text_hash=text_hash(text),
        provider=provider,
        respondent_dept=comment.respondent_dept,
        cycle=comment.cycle,
        rating=comment.rating,
        submitted_at=comment.submitted_at.isoformat() if comment.submitted_at else None,
        respondent_hash=respondent_hash,
    )


def prepare(rows: Iterable[RawRow], respondent_key: bytes) -> tuple[list[NewComment], list[RowError]]:
    """Validate and redact every row; good rows are kept whatever their neighbours hold."""
    valid: list[CommentIn] = []
    bad: list[RowError] = []
    for row_number, fields in rows:
        if isinstance(fields, str):
            bad.append(RowError(row=row_number, reason=fields))
            continue
        try:
            valid.append(validate_row(fields))
        except ValidationError as exc:
            bad.append(RowError(row=row_number, reason=_reason(exc)))
        except ValueError as exc:
            bad.append(RowError(row=row_number, reason=str(exc)))
    # Names are found in batches (spaCy's nlp.pipe): about half the time of one comment at a time.
    redacted = redact_many([c.text.strip() for c in valid])
    good = [to_new_comment(c, respondent_key, r.text) for c, r in zip(valid, redacted, strict=True)]
    return good, bad
