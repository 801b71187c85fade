"""Sentiment: sarcasm, mixed and neutral comments, the rating on ambiguous text, the shipped head."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from triage.config import PROJECT_ROOT
from triage.errors import ModelMismatch
from triage.sentiment import (
    HEAD_PATH,
    SentimentHead,
    default_head,
    mix_sentiment,
    rating_sentiment,
    score_sentiment,
    score_sentiment_by_language,
)
from triage.sentiment.cues import clauses, sarcasm_cues

pytestmark = pytest.mark.store_free

DATA = PROJECT_ROOT / "evals" / "datasets" / "sentiment" / "comments.jsonl"

# Written for these tests; none of them is in the eval set.
CASES = [
    ("Great, another two-week wait for a parking permit.", None, "negative"),
    ("Fantastic, the VPN is down again.", None, "negative"),
    ("Oh wonderful, the booking tool lost my reservation a second time.", None, "negative"),
    ("Love how Finance needs three signatures for a coffee receipt.", None, "negative"),
    ("Thanks so much, Payroll, for paying my bonus into a closed account. Again.", 2, "negative"),
    ("HR took six weeks to answer a simple question about my contract.", None, "negative"),
    ("The helpdesk fixed my laptop within an hour. Thank you!", None, "positive"),
    ("Legal reviewed the contract quickly and the advice was clear.", 5, "positive"),
    ("The payroll team is friendly, but my overtime is still wrong.", None, "mixed"),
    ("I contacted Facilities once this year about a desk move.", None, "neutral"),
]
IDS = [
    "sarcasm-great-wait",
    "sarcasm-fantastic-down",
    "sarcasm-oh-wonderful",
    "sarcasm-love-how",
    "sarcasm-thanks-low-rating",
    "plain-complaint",
    "praise",
    "praise-rated",
    "mixed-but",
    "neutral-fact",
]


@pytest.mark.parametrize(("text", "rating", "expected"), CASES, ids=IDS)
def test_labels(text: str, rating: int | None, expected: str) -> None:
    [result] = score_sentiment([text], [rating])
    assert result.label == expected


def test_sarcasm_is_not_read_as_praise_by_the_rule_mix_either() -> None:
    assert mix_sentiment("Great, another three-week wait for a monitor.").label == "negative"
    assert mix_sentiment("The helpdesk replaced my monitor the same day. Great service.").label == "positive"


@pytest.mark.parametrize(
    ("rating", "expected"), [(None, "neutral"), (1, "negative"), (2, "negative"), (5, "positive")], ids=str
)
def test_rating_decides_when_the_text_is_flat(rating: int | None, expected: str) -> None:
    [result] = score_sentiment(["Procurement handled our software renewal."], [rating])
    assert result.label == expected


def test_scores_are_ordered_and_bounded() -> None:
    results = score_sentiment(
        ["Payroll got my salary wrong again and nobody replied for weeks.", "It was fine.", "Superb, fast, clear help."]
    )
    assert [r.label for r in results] == ["negative", "neutral", "positive"]
    assert -1.0 <= results[0].score < results[1].score < results[2].score <= 1.0


def test_empty_input_and_length_mismatch() -> None:
    assert score_sentiment([]) == []
    with pytest.raises(ValueError, match="2 texts but 1 ratings"):
        score_sentiment(["a", "b"], [None])


def test_contrast_clauses_and_sarcasm_cues() -> None:
    assert clauses("Friendly team, but slow; still waiting") == ["Friendly team", "slow", "still waiting"]
    assert sarcasm_cues("Great, another reorg.") > 0
    assert sarcasm_cues("The reorg was explained well.") == 0


def test_shipped_head_is_the_one_dev_fits() -> None:
    """Refitting on the dev split reproduces head.json: a cue change without a refit fails here."""
    rows = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines()]
    dev = [r for r in rows if r["split"] == "dev"]
    shipped = default_head()
    refit = SentimentHead.fit(
        [r["text"] for r in dev], [r["rating"] for r in dev], [r["sentiment"] for r in dev], shipped.meta["C"]
    )
    assert refit.meta["data_sha256"] == shipped.meta["data_sha256"]
    np.testing.assert_allclose(refit.coef, shipped.coef, atol=1e-4)
    np.testing.assert_allclose(refit.intercept, shipped.intercept, atol=1e-4)


def test_head_round_trip_and_mismatch(tmp_path: Path) -> None:
    head = default_head()
    path = tmp_path / "head.json"
    head.save(path)
    texts = [t for t, _, _ in CASES]
    ratings = [r for _, r, _ in CASES]
    assert SentimentHead.load(path).predict(texts, ratings) == head.predict(texts, ratings)
    data = json.loads(HEAD_PATH.read_text(encoding="utf-8"))
    data["features"] = [*data["features"], "something_new"]
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ModelMismatch):
        SentimentHead.load(path)


def test_other_languages_fall_back_to_the_rating_or_unknown() -> None:
    texts = [
        "Great, another three-week wait for a laptop.",
        "Llevo tres semanas esperando un portátil.",
        "Ich warte seit drei Wochen auf meinen Laptop.",
        "N/A",
    ]
    results = score_sentiment_by_language(texts, [None, 1, None, None], ["en", "es", "de", "und"])
    assert results[0] is not None and results[0].label == "negative"
    assert results[1] == rating_sentiment(1)
    assert results[1].label == "negative" and results[1].score == -1.0
    assert results[2] is None
    assert results[3] is not None and results[3].label == "neutral"
    with pytest.raises(ValueError, match="languages"):
        score_sentiment_by_language(texts, [None] * 4, ["en"])
