"""Sentiment of comments: VADER's lexicon, domain cues for service failures and sarcasm, and the rating.

Measured on evals/datasets/sentiment (`python -m evals.suites.sentiment`): VADER alone misreads the
domain ("Great, another three-week wait" is positive to it; "Legal sat on our NDA for five weeks" is
neutral), and the rating alone disagrees with the text often enough that neither is trusted alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from triage.sentiment import cues
from triage.types import Sentiment, SentimentLabel

# Chosen on the dev split (see evals/suites/sentiment.py); never on the test split.
CUE_WEIGHT_NEGATIVE = 0.3
CUE_WEIGHT_POSITIVE = 0.25
RATING_WEIGHT = 0.5
POSITIVE_AT = 0.2
NEGATIVE_AT = -0.15
CLAUSE_POSITIVE_AT = 0.2
CLAUSE_NEGATIVE_AT = -0.1


@lru_cache(maxsize=1)
def _analyzer() -> Any:
    # The lexicon ships inside the vaderSentiment wheel; loading it reads no network.
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def vader_compound(text: str) -> float:
    """VADER's compound polarity of `text`, -1..1."""
    return float(_analyzer().polarity_scores(text)["compound"])


@dataclass(frozen=True)
class TextSignals:
    """What the text alone says, before the rating is considered."""

    compound: float
    negative_cues: int
    positive_cues: int
    sarcasm_cues: int
    positive_clause: bool
    negative_clause: bool
    clauses: int


def text_signals(text: str) -> TextSignals:
    segments = cues.clauses(text) or [text]
    scored = [(vader_compound(p), cues.negative_cues(p), cues.positive_cues(p)) for p in segments]
    return TextSignals(
        compound=vader_compound(text),
        negative_cues=cues.negative_cues(text),
        positive_cues=cues.positive_cues(text),
        sarcasm_cues=cues.sarcasm_cues(text),
        positive_clause=any(c >= CLAUSE_POSITIVE_AT or (p > 0 and n == 0) for c, n, p in scored),
        negative_clause=any(c <= CLAUSE_NEGATIVE_AT or (n > 0 and c < CLAUSE_POSITIVE_AT) for c, n, p in scored),
        clauses=len(segments),
    )


def is_sarcastic(signals: TextSignals, rating: int | None) -> bool:
    """Positive words used ironically: an ironic opening plus a failure cue, a low rating, or a second cue."""
    if signals.sarcasm_cues == 0:
        return False
    sounds_positive = signals.compound > 0 or signals.positive_cues > 0 or signals.sarcasm_cues >= 2
    return sounds_positive and (
        signals.negative_cues > 0 or (rating is not None and rating <= 2) or signals.sarcasm_cues >= 2
    )


def _clip(value: float) -> float:
    return max(-1.0, min(1.0, value))


def _label(score: float) -> SentimentLabel:
    if score >= POSITIVE_AT:
        return "positive"
    if score <= NEGATIVE_AT:
        return "negative"
    return "neutral"


def mix_sentiment(text: str, rating: int | None = None) -> Sentiment:
    """The rule mix: VADER plus domain cues, sarcasm flipped to negative, contrast clauses as mixed, and
    `rating` (1-5) weighed with the text (it moves the score, it does not override it)."""
    signals = text_signals(text)
    text_score = _clip(
        signals.compound + CUE_WEIGHT_POSITIVE * signals.positive_cues - CUE_WEIGHT_NEGATIVE * signals.negative_cues
    )
    sarcastic = is_sarcastic(signals, rating)
    if sarcastic:
        text_score = -max(0.5, abs(text_score))
    score = text_score
    if rating is not None:
        score = _clip((1 - RATING_WEIGHT) * text_score + RATING_WEIGHT * (rating - 3) / 2)
    mixed = not sarcastic and signals.clauses >= 2 and signals.positive_clause and signals.negative_clause
    label: SentimentLabel = "mixed" if mixed else _label(score)
    return Sentiment(label=label, score=round(score, 4))
