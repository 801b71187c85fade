"""The sentiment step: a label (negative, mixed, neutral, positive) and a score (-1..1) for each comment."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from triage.sentiment.head import SentimentHead
from triage.sentiment.multilingual import MultilingualSentimentHead
from triage.sentiment.score import mix_sentiment
from triage.types import Sentiment, SentimentLabel

TEXT_LANGUAGES = frozenset({"en", "und"})
"""Languages whose text the head reads: VADER's lexicon and the domain cues are English."""
HEAD_PATH = Path(__file__).with_name("head.json")
"""The head fitted on the dev split of evals/datasets/sentiment (`python -m evals.suites.sentiment --fit-head`)."""
MULTILINGUAL_HEAD_PATH = Path(__file__).with_name("multilingual_head.json")
"""The head on multilingual-e5-small vectors (`python -m evals.suites.multilingual --fit`)."""


@lru_cache(maxsize=1)
def default_head() -> SentimentHead:
    return SentimentHead.load(HEAD_PATH)


@lru_cache(maxsize=1)
def multilingual_head() -> MultilingualSentimentHead:
    return MultilingualSentimentHead.load(MULTILINGUAL_HEAD_PATH)


def score_sentiment(texts: Sequence[str], ratings: Sequence[int | None] | None = None) -> list[Sentiment]:
    """Sentiment per comment; `ratings` (1-5 or None), when given, has one entry per text."""
    if ratings is None:
        ratings = [None] * len(texts)
    if len(ratings) != len(texts):
        raise ValueError(f"{len(texts)} texts but {len(ratings)} ratings")
    return default_head().predict(texts, ratings)


def rating_sentiment(rating: int) -> Sentiment:
    """Sentiment from a 1-5 rating alone: 1-2 negative, 3 neutral, 4-5 positive; score (rating - 3) / 2."""
    label: SentimentLabel = "negative" if rating <= 2 else "neutral" if rating == 3 else "positive"
    return Sentiment(label=label, score=(rating - 3) / 2)


def score_sentiment_by_language(
    texts: Sequence[str],
    ratings: Sequence[int | None],
    languages: Sequence[str],
    multilingual_vectors: Mapping[int, npt.NDArray[np.float32]] | None = None,
) -> list[Sentiment | None]:
    """Like `score_sentiment`, for comments whose language is known (`triage.ingest.language.detect_language`).

    Text in another language than TEXT_LANGUAGES is not read by the English head (it would call nearly all
    of it neutral: `python -m evals.suites.multilingual`). Such a comment with a vector in
    `multilingual_vectors` (comment index -> its multilingual-e5-small vector) is scored by the
    multilingual head, with its rating; without one its rating decides when there is one, else the answer
    is None (unknown), so a report counts it apart rather than as neutral.
    """
    if not len(texts) == len(ratings) == len(languages):
        raise ValueError(f"{len(texts)} texts, {len(ratings)} ratings and {len(languages)} languages")
    readable = [i for i, lang in enumerate(languages) if lang in TEXT_LANGUAGES]
    scored = dict(
        zip(readable, score_sentiment([texts[i] for i in readable], [ratings[i] for i in readable]), strict=True)
    )
    vectors = multilingual_vectors or {}
    other = [i for i in range(len(texts)) if i not in scored and i in vectors]
    if other:
        matrix = np.stack([vectors[i] for i in other]).astype(np.float32)
        scored |= dict(zip(other, multilingual_head().predict(matrix, [ratings[i] for i in other]), strict=True))
    out: list[Sentiment | None] = []
    for i, rating in enumerate(ratings):
        if i in scored:
            out.append(scored[i])
        else:
            out.append(rating_sentiment(rating) if rating is not None else None)
    return out


__all__ = [
    "HEAD_PATH",
    "MULTILINGUAL_HEAD_PATH",
    "TEXT_LANGUAGES",
    "MultilingualSentimentHead",
    "SentimentHead",
    "default_head",
    "mix_sentiment",
    "multilingual_head",
    "rating_sentiment",
    "score_sentiment",
    "score_sentiment_by_language",
]
