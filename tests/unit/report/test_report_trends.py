"""Sentiment across cycles in the report: numbers against a hand computation, withheld cycles stay withheld."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from triage.report.build import build_report, theme_groups
from triage.report.html import render_html
from triage.report.render import to_csv, to_markdown
from triage.themes.analyze import Subject, ThemeAnalysis
from triage.themes.model import ThemeModel
from triage.types import Action, Comment, Report, Sentiment, SentimentLabel, Summary, Taxonomy, ThemeDef, ThemeScore

pytestmark = pytest.mark.store_free

N, P, M, U = "negative", "positive", "mixed", "neutral"
# (theme, cycle, respondent, sentiment label and score or None for unknown)
ROWS: list[tuple[str, str, str, tuple[SentimentLabel, float] | None]] = (
    # slow_response, Q1: 6 people; 4 negative -0.8, 1 positive 0.6, 1 neutral 0.0
    [("slow_response", "2026-Q1", f"a{i}", (N, -0.8)) for i in range(4)]
    + [("slow_response", "2026-Q1", "a4", (P, 0.6)), ("slow_response", "2026-Q1", "a5", (U, 0.0))]
    # slow_response, Q2: 5 people; 2 negative -0.5, 1 mixed 0.1, 1 unknown, 1 positive 0.9
    + [("slow_response", "2026-Q2", f"b{i}", (N, -0.5)) for i in range(2)]
    + [("slow_response", "2026-Q2", "b2", (M, 0.1)), ("slow_response", "2026-Q2", "b3", None)]
    + [("slow_response", "2026-Q2", "b4", (P, 0.9))]
    # discourtesy: Q1 5 people all negative -0.6; Q2 only 2 people (under k = 5)
    + [("discourtesy", "2026-Q1", f"c{i}", (N, -0.6)) for i in range(5)]
    + [("discourtesy", "2026-Q2", "d0", (N, -0.2)), ("discourtesy", "2026-Q2", "d1", (P, 0.4))]
)


def _report() -> Report:
    comments = [
        Comment(
            id=i,
            dataset_id="d",
            text=f"comment {i}",
            text_hash=f"h{i}",
            provider="IT",
            respondent_dept=None,
            cycle=cycle,
            rating=None,
            respondent_hash=respondent,
        )
        for i, (_, cycle, respondent, _) in enumerate(ROWS)
    ]
    sentiments = [Sentiment(label=m[0], score=m[1]) if m else None for *_, m in ROWS]
    taxonomy = Taxonomy(
        version="t1",
        themes=[ThemeDef(id=t, name=t.replace("_", " "), description="d") for t in ("slow_response", "discourtesy")],
    )
    classifier: Any = None  # the report reads names and the taxonomy only
    model = ThemeModel(taxonomy, classifier, "minilm", 0.25, 0.1)
    analysis = ThemeAnalysis(
        model=model,
        themes=[[ThemeScore(id=t, name=t, confidence=0.9)] for t, *_ in ROWS],
        subjects=["s"] * len(ROWS),
        subject_info={"s": Subject("s", "laptops", ["laptops"])},
    )
    vectors = np.eye(len(ROWS), 8, dtype=np.float32) + 0.1
    groups = theme_groups(comments, analysis, min_respondents=5)
    summary = Summary(name="x", summary="s.", actions=[Action(text="Do it", evidence=[0])], summarizer="offline")
    return build_report(
        run_id="r",
        dataset_id="d",
        dataset_name="fixture",
        comments=comments,
        vectors=vectors,
        analysis=analysis,
        groups=groups,
        summaries={("IT", g.theme_id): summary.model_copy(update={"name": g.theme_id}) for g in groups},
        min_respondents=5,
        quotes_per_theme=2,
        sentiments=sentiments,
        languages=["en"] * len(ROWS),
    )


@pytest.fixture(scope="module")
def report() -> Report:
    return _report()


def test_theme_sentiment_per_cycle_matches_a_hand_computation(report: Report) -> None:
    (provider,) = report.providers
    slow = next(t for t in provider.themes if t.id == "slow_response")
    q1, q2 = slow.sentiment_cycles["2026-Q1"], slow.sentiment_cycles["2026-Q2"]
    assert q1 is not None and q2 is not None
    # Q1: 4 of 6 negative; mean (4 * -0.8 + 0.6 + 0.0) / 6 = -0.4333
    assert (q1.scored, q1.negative_share, q1.mean_sentiment) == (6, 0.6667, -0.433)
    # Q2: the unknown one is left out: 2 of 4 negative; mean (2 * -0.5 + 0.1 + 0.9) / 4 = 0.0
    assert (q2.scored, q2.negative_share, q2.mean_sentiment) == (4, 0.5, 0.0)


def test_provider_sentiment_per_cycle_matches_a_hand_computation(report: Report) -> None:
    (provider,) = report.providers
    q1, q2 = provider.sentiment_cycles["2026-Q1"], provider.sentiment_cycles["2026-Q2"]
    assert q1 is not None and q2 is not None
    # Q1: 11 comments, 9 negative; mean (4 * -0.8 + 0.6 + 0.0 + 5 * -0.6) / 11 = -0.50909
    assert (q1.scored, q1.negative_share, q1.mean_sentiment) == (11, 0.8182, -0.509)
    # Q2: 6 with a sentiment, 3 negative; mean (-1.0 + 0.1 + 0.9 - 0.2 + 0.4) / 6 = 0.0333
    assert (q2.scored, q2.negative_share, q2.mean_sentiment) == (6, 0.5, 0.033)


def test_withheld_cycles_stay_withheld(report: Report) -> None:
    """Discourtesy in Q2 has 2 people: withheld, and Q1 with it so Q2 cannot be recovered from the total."""
    (provider,) = report.providers
    rude = next(t for t in provider.themes if t.id == "discourtesy")
    assert rude.cycles == {"2026-Q1": None, "2026-Q2": None}
    assert rude.sentiment_cycles == {"2026-Q1": None, "2026-Q2": None}
    md = to_markdown(report)
    row = next(line for line in md.splitlines() if line.startswith("| discourtesy |") and "neg" not in line)
    assert "<k" in row
    assert "| discourtesy | <k | <k |" in md
    csv_row = next(line for line in to_csv(report).splitlines() if line.startswith("IT,discourtesy"))
    assert "-0.6" not in csv_row and csv_row.count("<k") == 6  # two counts, two shares, two means


def test_trends_in_markdown_csv_and_html(report: Report) -> None:
    md = to_markdown(report)
    assert "| all comments | 82% neg, -0.51 | 50% neg, +0.03 |" in md
    assert "| slow_response | 67% neg, -0.43 | 50% neg, +0.00 |" in md
    lines = to_csv(report).splitlines()
    header = lines[0].split(",")
    slow = next(line for line in lines if line.startswith("IT,slow_response")).split(",")
    assert slow[header.index("negative_share_2026-Q1")] == "0.6667"
    assert slow[header.index("mean_sentiment_2026-Q2")] == "0.0"
    page = render_html(report, evidence={})
    assert "Sentiment across cycles" in page
    assert "67% negative · -0.43" in page and "82% negative · -0.51" in page
    rude_row = page.split('<th scope="row">discourtesy</th>')[-1].split("</tr>")[0]
    assert rude_row.count("—") == 2 and "negative" not in rude_row
