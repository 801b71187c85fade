"""The theme model: fit on the real taxonomy, save/load round trip, discovered themes, version checks."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from triage.config import PROJECT_ROOT
from triage.embed.sentence_transformer import SentenceTransformerEmbedder
from triage.errors import ConfigurationError, ModelMismatch
from triage.themes.analyze import analyze_themes, fit_theme_model
from triage.themes.model import DiscoveredTheme, ThemeModel
from triage.themes.taxonomy import load_taxonomy

pytestmark = pytest.mark.store_free

TAXONOMY = load_taxonomy(PROJECT_ROOT / "models" / "taxonomy.toml")


@pytest.fixture(scope="module")
def model(embedder: SentenceTransformerEmbedder) -> ThemeModel:
    examples = [e for t in TAXONOMY.themes for e in t.examples]
    return fit_theme_model(TAXONOMY, embedder.encode(examples), "minilm", 0.25, 0.25)


@pytest.mark.parametrize(
    ("text", "theme"),
    [
        ("Three weeks to get a laptop, far too slow.", "slow_response"),
        ("The payroll team was condescending and blamed me for their mistake.", "discourtesy"),
        ("They got my overtime wrong again and I had to chase the correction.", "quality_errors"),
        ("Thanks to the IT desk, my new laptop was ready on day one. Brilliant.", "praise"),
    ],
    ids=["slow", "discourtesy", "errors", "praise"],
)
def test_clear_comments_get_their_theme(
    model: ThemeModel, embedder: SentenceTransformerEmbedder, text: str, theme: str
) -> None:
    (themes,) = model.score([text], embedder.encode([text]))
    assert themes[0].id == theme
    assert themes[0].name == TAXONOMY.name_of(theme)
    assert all(t.confidence >= 0.25 for t in themes) and len(themes) <= 3


def test_saved_model_scores_exactly_like_the_fitted_one(
    model: ThemeModel, embedder: SentenceTransformerEmbedder, tmp_path: Path
) -> None:
    texts = ["slow slow slow", "they never told us the office was moving", "asdf qwerty"]
    vectors = embedder.encode(texts)
    centroid = vectors[2] / np.linalg.norm(vectors[2])
    with_new = ThemeModel(
        model.taxonomy,
        model.classifier,
        "minilm",
        0.25,
        0.25,
        [DiscoveredTheme("new_x", "New: x", ["x"], centroid, 0.9)],
    )
    with_new.save(tmp_path / "m")
    loaded = ThemeModel.load(tmp_path / "m", "minilm")
    assert loaded.score(texts, vectors) == with_new.score(texts, vectors)
    assert np.allclose(loaded.classifier.predict_proba(texts, vectors), model.classifier.predict_proba(texts, vectors))
    assert [d.id for d in loaded.discovered] == ["new_x"]


def test_loading_refuses_other_versions_and_models(model: ThemeModel, tmp_path: Path) -> None:
    model.save(tmp_path / "m")
    with pytest.raises(ModelMismatch):
        ThemeModel.load(tmp_path / "m", "another-model")
    meta_path = tmp_path / "m" / "classifier.json"
    meta = json.loads(meta_path.read_text())
    meta["sklearn_version"] = "0.0.1"
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ModelMismatch, match=r"scikit-learn 0\.0\.1"):
        ThemeModel.load(tmp_path / "m", "minilm")


def test_unassigned_comments_form_a_discovered_theme(model: ThemeModel, embedder: SentenceTransformerEmbedder) -> None:
    strict = ThemeModel(model.taxonomy, model.classifier, "minilm", 0.99, 0.99)
    texts = [
        "The canteen coffee machine is broken again.",
        "Coffee machine in the canteen has been broken all week.",
        "Can someone fix the canteen coffee machine?",
        "Broken coffee machine on floor two, canteen.",
        "The coffee machine in our canteen never works.",
        "Our canteen coffee machine is out of order.",
    ]
    analysis = analyze_themes(strict, texts, embedder.encode(texts), min_new_theme_size=5)
    (new,) = analysis.model.discovered
    assert new.id.startswith("new_") and "coffee" in new.name
    assert sum(analysis.primary(i) == new.id for i in range(len(texts))) >= 5
    assert set(analysis.subjects) <= set(analysis.subject_info)


def test_taxonomy_file_errors_are_clear(tmp_path: Path) -> None:
    bad = tmp_path / "t.toml"
    bad.write_text('version = "1"\n[[themes]]\nid = "a"\nname = "A"\ndescription = "d"\nexamples = ["only one"]\n')
    with pytest.raises(ConfigurationError, match="at least 2 example"):
        load_taxonomy(bad)
    bad.write_text("not toml [")
    with pytest.raises(ConfigurationError):
        load_taxonomy(bad)
