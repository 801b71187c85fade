"""The whole batch job on the example survey with real components."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLE_LABELS, make_settings
from triage import pipeline
from triage.config import ThemeSettings
from triage.embed.sentence_transformer import SentenceTransformerEmbedder
from triage.pipeline.services import theme_examples


def test_themes_match_the_gold_labels(analysed: Any) -> None:
    services, dataset_id, _ = analysed
    comments = services.sql.comments(dataset_id)
    gold = [json.loads(line) for line in EXAMPLE_LABELS.read_text().splitlines()]
    assert len(comments) == len(gold) == 360
    primary = [(services.sql.comment_labels(c.id) or ["unassigned"])[0] for c in comments]
    correct = sum(p == g["themes"][0] for p, g in zip(primary, gold, strict=True))
    unassigned = primary.count("unassigned")
    # Measured 0.767 (276/360), 23 unassigned (`python -m evals example-survey`); below 0.65 the model broke.
    assert correct / len(gold) >= 0.65, (correct, unassigned)
    assert unassigned / len(gold) <= 0.15


def test_report_respects_the_threshold_and_cites_real_evidence(analysed: Any) -> None:
    services, dataset_id, run_id = analysed
    report = pipeline.get_report(services, run_id)
    by_id = {c.id: c for c in services.sql.comments(dataset_id)}
    assert {p.provider for p in report.providers} == {"IT", "HR", "Finance", "Procurement", "Legal", "Payroll"}
    assert sum(p.withheld.count for p in report.providers) > 0
    assert report.cycles == ["2026-Q1", "2026-Q2"]
    assert {t.trend for p in report.providers for t in p.themes} >= {"grown", "shrunk"}
    for provider in report.providers:
        assert provider.comments == 60
        for theme in provider.themes:
            assert theme.respondents >= report.min_respondents
            assert 0 < theme.share <= 1 and 1 <= len(theme.actions) <= 3
            assert theme.summarizer == "offline" and theme.summary and theme.name
            assert theme.negative_share is not None and theme.mean_sentiment is not None
            assert theme.dropped_actions == 0
            assert len(theme.quote_languages) == len(theme.quotes)
            if theme.id == "praise":
                assert theme.mean_sentiment > 0
            elif theme.mean_rating is not None and theme.mean_rating < 2.0:
                # Clearly low-rated themes read negative; near 2.5 a group of 5 questions ("Is there an SLA?")
                # can be rated 2.4 and read mostly neutral (HR unclear_expectations with the CV-chosen model).
                assert theme.negative_share >= 0.5
            for action in theme.actions:
                for comment_id in action.evidence:
                    assert by_id[comment_id].provider == provider.provider
                    assert services.sql.comment_labels(comment_id)[0] == theme.id
            for quote in theme.quotes:
                assert "@" not in quote
    assert report.usage is not None and report.usage.summarizer == "offline"
    assert report.usage.llm_calls == 0 and report.usage.seconds >= report.usage.embed_seconds > 0


def test_rerun_is_stable_and_embeds_nothing_new(analysed: Any) -> None:
    services, dataset_id, run_id = analysed
    stored = services.vectors.count()
    again = pipeline.start_run(services, dataset_id)
    asyncio.run(pipeline.analyze(services, again))
    assert services.vectors.count() == stored
    first, second = pipeline.get_report(services, run_id), pipeline.get_report(services, again)
    assert [[(t.id, t.count) for t in p.themes] for p in first.providers] == [
        [(t.id, t.count) for t in p.themes] for p in second.providers
    ]


def test_ingesting_the_same_file_again_adds_nothing(analysed: Any) -> None:
    services, dataset_id, _ = analysed
    from tests.conftest import EXAMPLE_SURVEY

    report = pipeline.ingest_bytes(services, EXAMPLE_SURVEY.read_bytes(), "survey.csv", name="example")
    assert (report.id, report.accepted, report.duplicates) == (dataset_id, 0, 360)


def test_stored_progress_is_written_per_stage_while_the_callback_sees_every_step(
    analysed: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each stored progress is a committed transaction: within a stage at most one a second (here: none)."""
    from triage.pipeline import analysis

    services, dataset_id, _ = analysed
    monkeypatch.setattr(analysis, "PROGRESS_WRITE_INTERVAL_S", 3600.0)
    stored: list[tuple[float, str]] = []
    update_run = services.sql.update_run

    def counting_update_run(run_id: str, **fields: Any) -> None:
        if "progress" in fields:
            stored.append((fields["progress"], fields["stage"]))
        update_run(run_id, **fields)

    monkeypatch.setattr(services.sql, "update_run", counting_update_run)
    seen: list[tuple[float, str]] = []
    run_id = pipeline.start_run(services, dataset_id)
    asyncio.run(pipeline.analyze(services, run_id, on_progress=lambda value, stage: seen.append((value, stage))))

    assert stored == [(0.02, "embedding"), (0.5, "themes"), (0.7, "summaries"), (1.0, "done")]
    assert len([s for s in seen if s[1] == "summaries"]) > 2 and seen[-1] == (1.0, "done")
    assert [v for v, _ in seen] == sorted(v for v, _ in seen)
    status = services.sql.run(run_id)
    assert status is not None and (status.status, status.progress, status.stage) == ("succeeded", 1.0, "done")


def test_base_model_is_fitted_once_per_process_and_again_for_new_examples(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    """Two data dirs with the same examples share one fit, each with its own thresholds; an added example refits."""
    first = pipeline.open_services(make_settings(tmp_path / "a"), embedder=embedder)
    stricter = pipeline.open_services(
        make_settings(tmp_path / "b", themes=ThemeSettings(min_confidence=0.9)), embedder=embedder
    )
    try:
        shared, strict = pipeline.base_theme_model(first), pipeline.base_theme_model(stricter)
        assert strict.classifier is shared.classifier
        assert (shared.min_confidence, strict.min_confidence) == (ThemeSettings().min_confidence, 0.9)
        theme_examples(stricter).add("The onboarding checklist never arrived before my first day.", "slow_response")
        refitted = pipeline.base_theme_model(stricter)
        assert refitted.classifier is not shared.classifier
        assert pipeline.base_theme_model(first).classifier is shared.classifier
    finally:
        first.close()
        stricter.close()
