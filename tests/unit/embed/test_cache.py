from collections.abc import Sequence
from pathlib import Path

import numpy as np

from triage.embed.cache import embed_cached
from triage.embed.sentence_transformer import SentenceTransformerEmbedder
from triage.ports import Vectors
from triage.store.chroma import ChromaVectorStore, open_chroma


class CountingEmbedder:
    """The real embedder, counting the texts it is asked to encode."""

    def __init__(self, inner: SentenceTransformerEmbedder) -> None:
        self.inner = inner
        self.encoded: list[str] = []

    @property
    def alias(self) -> str:
        return self.inner.alias

    @property
    def dimensions(self) -> int:
        return self.inner.dimensions

    def encode(self, texts: Sequence[str]) -> Vectors:
        self.encoded.extend(texts)
        return self.inner.encode(texts)


def test_texts_are_embedded_once_across_calls_and_reopened_stores(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    counting = CountingEmbedder(embedder)
    store = ChromaVectorStore(open_chroma(path=tmp_path / "chroma"), "minilm", 384)
    first = embed_cached(counting, store, ["slow laptop", "rude reply", "slow laptop"])
    assert counting.encoded == ["slow laptop", "rude reply"]
    assert first.shape == (3, 384)
    assert np.allclose(first[0], first[2])
    assert np.isclose(np.linalg.norm(first[1]), 1.0, atol=1e-4)

    reopened = ChromaVectorStore(open_chroma(path=tmp_path / "chroma"), "minilm", 384)
    second = embed_cached(counting, reopened, ["rude reply", "new text"])
    assert counting.encoded == ["slow laptop", "rude reply", "new text"]
    assert np.allclose(second[0], first[1], atol=1e-6)
    assert reopened.count() == 3


def test_embeddings_put_similar_comments_closer(embedder: SentenceTransformerEmbedder) -> None:
    v = embedder.encode(["my laptop has not arrived", "still no laptop for me", "payroll got my salary wrong"])
    assert float(v[0] @ v[1]) > float(v[0] @ v[2]) + 0.1
