"""The shipped theme model matches models/themes/metadata.json: training data, parameters, thresholds, scores."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.metrics import f1_score

from evals.data import read_records
from evals.theme_model import INTERNAL, METADATA, current_training, training_hash
from triage.config import PROJECT_ROOT, ThemeSettings
from triage.embed.sentence_transformer import SentenceTransformerEmbedder
from triage.themes.classifier import PARAMS
from triage.themes.model import ThemeModel
from triage.themes.taxonomy import load_taxonomy

pytestmark = pytest.mark.store_free

META = json.loads(METADATA.read_text(encoding="utf-8"))


def test_metadata_describes_the_training_data_the_product_fits_on() -> None:
    texts, labels = current_training()
    assert META["training_data"]["sha256"] == training_hash(texts, labels), "run python -m evals.theme_model build"
    assert META["training_data"]["rows"] == len(texts)
    test_texts = {r["text"] for r in read_records(INTERNAL) if r["split"] == "test"}
    assert not test_texts & set(texts), "a held-out test comment is in the training data"


def test_parameters_and_thresholds_are_the_chosen_ones() -> None:
    assert PARAMS["C"] == META["params"]["C"] and PARAMS["embedding_weight"] == META["params"]["embedding_weight"]
    assert PARAMS["temperature"] == META["chosen"]["temperature"]
    defaults = ThemeSettings()
    assert defaults.min_confidence == META["chosen"]["min_confidence"]
    assert defaults.secondary_confidence == META["chosen"]["secondary_confidence"]
    assert "licence" in META and META["metrics"]["test"]["macro_f1"] > 0


def test_shipped_model_scores_what_the_metadata_says_on_the_held_out_split(
    embedder: SentenceTransformerEmbedder,
) -> None:
    taxonomy = load_taxonomy(PROJECT_ROOT / "models" / "taxonomy.toml")
    texts, labels = current_training()
    settings = ThemeSettings()
    model = ThemeModel.fit(
        taxonomy,
        texts,
        labels,
        embedder.encode(texts),
        "minilm",
        settings.min_confidence,
        settings.secondary_confidence,
    )
    test = [r for r in read_records(INTERNAL) if r["split"] == "test"]
    test_texts = [r["text"] for r in test]
    proba = model.classifier.predict_proba(test_texts, embedder.encode(test_texts))
    primary = [model.classifier.classes[j] for j in proba.argmax(axis=1)]
    macro = float(f1_score([r["themes"][0] for r in test], primary, average="macro"))
    assert macro == pytest.approx(META["metrics"]["test"]["macro_f1"], abs=0.015)
    abstained = float(np.mean(proba.max(axis=1) < settings.min_confidence))
    assert abstained == pytest.approx(META["metrics"]["test"]["abstention_rate"], abs=0.02)
    scored = model.taxonomy_scores(test_texts, embedder.encode(test_texts))
    assert sum(1 for s in scored if not s) / len(test) == pytest.approx(abstained)
