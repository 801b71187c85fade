"""The urgent eval: its datasets are well formed, the shipped head was fitted on dev (and extra negatives) only,
and the shipped detector still meets its targets on the held-out test split and its guard on the probe."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from evals.suites import urgent as suite
from triage.assess import CATEGORIES, UrgencyDetector
from triage.assess.head import data_hash
from triage.embed.sentence_transformer import SentenceTransformerEmbedder

pytestmark = pytest.mark.store_free

FIELDS = {"id", "text", "urgent", "category", "hard_negative", "split", "lang", "batch"}


@pytest.fixture(scope="module")
def labelled() -> list[dict[str, object]]:
    return suite.load(suite.DATA)


@pytest.fixture(scope="module")
def probe() -> list[dict[str, object]]:
    return suite.load(suite.PROBE)


@pytest.fixture(scope="module")
def detector() -> UrgencyDetector:
    return UrgencyDetector.load(suite.MODEL_DIR, suite.EMBED_MODEL)


@pytest.mark.parametrize("name", ["labelled", "probe"])
def test_rows_are_well_formed(name: str, request: pytest.FixtureRequest) -> None:
    rows = request.getfixturevalue(name)
    assert all(set(r) == FIELDS for r in rows)
    assert len({r["id"] for r in rows}) == len(rows)
    assert len({r["text"] for r in rows}) == len(rows)
    for r in rows:
        assert (r["category"] in CATEGORIES) if r["urgent"] else (r["category"] is None), r["id"]
        assert not (r["urgent"] and r["hard_negative"]), r["id"]
        assert r["lang"] in ("en", "es", "de", "fr", "pt"), r["id"]


def test_sizes_and_splits(labelled: list[dict[str, object]], probe: list[dict[str, object]]) -> None:
    urgent = Counter(r["split"] for r in labelled if r["urgent"])
    calm = Counter(r["split"] for r in labelled if not r["urgent"])
    assert sum(urgent.values()) >= 60 and sum(calm.values()) >= 300
    assert set(urgent) == set(calm) == {"dev", "test"}
    assert urgent["test"] >= 60
    assert {r["category"] for r in labelled if r["urgent"] and r["split"] == "test"} == set(CATEGORIES)
    assert sum(1 for r in probe if r["urgent"]) >= 40 and sum(1 for r in probe if r["hard_negative"]) >= 40
    assert {r["split"] for r in probe} == {"probe"}
    assert not {r["text"] for r in probe} & {r["text"] for r in labelled}


def test_shipped_head_was_fitted_on_dev_and_extra_negatives_only(
    detector: UrgencyDetector, labelled: list[dict[str, object]]
) -> None:
    rows = [r for r in labelled if r["split"] == "dev"] + suite.extra_negatives()
    labels = [f"{r['urgent']}:{r['category']}" for r in rows]
    assert detector.head.meta["data_sha256"] == data_hash([str(r["text"]) for r in rows], labels)
    assert detector.head.meta["trained_on"] == len(rows)


def test_scores_counts_per_category_and_language() -> None:
    rows = [
        {"id": "a", "urgent": True, "category": "fraud", "hard_negative": False, "lang": "en"},
        {"id": "b", "urgent": True, "category": "fraud", "hard_negative": False, "lang": "de"},
        {"id": "c", "urgent": False, "category": None, "hard_negative": True, "lang": "en"},
        {"id": "d", "urgent": False, "category": None, "hard_negative": False, "lang": "en"},
    ]
    s = suite.scores(rows, [True, False, True, False], ["fraud", None, "threats", None])
    assert (s["precision"], s["recall"], s["hard_negatives_flagged"]) == (0.5, 0.5, "1/1")
    assert s["per_category"]["fraud"] == {"n": 2, "recall": 0.5, "category_right": 1, "precision": 1.0}
    assert s["per_language"]["de"]["recall"] == 0.0 and s["per_language"]["en"]["false_alarms"] == 1
    assert s["false_negatives"] == ["b"] and s["false_positives"] == ["c"]


@pytest.mark.parametrize(
    ("split", "min_recall", "min_precision"),
    [("test", 0.95, 0.70), ("probe", 0.80, 0.60)],
    ids=["test-targets", "probe-guard"],
)
def test_shipped_detector_on_held_out_comments(
    detector: UrgencyDetector,
    embedder: SentenceTransformerEmbedder,
    labelled: list[dict[str, object]],
    probe: list[dict[str, object]],
    split: str,
    min_recall: float,
    min_precision: float,
) -> None:
    """The queue (urgent + review). Test: the issue's targets. Probe (written after the head was frozen): measured
    R 0.857, P 0.667."""
    rows = [r for r in labelled if r["split"] == split] if split == "test" else probe
    texts = [str(r["text"]) for r in rows]
    found = detector.assess(texts, embedder.encode(texts))
    s = suite.scores(rows, np.asarray([u.urgent for u in found]), [u.category for u in found])
    assert s["recall"] >= min_recall, s["false_negatives"]
    assert s["precision"] >= min_precision, s["false_positives"]


@pytest.mark.parametrize(
    ("split", "min_recall", "min_precision"),
    [("test", 0.78, 0.88), ("probe", 0.38, 0.70)],
    ids=["test", "probe-guard"],
)
def test_urgent_level_on_held_out_comments(
    detector: UrgencyDetector,
    embedder: SentenceTransformerEmbedder,
    labelled: list[dict[str, object]],
    probe: list[dict[str, object]],
    split: str,
    min_recall: float,
    min_precision: float,
) -> None:
    """The "urgent" level alone (escalate now). Measured: test P 0.940 / R 0.818, probe P 0.778 / R 0.429 (its
    threshold was chosen on dev for out-of-fold precision 0.85); the bounds leave a small margin."""
    rows = [r for r in labelled if r["split"] == split] if split == "test" else probe
    texts = [str(r["text"]) for r in rows]
    found = detector.assess(texts, embedder.encode(texts))
    s = suite.scores(rows, np.asarray([u.level == "urgent" for u in found]), [u.category for u in found])
    assert s["recall"] >= min_recall, s["false_negatives"]
    assert s["precision"] >= min_precision, s["false_positives"]
    assert all(u.urgent for u in found if u.level == "urgent")


def test_flag_rates_per_level() -> None:
    result = {
        "other_sets": {"internal_feedback test": {"n": 200, "flagged": 30, "urgent_level": 2}},
        "methods": {
            suite.URGENT_LEVEL: {"example survey": {"n": 10, "urgent": 2, "false_positives": ["a"]}},
            suite.PRODUCT: {"example survey": {"n": 10, "urgent": 2, "false_positives": ["a", "b", "c", "d"]}},
        },
    }
    rates = suite.flag_rates(result)
    assert rates["example survey"] == {
        "ordinary": 8, "urgent_level": 1, "queue": 4, "urgent_rate": 0.125, "queue_rate": 0.5
    }  # fmt: skip
    feedback = rates["internal_feedback test"]
    assert (feedback["urgent_rate"], feedback["queue_rate"]) == (0.01, 0.15)
