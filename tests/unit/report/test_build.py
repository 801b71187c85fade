from typing import Any

import pytest

from triage.report.build import respondent_count, theme_groups
from triage.themes.analyze import ThemeAnalysis
from triage.types import Comment, ThemeScore

pytestmark = pytest.mark.store_free


def _comment(i: int, provider: str, respondent: str | None) -> Comment:
    return Comment(
        id=i,
        dataset_id="d",
        text=f"c{i}",
        text_hash=f"h{i}",
        provider=provider,
        respondent_dept=None,
        cycle=None,
        rating=None,
        respondent_hash=respondent,
    )


def _analysis(themes: list[str | None]) -> ThemeAnalysis:
    scores = [[ThemeScore(id=t, name=t, confidence=0.9)] if t else [] for t in themes]
    model: Any = None  # theme_groups reads only the per-comment themes
    return ThemeAnalysis(model=model, themes=scores, subjects=["s"] * len(themes))


def test_groups_under_the_threshold_are_withheld_by_distinct_respondents() -> None:
    # IT/slow: 5 comments but from 2 people -> withheld; IT/praise: 5 people -> shown; one unassigned.
    comments = [_comment(i, "IT", f"r{i % 2}") for i in range(5)] + [_comment(10 + i, "IT", f"p{i}") for i in range(5)]
    comments.append(_comment(20, "IT", "r9"))
    analysis = _analysis(["slow_response"] * 5 + ["praise"] * 5 + [None])
    groups = {g.theme_id: g for g in theme_groups(comments, analysis, min_respondents=5)}
    assert set(groups) == {"slow_response", "praise"}
    assert (groups["slow_response"].respondents, groups["slow_response"].withheld) == (2, True)
    assert (groups["praise"].respondents, groups["praise"].withheld) == (5, False)


@pytest.mark.parametrize(
    ("respondents", "expected"), [(["a", "a", "b"], 2), ([None, None, "a"], 3)], ids=["repeat", "anonymous"]
)
def test_respondent_count(respondents: list[str | None], expected: int) -> None:
    comments = [_comment(i, "HR", r) for i, r in enumerate(respondents)]
    assert respondent_count(comments, [0, 1, 2]) == expected


def test_subject_cells_under_the_threshold_are_withheld() -> None:
    from triage.report.build import _subject_themes
    from triage.themes.analyze import Subject

    # Subject s1: 6 people say slow, 2 people say rude -> slow shown, rude withheld. Subject s2: 3 people -> hidden.
    comments = [_comment(i, "IT", f"r{i}") for i in range(11)]
    analysis = _analysis(["slow_response"] * 6 + ["discourtesy"] * 2 + ["praise"] * 3)
    analysis.subjects = ["s1"] * 8 + ["s2"] * 3
    analysis.subject_info = {"s1": Subject("s1", "laptops", ["laptops"]), "s2": Subject("s2", "vpn", ["vpn"])}
    (subject,) = _subject_themes(list(range(11)), comments, analysis, min_respondents=5)
    assert (subject.id, subject.count, subject.themes, subject.withheld) == ("s1", 8, {"slow_response": 6}, 2)


@pytest.mark.parametrize(
    ("previous", "last", "expected"),
    [(0, 3, "new"), (4, 0, "gone"), (10, 14, "grown"), (14, 6, "shrunk"), (10, 11, "steady"), (1, 2, "steady")],
    ids=["new", "gone", "grown", "shrunk", "steady", "tiny-change"],
)
def test_trend(previous: int, last: int, expected: str) -> None:
    from triage.report.build import trend

    assert trend(previous, last) == expected


def test_cycle_counts_never_let_a_small_cell_be_recovered() -> None:
    from triage.report.build import ThemeGroup, _cycles

    # Q1: 3 people (under k), Q2: 6 people, Q3: 7 people; showing Q2 and Q3 with the total would reveal Q1.
    comments = [_comment(i, "IT", f"r{i}") for i in range(16)]
    for i, c in enumerate(comments):
        c.cycle = "2026-Q1" if i < 3 else "2026-Q2" if i < 9 else "2026-Q3"
    group = ThemeGroup("IT", "slow_response", list(range(16)), 16, False)
    shown, direction = _cycles(group, comments, ["2026-Q1", "2026-Q2", "2026-Q3"], min_respondents=5)
    assert shown == {"2026-Q1": None, "2026-Q2": None, "2026-Q3": 7}
    assert direction == "steady"
