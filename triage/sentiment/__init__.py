"""The sentiment step: a label (negative, mixed, neutral, positive) and a score (-1..1) for each comment."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from triage.sentiment.head import SentimentHead
from triage.sentiment.score import mix_sentiment
from triage.types import Sentiment

HEAD_PATH = Path(__file__).with_name("head.json")
"""The head fitted on the dev split of evals/datasets/sentiment (`python -m evals.suites.sentiment --fit-head`)."""


@lru_cache(maxsize=1)
def default_head() -> SentimentHead:
    return SentimentHead.load(HEAD_PATH)


def score_sentiment(texts: Sequence[str], ratings: Sequence[int | None] | None = None) -> list[Sentiment]:
    """Sentiment per comment; `ratings` (1-5 or None), when given, has one entry per text."""
    if ratings is None:
        ratings = [None] * len(texts)
    if len(ratings) != len(texts):
        raise ValueError(f"{len(texts)} texts but {len(ratings)} ratings")
    return default_head().predict(texts, ratings)


__all__ = ["HEAD_PATH", "SentimentHead", "default_head", "mix_sentiment", "score_sentiment"]
