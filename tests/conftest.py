"""Shared fixtures: the real embedding model (loaded once), stores in temp dirs, API keys.

`TRIAGE_TEST_BACKEND=postgres` runs the same tests on Postgres and a Chroma server (tests/servers): each
data dir then gets its own database in both, through TRIAGE_DATABASE_URL and TRIAGE_CHROMA_URL. Modules
marked `store_free` open no store, so their results cannot depend on the back-end: that pass leaves them
out, and the embedded pass fails any of their tests that opens a store after all.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from tests.servers import backend, backend_env, stop_servers
from triage import pipeline
from triage.config import PROJECT_ROOT, Settings
from triage.embed.manifest import load_model_entry
from triage.embed.sentence_transformer import SentenceTransformerEmbedder
from triage.store.chroma import ChromaVectorStore
from triage.store.sql import SqlStore

EXAMPLE_SURVEY = PROJECT_ROOT / "examples" / "survey.csv"
EXAMPLE_LABELS = PROJECT_ROOT / "evals" / "datasets" / "example_survey" / "labels.jsonl"


@pytest.fixture(scope="session")
def embedder() -> SentenceTransformerEmbedder:
    """The real packaged MiniLM model, loaded once for the whole session."""
    return SentenceTransformerEmbedder(load_model_entry(PROJECT_ROOT / "models", "minilm"))


def pytest_report_header() -> str:
    return f"triage back-end: {backend()}"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """On the postgres back-end, leave out the store-free tests: the embedded pass ran them already."""
    if backend() != "postgres":
        return
    free = [item for item in items if item.get_closest_marker("store_free")]
    if free:
        config.hook.pytest_deselected(items=free)
        items[:] = [item for item in items if not item.get_closest_marker("store_free")]


@pytest.fixture(autouse=True)
def _store_free_checked(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """A test marked `store_free` that opens a store fails, so the mark cannot hide it from the postgres pass."""
    if request.node.get_closest_marker("store_free") is None:
        return

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError(f"{request.node.nodeid} is marked store_free but opens a store: remove the mark")

    monkeypatch.setattr(SqlStore, "__init__", refuse)
    monkeypatch.setattr(ChromaVectorStore, "__init__", refuse)


@pytest.fixture(scope="session", autouse=True)
def _backend_servers() -> Iterator[None]:
    """On the postgres back-end, one Postgres cluster and one Chroma server for the session."""
    backend_env()
    yield
    stop_servers()


@pytest.fixture(autouse=True)
def _backend_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings made in a test (of `tmp_path / "data"`) use that data dir's databases on the servers."""
    for name, value in backend_env(str(tmp_path / "data")).items():
        monkeypatch.setenv(name, value)


def make_settings(data_dir: Path, **overrides: object) -> Settings:
    urls = {name.removeprefix("TRIAGE_").lower(): url for name, url in backend_env(str(data_dir)).items()}
    return Settings(data_dir=data_dir, **{**urls, **overrides})  # type: ignore[arg-type]


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
