"""Comments in es/de/fr/pt take the multilingual head, one at a time and in batch runs; English keeps its path."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import EXAMPLE_SURVEY, make_settings
from triage import pipeline
from triage.config import PROJECT_ROOT
from triage.embed.sentence_transformer import SentenceTransformerEmbedder
from triage.errors import ModelMismatch
from triage.ingest.redact import redact
from triage.pipeline.services import Services, base_theme_model
from triage.sentiment import score_sentiment
from triage.themes.model import ThemeModel
from triage.themes.multilingual import LANGUAGES, MultilingualThemeHead, RoutedThemeModel
from triage.types import Taxonomy, ThemeDef

# Written for these tests: none is in evals/datasets/multilingual or models/multilingual/calibration.jsonl.
# Behaviour checks (routing, same answer single and batch); accuracy is measured by evals.suites.multilingual.
CASES = [
    ("Hace un mes que pedí el alta de un proveedor y Compras todavía no lo ha tramitado.", "es", "slow_response"),
    ("Der Mitarbeiter vom IT-Support war unhöflich und hat mich wie einen Idioten behandelt.", "de", "discourtesy"),
    (
        "Personne ne nous a informés du changement de logiciel de notes de frais avant le jour même.",
        "fr",
        "communication_gaps",
    ),
    ("O pedido de compra saiu com a quantidade errada e tivemos que refazer o pedido.", "pt", "quality_errors"),
]
ENGLISH = [
    "Three weeks waiting for my laptop and still no date.",
    "The payroll clerk was rude and blamed me for their own mistake.",
    "Nobody told us the expense tool was changing until the day it did.",
]
HEAD_DIR = PROJECT_ROOT / "models" / "multilingual"


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory, embedder: SentenceTransformerEmbedder) -> Iterator[Services]:
    """One data dir for the module: fitting the base theme model takes about a minute."""
    opened = pipeline.open_services(make_settings(tmp_path_factory.mktemp("multilingual") / "data"), embedder=embedder)
    yield opened
    opened.close()


# First in the module: no es/de/fr/pt comment has been triaged yet.
def test_english_keeps_exactly_its_path_and_never_loads_the_multilingual_encoder(services: Services) -> None:
    model = base_theme_model(services)
    for text in ENGLISH:
        result = pipeline.triage_text(services, text)
        redacted = redact(text)
        assert result.language == "en"
        assert result.themes == model.score([redacted], services.embedder.encode([redacted]))[0]
        assert result.sentiment == score_sentiment([redacted])[0]
    assert services._multilingual is None


@pytest.mark.parametrize(("text", "language", "theme"), CASES, ids=[c[1] for c in CASES])
def test_a_single_comment_gets_its_theme(services: Services, text: str, language: str, theme: str) -> None:
    result = pipeline.triage_text(services, text, provider="IT")
    assert (result.language, result.primary_theme) == (language, theme)
    assert result.themes[0].name != theme  # a readable name, from the taxonomy
    # The text is read: without a rating the old fallback answered None.
    assert result.sentiment is not None


def test_the_routed_model_leaves_english_rows_as_the_plain_model_scores_them(services: Services) -> None:
    model = base_theme_model(services)
    head = services.multilingual.head(model.taxonomy)
    text, language, _ = CASES[0]
    routed = {text: (language, services.multilingual.encoder.encode([text])[0])}
    texts = [*ENGLISH, text]
    vectors = services.embedder.encode(texts)
    mixed = RoutedThemeModel(model, head, routed).score(texts, vectors)
    assert mixed[:3] == model.score(ENGLISH, vectors[:3])
    assert mixed[3][0].id == CASES[0][2]


def test_batch_run_assigns_non_english_comments_as_triage_does(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    rows = list(csv.DictReader(io.StringIO(EXAMPLE_SURVEY.read_text(encoding="utf-8"))))[:60]
    for i, (text, _, _) in enumerate(CASES):
        rows.append({**rows[0], "text": text, "provider": "IT", "respondent": f"ml-{i}", "rating": ""})
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    services = pipeline.open_services(make_settings(tmp_path / "data"), embedder=embedder)
    try:
        dataset = pipeline.ingest_bytes(services, buffer.getvalue().encode(), "mixed.csv", name="mixed")
        run_id = pipeline.start_run(services, dataset.id)
        asyncio.run(pipeline.analyze(services, run_id))
        by_text = {c.text: c.id for c in services.sql.comments(dataset.id)}
        for text, language, theme in CASES:
            comment_id = by_text[text]
            assert services.sql.comment_labels(comment_id, "language") == [language]
            assert services.sql.comment_labels(comment_id, "theme")[:1] == [theme]
            assert services.sql.comment_labels(comment_id, "sentiment")
            assert pipeline.triage_text(services, text, run_id=run_id).primary_theme == theme
    finally:
        services.close()


def test_head_round_trip_and_refusals(tmp_path: Path) -> None:
    head = MultilingualThemeHead.load(HEAD_DIR)
    assert sorted(head.language_means) == sorted(LANGUAGES) and 0 < head.confidence_scale <= 1
    head.save(tmp_path)
    again = MultilingualThemeHead.load(tmp_path)
    vectors = np.random.default_rng(0).normal(size=(3, head.coef.shape[1])).astype(np.float32)
    np.testing.assert_allclose(
        again.probabilities(vectors, ["es", "de", "en"]), head.probabilities(vectors, ["es", "de", "en"])
    )
    # Centring moves a Spanish vector; an English one is left as it is.
    assert not np.allclose(head.centred(vectors[:1], ["es"]), vectors[:1])
    np.testing.assert_allclose(head.centred(vectors[:1], ["en"]), vectors[:1])


def test_a_head_of_another_taxonomy_is_refused(services: Services) -> None:
    model = base_theme_model(services)
    head = services.multilingual.head(model.taxonomy)
    other = Taxonomy(version="x", themes=[ThemeDef(id="a", name="A", description="a", examples=["x"])])
    with pytest.raises(ModelMismatch):
        RoutedThemeModel(ThemeModel(other, model.classifier, "minilm", 0.25, 0.1), head, {})
