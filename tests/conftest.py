"""Shared fixtures: the real embedding model (loaded once), stores in temp dirs, API keys."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from triage import pipeline
from triage.config import PROJECT_ROOT, Settings
from triage.embed.manifest import load_model_entry
from triage.embed.sentence_transformer import SentenceTransformerEmbedder

EXAMPLE_SURVEY = PROJECT_ROOT / "examples" / "survey.csv"
EXAMPLE_LABELS = PROJECT_ROOT / "evals" / "datasets" / "example_survey" / "labels.jsonl"


@pytest.fixture(scope="session")
def embedder() -> SentenceTransformerEmbedder:
    """The real packaged MiniLM model, loaded once for the whole session."""
    return SentenceTransformerEmbedder(load_model_entry(PROJECT_ROOT / "models", "minilm"))


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    return Settings(data_dir=data_dir, **overrides)  # type: ignore[arg-type]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path / "data")


@pytest.fixture
def services(settings: Settings, embedder: SentenceTransformerEmbedder) -> Iterator[pipeline.Services]:
    opened = pipeline.open_services(settings, embedder=embedder)
    yield opened
    opened.close()


@pytest.fixture(scope="session")
def analysed(
    tmp_path_factory: pytest.TempPathFactory, embedder: SentenceTransformerEmbedder
) -> Iterator[tuple[pipeline.Services, str, str]]:
    """The example survey ingested and analysed once: (services, dataset id, run id)."""
    import asyncio

    opened = pipeline.open_services(make_settings(tmp_path_factory.mktemp("analysed") / "data"), embedder=embedder)
    report = pipeline.ingest_bytes(opened, EXAMPLE_SURVEY.read_bytes(), "survey.csv", name="example")
    run_id = pipeline.start_run(opened, report.id)
    asyncio.run(pipeline.analyze(opened, run_id))
    yield opened, report.id, run_id
    opened.close()
