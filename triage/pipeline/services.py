"""Long-lived services of a process: stores, models, and the theme models of runs."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from triage.assess.urgency import UrgencyDetector
from triage.config import Settings
from triage.embed.cache import embed_cached
from triage.embed.factory import load_embedder
from triage.embed.manifest import ModelEntry, load_model_entry
from triage.ports import Embedder
from triage.store.chroma import ChromaVectorStore, open_chroma
from triage.store.sql import SqlStore
from triage.themes.analyze import fit_theme_model
from triage.themes.model import ThemeModel, taxonomy_hash
from triage.themes.taxonomy import load_taxonomy
from triage.types import (
    Taxonomy,
)


def _respondent_key(settings: Settings) -> bytes:
    """The key of respondent hashes: from settings, else a random one kept in the data dir."""
    if settings.respondent_key:
        return settings.respondent_key.get_secret_value().encode()
    path = settings.data_dir / "respondent.key"
    if not path.exists():
        path.write_text(secrets.token_hex(32), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip().encode()


@dataclass
class Services:
    """Long-lived clients and models, opened once per process."""

    settings: Settings
    sql: SqlStore
    vectors: ChromaVectorStore
    model_entry: ModelEntry
    taxonomy: Taxonomy
    respondent_key: bytes
    urgency: UrgencyDetector
    _embedder: Embedder | None = None
    _base_model: ThemeModel | None = None
    _run_models: dict[str, ThemeModel] = field(default_factory=dict)

    @property
    def embedder(self) -> Embedder:
        """The embedding model, loaded on first use (ingest alone does not need it)."""
        if self._embedder is None:
            s = self.settings
            self._embedder = load_embedder(self.model_entry, s.embed_batch_size, s.embed_micro_batch)
        return self._embedder

    def close(self) -> None:
        self.sql.close()


def open_services(settings: Settings, embedder: Embedder | None = None) -> Services:
    """Open stores and load models; an `embedder` may be passed in to share one loaded model."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    entry = load_model_entry(settings.models_dir, settings.embed_model)
    client = open_chroma(path=settings.chroma_path, url=settings.chroma_url)
    return Services(
        settings=settings,
        sql=SqlStore(settings.db_url),
        vectors=ChromaVectorStore(client, entry.alias, entry.dimensions),
        model_entry=entry,
        _embedder=embedder,
        taxonomy=load_taxonomy(settings.models_dir / "taxonomy.toml"),
        respondent_key=_respondent_key(settings),
        urgency=UrgencyDetector.load(settings.models_dir / "urgency", embed_model=entry.vector_space),
    )


def base_theme_model(services: Services) -> ThemeModel:
    """The taxonomy classifier before any run, fitted on the taxonomy's example comments."""
    if services._base_model is None or taxonomy_hash(services._base_model.taxonomy) != taxonomy_hash(services.taxonomy):
        examples = [e for t in services.taxonomy.themes for e in t.examples]
        vectors = embed_cached(services.embedder, services.vectors, examples)
        s = services.settings.themes
        services._base_model = fit_theme_model(
            services.taxonomy, vectors, services.embedder.alias, s.min_confidence, s.secondary_confidence
        )
    return services._base_model


def run_model(services: Services, run_id: str | None) -> tuple[ThemeModel, str | None]:
    """The fitted model of `run_id` (default: the newest succeeded run), else the base model."""
    run_id = run_id or services.sql.latest_succeeded_run()
    if run_id is None:
        return base_theme_model(services), None
    if run_id not in services._run_models:
        services._run_models[run_id] = ThemeModel.load(
            services.settings.artifacts_dir / run_id, services.embedder.alias
        )
    return services._run_models[run_id], run_id
