"""Model2VecEmbedder: a static embedding model distilled with model2vec (a token-vector lookup and a mean).

Distilled offline from the local MiniLM (`distill_from`), it encodes orders of magnitude faster than
the transformer but its vectors live in their own space: theme models and heads must be fitted on them.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from triage.errors import ConfigurationError
from triage.ports import Vectors

log = logging.getLogger(__name__)


class Model2VecEmbedder:
    """Normalised static embeddings from a model2vec model directory."""

    def __init__(self, path: Path, alias: str = "m2v-minilm") -> None:
        try:
            from model2vec import StaticModel
        except ImportError as exc:
            raise ConfigurationError("model2vec is not installed") from exc
        started = time.perf_counter()
        self._model = StaticModel.from_pretrained(str(path), normalize=True)
        self._alias = alias
        self._dimensions = int(self._model.dim)
        log.info("loaded embedding model %s (model2vec) in %.1fs", alias, time.perf_counter() - started)

    @property
    def alias(self) -> str:
        return self._alias

    @property
    def dimensions(self) -> int:
        return self._dimensions

    def encode(self, texts: Sequence[str]) -> Vectors:
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        vectors = np.asarray(self._model.encode(list(texts), show_progress_bar=False), dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        unit: Vectors = (vectors / np.maximum(norms, 1e-12)).astype(np.float32)
        return unit


def distill_from(model_path: Path, out: Path, pca_dims: int = 256) -> Path:
    """Distil a static model from a local sentence-transformers model directory (offline) into `out`."""
    from model2vec.distill import distill

    distill(model_name=str(model_path), pca_dims=pca_dims).save_pretrained(str(out))
    return out
