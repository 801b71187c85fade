"""The urgency detector: every category found, figures of speech and ordinary complaints left alone,
clear errors for broken rule files, heads and inputs."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from triage.assess import CATEGORIES, UrgencyDetector, UrgencyHead, UrgencyRules
from triage.config import PROJECT_ROOT
from triage.embed.sentence_transformer import SentenceTransformerEmbedder
from triage.errors import ConfigurationError, InvalidInput, ModelMismatch

MODEL_DIR = PROJECT_ROOT / "models" / "urgency"

# Written for these tests, not copied from evals/datasets/urgent.
URGENT = [
    ("My supervisor keeps rubbing up against me at the printer and laughs when I ask him to stop.", "harassment"),
    (
        "I was told the promotion went to a man because women 'get too emotional' in client meetings; "
        "my manager's words were that I'm too female for the role.",
        "discrimination",
    ),
    ("A driver said he would bring a knife tomorrow and deal with the dispatcher himself.", "threats"),
    ("The emergency exit in the basement is locked with a chain every night while the cleaners are inside.", "safety"),
    ("My boss asked me to create fake invoices from a supplier that does not exist.", "fraud"),
    ("The spreadsheet with everyone's home addresses and salaries was emailed to an external supplier.", "data_breach"),
    ("I don't want to live anymore and I've been thinking about how to kill myself.", "self_harm"),
]
NOT_URGENT = [
    "This deadline is killing me.",
    "The VPN is a disaster.",
    "I'll kill for a working laptop.",
    "Our budget got murdered this year.",
    "Security training was boring.",
    "Expense approvals are fraudulently slow lol.",
    "The helpdesk reply was rude and curt, and they closed my ticket without reading it.",
    "The safety shoes arrived late.",
    "Nobody has ever harassed me here; the team is lovely.",
    "Payroll got my overtime wrong again.",
    "Thank you Payroll for sorting out my backdated raise so quickly.",
]


@pytest.fixture(scope="module")
def detector() -> UrgencyDetector:
    return UrgencyDetector.load(MODEL_DIR, "minilm")


def _rules_raw() -> dict[str, Any]:
    return tomllib.loads((MODEL_DIR / "rules.toml").read_text(encoding="utf-8"))


@pytest.mark.parametrize(("text", "category"), URGENT, ids=[c for _, c in URGENT])
def test_each_category_is_detected(
    detector: UrgencyDetector, embedder: SentenceTransformerEmbedder, text: str, category: str
) -> None:
    [found] = detector.assess([text], embedder.encode([text]))
    assert found.urgent
    assert found.category == category
    assert found.score >= detector.threshold
    assert any(cue.startswith("rules:") or cue == "model" for cue in found.cues)


@pytest.mark.parametrize("text", NOT_URGENT, ids=range(len(NOT_URGENT)))
def test_hard_negatives_are_not_flagged(
    detector: UrgencyDetector, embedder: SentenceTransformerEmbedder, text: str
) -> None:
    [found] = detector.assess([text], embedder.encode([text]))
    assert not found.urgent, found
    assert found.category is None
    assert found.score < detector.threshold


def test_batch_keeps_order_and_empty_input(detector: UrgencyDetector, embedder: SentenceTransformerEmbedder) -> None:
    texts = [NOT_URGENT[0], URGENT[-1][0], NOT_URGENT[1]]
    assert [u.urgent for u in detector.assess(texts, embedder.encode(texts))] == [False, True, False]
    assert detector.assess([], np.zeros((0, 384), dtype=np.float32)) == []


def test_threshold_above_one_means_rules_only(embedder: SentenceTransformerEmbedder) -> None:
    rules_only = UrgencyDetector.load(MODEL_DIR, "minilm", threshold=1.01)
    text = "I keep thinking everyone would be better off if I wasn't here."
    [found] = rules_only.assess([text], embedder.encode([text]))
    assert found.cues == ["rules:self_harm"]


def test_hyperbole_is_blanked_and_negation_guards() -> None:
    rules = UrgencyRules.load(MODEL_DIR / "rules.toml")
    assert "killing me" not in rules.clean("This deadline is killing me")
    assert rules.match("I've never been harassed at work.") == []
    assert rules.match("I have been harassed at work for months.") == ["harassment"]


def test_every_category_has_rules() -> None:
    rules = UrgencyRules.load(MODEL_DIR / "rules.toml")
    assert set(rules.categories) == set(CATEGORIES)


def test_rules_file_problems_are_all_listed() -> None:
    raw = _rules_raw()
    raw["categories"]["fraud"]["patterns"] = ["(unclosed", "fine"]
    raw["categories"]["bogus"] = {"patterns": ["x"]}
    del raw["categories"]["safety"]
    raw["categories"]["threats"]["typo"] = []
    with pytest.raises(ConfigurationError) as err:
        UrgencyRules.from_dict(raw, "rules.toml")
    detail = err.value.detail
    assert "categories.fraud.patterns[0]: bad regular expression" in detail
    assert "unknown bogus" in detail
    assert "missing safety" in detail
    assert "categories.threats: unknown keys typo" in detail


def test_unreadable_rules_file(tmp_path: Path) -> None:
    bad = tmp_path / "rules.toml"
    bad.write_text("format = [", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="cannot read urgency rules"):
        UrgencyRules.load(bad)
    with pytest.raises(ConfigurationError, match="format: expected 1"):
        UrgencyRules.from_dict({**_rules_raw(), "format": 2})


def _copy_models(tmp_path: Path, **head_changes: Any) -> Path:
    directory = tmp_path / "urgency"
    directory.mkdir(parents=True)
    (directory / "rules.toml").write_text((MODEL_DIR / "rules.toml").read_text(encoding="utf-8"), encoding="utf-8")
    head = json.loads((MODEL_DIR / "head.json").read_text(encoding="utf-8"))
    head.update(head_changes)
    (directory / "head.json").write_text(json.dumps(head), encoding="utf-8")
    return directory


def test_missing_directory_and_head(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="does not exist"):
        UrgencyDetector.load(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigurationError, match="cannot read urgency head"):
        UrgencyDetector.load(tmp_path / "empty")


def test_head_from_other_sklearn_or_model_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelMismatch, match=r"scikit-learn 0\.1"):
        UrgencyDetector.load(_copy_models(tmp_path / "a", sklearn_version="0.1"))
    with pytest.raises(ModelMismatch, match="'minilm' vectors, the embedder is 'other'"):
        UrgencyDetector.load(_copy_models(tmp_path / "b"), "other")
    with pytest.raises(ConfigurationError, match="malformed"):
        UrgencyDetector.load(_copy_models(tmp_path / "c", coef_value="x"))


def test_bad_inputs(detector: UrgencyDetector) -> None:
    with pytest.raises(InvalidInput, match="2 texts but 1 vectors"):
        detector.assess(["a", "b"], np.zeros((1, 384), dtype=np.float32))
    with pytest.raises(ModelMismatch, match="384-dimensional"):
        detector.assess(["a"], np.zeros((1, 768), dtype=np.float32))


def test_head_roundtrip(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    texts = ["he threatened to stab me", "the laptop is slow", "someone pushed me down the stairs", "slow payroll"] * 3
    urgent = [True, False, True, False] * 3
    categories = ["threats", None, "threats", None] * 3
    categories[6] = "safety"
    vectors = rng.normal(size=(len(texts), 384)).astype(np.float32)
    head = UrgencyHead.fit(texts, urgent, vectors, categories, 1.0, 1.0, 0.5, "minilm")  # type: ignore[arg-type]
    head.save(tmp_path / "head.json")
    loaded = UrgencyHead.load(tmp_path / "head.json")
    assert np.allclose(loaded.probability(texts), head.probability(texts), atol=1e-4)
    assert np.allclose(loaded.category_probabilities(vectors), head.category_probabilities(vectors), atol=1e-4)
    assert loaded.probability(["he threatened to stab me"])[0] > loaded.probability(["the laptop is slow"])[0]


def test_head_on_embeddings_and_ngrams_needs_vectors(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    texts = ["he threatened to stab me", "the laptop is slow", "she said she wants to end her life", "slow payroll"]
    vectors = rng.normal(size=(len(texts), 384)).astype(np.float32)
    categories = ["threats", None, "self_harm", None]
    head = UrgencyHead.fit(
        texts,
        [True, False, True, False],
        vectors,
        categories,  # type: ignore[arg-type]
        1.0,
        1.0,
        0.5,
        "minilm",
        features="minilm+ngrams",
    )
    head.save(tmp_path / "head.json")
    loaded = UrgencyHead.load(tmp_path / "head.json")
    assert loaded.features == "minilm+ngrams"
    assert np.allclose(loaded.probability(texts, vectors), head.probability(texts, vectors), atol=1e-4)
    with pytest.raises(InvalidInput, match="pass their vectors"):
        loaded.probability(texts)
    with pytest.raises(ConfigurationError, match="unknown urgency feature set"):
        UrgencyHead.fit(texts, [True, False, True, False], vectors, categories, 1.0, 1.0, 0.5, "minilm", "words")  # type: ignore[arg-type]
