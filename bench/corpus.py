"""Synthetic corpora of any size from the labelled sets: real texts resampled with light noise.

No paraphrasing: every comment is a real text of `evals/datasets/*`, drawn with replacement, with a few
typos (swapped, dropped or doubled letters), casing changes and punctuation changes, so copies differ
as real re-submissions do and de-duplication does not collapse the corpus. Each comment keeps the
label of its source (dataset-prefixed: `if:slow_response`, `b77:card_arrival`) for NMI.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATASETS = ROOT / "evals" / "datasets"
PROVIDERS = ("IT", "HR", "Finance", "Procurement", "Legal", "Payroll", "Facilities")
# (file, prefix, label field): the feedback-domain sets first; the intent sets add volume and variety.
SOURCES = (
    ("internal_feedback/comments.jsonl", "if", "themes"),
    ("example_survey/labels.jsonl", "ex", "themes"),
    ("sentiment/comments.jsonl", "sent", "sentiment"),
    ("urgent/comments.jsonl", "urg", "category"),
    ("banking77/banking77.jsonl", "b77", "label"),
    ("clinc150/clinc150.jsonl", "clinc", "label"),
)


@dataclass(frozen=True)
class Source:
    text: str
    label: str
    provider: str


@dataclass(frozen=True)
class Row:
    text: str
    label: str
    provider: str
    respondent: str

    def raw(self) -> dict[str, str]:
        """The upload row (the label stays out of the product)."""
        return {"text": self.text, "provider": self.provider, "respondent": self.respondent, "cycle": "2026-Q1"}


def load_sources() -> list[Source]:
    """Every labelled text of the English sets, with its label and a provider."""
    out: list[Source] = []
    for file, prefix, field in SOURCES:
        for i, line in enumerate((DATASETS / file).read_text(encoding="utf-8").splitlines()):
            item = json.loads(line)
            if item.get("lang", "en") != "en":
                continue
            value = item.get(field)
            label = value[0] if isinstance(value, list) and value else value
            provider = item.get("provider") or PROVIDERS[i % len(PROVIDERS)]
            out.append(Source(item["text"], f"{prefix}:{label or 'none'}", provider))
    return out


def _typo(text: str, rng: random.Random) -> str:
    letters = [i for i, ch in enumerate(text) if ch.isalpha()]
    if len(letters) < 4:
        return text
    i = rng.choice(letters[1:-1])
    kind = rng.randrange(3)
    if kind == 0:  # swap with the next character
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    if kind == 1:  # drop
        return text[:i] + text[i + 1 :]
    return text[:i] + text[i] + text[i:]  # double


def noisy(text: str, rng: random.Random) -> str:
    """One light re-typing of `text`: 0-3 typos, maybe other casing, maybe other end punctuation."""
    for _ in range(rng.choice((0, 1, 1, 2, 3))):
        text = _typo(text, rng)
    casing = rng.random()
    if casing < 0.15:
        text = text.lower()
    elif casing < 0.2:
        text = text.upper()
    elif casing < 0.35:
        text = text[:1].upper() + text[1:]
    ending = rng.random()
    stripped = text.rstrip(".!? ")
    if ending < 0.15:
        text = stripped
    elif ending < 0.25:
        text = stripped + "!"
    elif ending < 0.3:
        text = stripped + "..."
    return text


INTENT_SETS = ("b77:", "clinc:")
INTENT_SHARE = 0.5
"""Half the comments come from the feedback-domain sets (1.9k texts), half from the intent sets (28k)."""


def build(size: int, seed: int = 0, sources: list[Source] | None = None) -> list[Row]:
    """`size` comments: real texts drawn with replacement, each lightly re-typed; seeded."""
    sources = sources or load_sources()
    intents = [s for s in sources if s.label.startswith(INTENT_SETS)]
    feedback = [s for s in sources if not s.label.startswith(INTENT_SETS)]
    rng = random.Random(seed)
    rows = []
    for _ in range(size):
        pool = intents if rng.random() < INTENT_SHARE else feedback
        src = pool[rng.randrange(len(pool))]
        text = src.text if rng.random() < 0.2 else noisy(src.text, rng)
        rows.append(Row(text, src.label, src.provider, f"r{rng.randrange(max(size // 4, 50))}"))
    return rows
