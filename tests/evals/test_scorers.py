"""Scorers on hand-computed cases."""

from __future__ import annotations

import pytest

from evals.scorers import (
    ABSTAIN,
    abstention_rate,
    accuracy,
    accuracy_any_gold,
    accuracy_of_answered,
    ari,
    higher_is_better,
    in_scope_accuracy,
    macro_f1,
    matched_accuracy,
    nmi,
    oos_recall,
)

pytestmark = pytest.mark.store_free


@pytest.mark.parametrize(
    ("gold", "predicted", "expected"),
    [
        (["a", "a", "b", "b"], [1, 1, 0, 0], 1.0),  # renamed clusters are still perfect
        (["a", "a", "b", "b"], [0, 0, 0, 1], 0.75),  # 0->a (2 right), 1->b (1 right)
        (["a", "a", "a", "a"], [0, 1, 2, 3], 0.25),  # only one cluster can map to "a"
        (["a", "b", "c", "d"], [0, 0, 0, 0], 0.25),  # one cluster, one label matched
        (["a", "a", "b", "b", "c", "c"], [0, 1, 1, 2, 2, 0], 0.5),  # a 3-cycle: each cluster matches one item
    ],
    ids=["permuted", "one-wrong", "over-split", "under-split", "cycle"],
)
def test_matched_accuracy(gold: list[str], predicted: list[int], expected: float) -> None:
    assert matched_accuracy(gold, predicted) == pytest.approx(expected)


def test_nmi_and_ari_perfect_and_independent() -> None:
    assert nmi(["a", "a", "b", "b"], [7, 7, 3, 3]) == pytest.approx(1.0)
    assert ari(["a", "a", "b", "b"], [7, 7, 3, 3]) == pytest.approx(1.0)
    # Each cluster holds one of each label: no information.
    assert nmi(["a", "b", "a", "b"], [0, 0, 1, 1]) == pytest.approx(0.0, abs=1e-12)
    assert ari(["a", "b", "a", "b"], [0, 0, 1, 1]) == pytest.approx(-0.5)


def test_assignment_scorers() -> None:
    gold = ["x", "x", "y", "oos"]
    predicted = ["x", ABSTAIN, "x", ABSTAIN]
    assert accuracy(gold, predicted) == pytest.approx(0.25)
    assert abstention_rate(predicted) == pytest.approx(0.5)
    assert accuracy_of_answered(gold, predicted) == pytest.approx(0.5)
    assert oos_recall(gold, predicted) == pytest.approx(1.0)
    assert in_scope_accuracy(gold, predicted) == pytest.approx(1 / 3)


def test_macro_f1_counts_abstention_as_a_miss() -> None:
    # x: precision 1/2, recall 1/2 -> F1 0.5; y: precision 0 (none predicted) -> 0. Mean 0.25.
    assert macro_f1(["x", "x", "y"], ["x", ABSTAIN, "x"]) == pytest.approx(0.25)
    assert macro_f1(["x", "y"], ["x", "y"]) == pytest.approx(1.0)


def test_accuracy_any_gold() -> None:
    assert accuracy_any_gold([["a", "b"], ["c"], ["d"]], ["b", "c", "a"]) == pytest.approx(2 / 3)


def test_empty_inputs_score_zero() -> None:
    assert matched_accuracy([], []) == 0.0
    assert accuracy([], []) == 0.0
    assert oos_recall(["x"], ["x"]) == 0.0  # no oos items at all


@pytest.mark.parametrize(
    ("metric", "higher"),
    [("acc", True), ("nmi_mean", True), ("acc_std", False), ("abstention_rate", False), ("unknown", True)],
    ids=["acc", "mean", "std", "abstention", "unknown"],
)
def test_direction(metric: str, higher: bool) -> None:
    assert higher_is_better(metric) is higher
