"""The urgency head's artifact (arrays + JSON, refused when it does not match), its fast scoring path, and the
choice of threshold and candidate in triage.assess.training."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from triage.assess import Prototypes, UrgencyHead
from triage.assess import training as tr
from triage.assess.head import N_FEATURES, design, ngram_scores, ngrams
from triage.config import PROJECT_ROOT
from triage.errors import ConfigurationError, InvalidInput, ModelMismatch

pytestmark = pytest.mark.store_free

MODEL_DIR = PROJECT_ROOT / "models" / "urgency"
TEXTS = [
    "he threatened to stab me",
    "the laptop is slow",
    "someone pushed me down the stairs",
    "slow payroll",
    "she said she wants to end her life",
    "the caf\u00e9\u2019s coffee is cold",
] * 3
URGENT = np.asarray([True, False, True, False, True, False] * 3)
CATEGORIES = ["threats", None, "threats", None, "self_harm", None] * 3


def _prototypes(rng: np.random.Generator) -> Prototypes:
    sentences = {"threats": ["a threat", "a weapon"], "self_harm": ["wants to die"], "ordinary": ["slow laptop"]}
    return Prototypes.build(sentences, rng.normal(size=(4, 384)))


@pytest.fixture
def fitted() -> tuple[UrgencyHead, np.ndarray]:
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(len(TEXTS), 384)).astype(np.float32)
    candidate = tr.Candidate("minilm+prototypes+ngrams", 1.0)
    head = tr.fit_head(candidate, TEXTS, URGENT, CATEGORIES, vectors, _prototypes(rng), 0.5, {"embed_model": "x"}, 0.9)
    return head, vectors


def _saved(tmp_path: Path) -> Path:
    directory = tmp_path / "urgency"
    directory.mkdir()
    for name in ("head.json", "head.npz"):
        shutil.copy(MODEL_DIR / name, directory / name)
    return directory


def _edit_meta(directory: Path, **changes: object) -> None:
    meta = json.loads((directory / "head.json").read_text(encoding="utf-8"))
    meta.update(changes)
    (directory / "head.json").write_text(json.dumps(meta), encoding="utf-8")


def test_roundtrip_gives_the_same_probabilities(tmp_path: Path, fitted: tuple[UrgencyHead, np.ndarray]) -> None:
    head, vectors = fitted
    head.save(tmp_path)
    loaded = UrgencyHead.load(tmp_path)
    assert np.allclose(loaded.probability(TEXTS, vectors), head.probability(TEXTS, vectors))
    assert np.allclose(loaded.category_probabilities(vectors), head.category_probabilities(vectors))
    assert loaded.threshold_for("en") == 0.5 and loaded.threshold_for("pt") == 0.9
    meta = json.loads((tmp_path / "head.json").read_text(encoding="utf-8"))
    assert len(meta["data_sha256"]) == 16 and meta["sklearn_version"]
    with np.load(tmp_path / "head.npz", allow_pickle=False) as arrays:
        assert all(arrays[k].dtype != object for k in arrays.files)


def test_fast_scoring_equals_the_sparse_matrix(fitted: tuple[UrgencyHead, np.ndarray]) -> None:
    head, vectors = fitted
    x = design(head.features, TEXTS, vectors, head.prototypes, head.embedding_scale)
    expected = 1 / (1 + np.exp(-(x @ head.coef + head.intercept)))
    assert np.allclose(head.probability(TEXTS, vectors), expected, atol=1e-12)
    coef = np.random.default_rng(2).normal(size=2 * N_FEATURES)
    assert np.allclose(ngram_scores(TEXTS, coef), ngrams(TEXTS) @ coef, atol=1e-12)


def test_head_needs_vectors(fitted: tuple[UrgencyHead, np.ndarray]) -> None:
    head, _ = fitted
    with pytest.raises(InvalidInput, match="pass their vectors"):
        head.probability(TEXTS)
    with pytest.raises(ConfigurationError, match="unknown urgency feature set"):
        design("words", TEXTS, None, None)


def test_shipped_head_from_another_sklearn_is_refused(tmp_path: Path) -> None:
    directory = _saved(tmp_path)
    _edit_meta(directory, sklearn_version="0.1")
    with pytest.raises(ModelMismatch, match=r"scikit-learn 0\.1"):
        UrgencyHead.load(directory)


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        ({"format": 1}, ModelMismatch, "another format"),
        ({"features": "words"}, ModelMismatch, "unknown features"),
        ({"arrays_sha256": "0" * 16}, ModelMismatch, "do not match"),
        ({"n_coef": "x"}, ConfigurationError, "malformed"),
    ],
    ids=["format", "features", "arrays-hash", "malformed"],
)
def test_shipped_head_that_does_not_match_is_refused(
    tmp_path: Path, changes: dict[str, object], error: type[Exception], message: str
) -> None:
    directory = _saved(tmp_path)
    _edit_meta(directory, **changes)
    with pytest.raises(error, match=message):
        UrgencyHead.load(directory)


def test_missing_arrays(tmp_path: Path) -> None:
    directory = _saved(tmp_path)
    (directory / "head.npz").unlink()
    with pytest.raises(ConfigurationError, match="cannot read urgency head arrays"):
        UrgencyHead.load(directory)


def test_shipped_head_records_its_provenance() -> None:
    meta = json.loads((MODEL_DIR / "head.json").read_text(encoding="utf-8"))
    for key in ("data_sha256", "sklearn_version", "licence", "dev_out_of_fold_english", "held_out_metrics"):
        assert meta[key], key
    assert meta["threshold"] < meta["other_language_threshold"]
    assert meta["held_out_metrics"]["test"]["recall"] >= 0.95


def test_prototype_file_is_validated(tmp_path: Path) -> None:
    sentences = Prototypes.read(MODEL_DIR / "prototypes.toml")
    assert {"harassment", "self_harm", "ordinary"} <= set(sentences)
    bad = tmp_path / "p.toml"
    bad.write_text("format = 1\n[categories]\nthreats = []\n", encoding="utf-8")
    with pytest.raises(ConfigurationError, match="threats need a non-empty list"):
        Prototypes.read(bad)
    with pytest.raises(InvalidInput, match="2 prototype sentences but 3 vectors"):
        Prototypes.build({"threats": ["a", "b"]}, np.zeros((3, 4)))


def test_prototype_similarity_is_the_best_match_per_category() -> None:
    protos = Prototypes.build({"a": ["x", "y"], "b": ["z"]}, np.eye(3))
    sims = protos.similarities(np.asarray([[0.0, 2.0, 0.0], [0.0, 0.0, 1.0]]))
    assert np.allclose(sims, [[1.0, 0.0], [0.0, 1.0]])


def test_threshold_for_recall_and_precision() -> None:
    p = np.asarray([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05])
    y = np.asarray([True, True, False, True, False, True, False, False, True, False])
    assert tr.threshold_for_recall(p, y, 0.6) == 0.6  # 3 of 5 urgent at >= 0.6
    assert tr.threshold_for_recall(p, y, 1.0) == 0.1
    assert tr.threshold_for_precision(p, y, 0.75) == 0.6  # 3 of 4 flagged are urgent
    assert tr.threshold_for_precision(p, np.zeros(10, dtype=bool), 0.5) > 1.0
    with pytest.raises(ConfigurationError, match="no urgent rows"):
        tr.threshold_for_recall(p, np.zeros(10, dtype=bool))


def test_select_prefers_the_candidate_that_separates_the_classes() -> None:
    rng = np.random.default_rng(3)
    n = 60
    y = np.arange(n) % 3 == 0
    vectors = rng.normal(size=(n, 384))
    vectors[y, 0] += 6.0  # the embedding carries the label; the texts do not
    texts = [f"comment number {i}" for i in range(n)]
    strata = ["u" if u else "n" for u in y]
    candidates = [tr.Candidate("ngrams", 1.0), tr.Candidate("minilm", 1.0)]
    best, rows = tr.select(texts, y, strata, vectors, _prototypes(rng), candidates=candidates)
    assert best["candidate"].features == "minilm"
    assert best["recall"] >= tr.TARGET_RECALL and best["precision"] > rows[-1]["precision"]


def test_urgent_level_is_the_highest_recall_point_at_its_precision() -> None:
    p = np.asarray([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05])
    y = np.asarray([True, True, False, True, False, True, False, False, True, False])
    english = np.asarray([True] * 6 + [False] * 4)
    level = tr.urgent_level(p, y, english, review_other=0.15)
    # English rows: 0.9 0.8 (urgent) 0.7 (not) 0.6 (urgent): precision 0.75 at 0.6, 1.0 at 0.8 -> 0.8 for 0.85.
    assert level["urgent_threshold"] == 0.8
    assert level["dev_out_of_fold_urgent_english"] == {"threshold": 0.8, "precision": 1.0, "recall": 0.5, "flagged": 2}
    # Other rows 0.3 0.2 0.1 (urgent) 0.05: precision 1/3 at best, so the head never says "urgent" there alone.
    assert level["urgent_other_language_threshold"] > 1.0
    y[6] = True  # now 0.3 (urgent) reaches precision 1.0; the other languages' review threshold is a floor
    assert tr.urgent_level(p, y, english, review_other=0.15)["urgent_other_language_threshold"] == 0.3
    assert tr.urgent_level(p, y, english, review_other=0.5)["urgent_other_language_threshold"] == 0.5


def test_urgent_level_threshold_is_never_below_review(tmp_path: Path, fitted: tuple[UrgencyHead, np.ndarray]) -> None:
    head, _ = fitted
    head.save(tmp_path)
    assert UrgencyHead.load(tmp_path).urgent_threshold_for("en") == 0.5  # saved without a level: one level
    _edit_meta(tmp_path, urgent_threshold=0.8, urgent_other_language_threshold=0.3)
    meta = json.loads((tmp_path / "head.json").read_text(encoding="utf-8"))
    loaded = UrgencyHead(head.coef, head.intercept, head.categories, head.category_coef,
                         head.category_intercept, head.prototypes, meta)  # fmt: skip
    assert loaded.urgent_threshold_for("en") == loaded.urgent_threshold_for("und") == 0.8
    assert loaded.urgent_threshold_for("pt") == 0.9  # the review threshold for other languages is higher


def test_shipped_head_has_a_stricter_urgent_level() -> None:
    head = UrgencyHead.load(MODEL_DIR)
    assert head.threshold_for("en") < head.urgent_threshold_for("en") < 1.0
    out_of_fold = head.meta["dev_out_of_fold_urgent_english"]
    assert out_of_fold["precision"] >= tr.URGENT_PRECISION == head.meta["urgent_precision_target"]
