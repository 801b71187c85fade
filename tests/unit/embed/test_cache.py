import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

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


class OverlapProbe:
    """The real embedder and Chroma store, recording whether each upsert overlapped the next chunk's encode."""

    def __init__(
        self, inner: SentenceTransformerEmbedder, store: ChromaVectorStore, chunks: int, fail_encode_at: int = -1
    ) -> None:
        self.inner, self.store, self.chunks, self.fail_encode_at = inner, store, chunks, fail_encode_at
        self.encodes = 0
        self.encode_started = [threading.Event() for _ in range(100)]
        self.upserted: list[list[str]] = []
        self.overlapped: list[bool] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()

    @property
    def alias(self) -> str:
        return self.inner.alias

    @property
    def dimensions(self) -> int:
        return self.inner.dimensions

    def encode(self, texts: Sequence[str]) -> Vectors:
        self.encode_started[self.encodes].set()
        self.encodes += 1
        if self.encodes - 1 == self.fail_encode_at:
            raise RuntimeError("encoder broke")
        return self.inner.encode(texts)

    def get(self, ids: Sequence[str]) -> dict[str, npt.NDArray[np.float32]]:
        return self.store.get(ids)

    def upsert(self, ids: Sequence[str], vectors: Vectors) -> None:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        chunk = len(self.upserted)
        # Without overlap the next encode starts only after this returns: the wait times out.
        last = chunk == self.chunks - 1
        self.overlapped.append(last or self.encode_started[chunk + 1].wait(timeout=3))
        self.store.upsert(ids, vectors)
        self.upserted.append(list(ids))
        with self._lock:
            self.in_flight -= 1


TEXTS = [f"comment number {i} about the {word}" for i, word in enumerate(["vpn", "laptop", "payroll", "canteen"] * 3)]


def test_upserts_overlap_the_next_encode_one_at_a_time_and_vectors_keep_their_order(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    probe = OverlapProbe(embedder, ChromaVectorStore(open_chroma(path=tmp_path / "chroma"), "minilm", 384), chunks=4)
    progress: list[tuple[int, int]] = []
    texts = [*TEXTS, TEXTS[0]]  # a duplicate: encoded once, returned twice
    vectors = embed_cached(probe, probe, texts, batch_size=3, on_progress=lambda d, t: progress.append((d, t)))
    assert probe.overlapped == [True] * 4 and probe.max_in_flight == 1
    assert [len(c) for c in probe.upserted] == [3, 3, 3, 3] and progress == [(3, 12), (6, 12), (9, 12), (12, 12)]
    assert np.allclose(vectors, embedder.encode(texts), atol=1e-5)
    assert probe.store.count() == 12  # every upsert finished before embed_cached returned
    again = embed_cached(probe, probe.store, texts)
    assert probe.encodes == 4 and np.allclose(again, vectors, atol=1e-6)


def test_an_encoder_error_propagates_after_the_upsert_in_flight_finished(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    store = ChromaVectorStore(open_chroma(path=tmp_path / "chroma"), "minilm", 384)
    probe = OverlapProbe(embedder, store, chunks=2, fail_encode_at=2)
    with pytest.raises(RuntimeError, match="encoder broke"):
        embed_cached(probe, probe, TEXTS, batch_size=3)
    assert len(probe.upserted) == 2 and probe.store.count() == 6  # the chunks encoded before the error are kept


class FailingStore:
    def __init__(self, inner: ChromaVectorStore) -> None:
        self.inner = inner
        self.upserts = 0

    def get(self, ids: Sequence[str]) -> dict[str, npt.NDArray[np.float32]]:
        return self.inner.get(ids)

    def upsert(self, ids: Sequence[str], vectors: Vectors) -> None:
        self.upserts += 1
        if self.upserts == 2:
            raise OSError("disk full")
        self.inner.upsert(ids, vectors)


def test_an_upsert_error_propagates_and_stops_the_encoding(
    tmp_path: Path, embedder: SentenceTransformerEmbedder
) -> None:
    counting = CountingEmbedder(embedder)
    store = FailingStore(ChromaVectorStore(open_chroma(path=tmp_path / "chroma"), "minilm", 384))
    with pytest.raises(OSError, match="disk full"):
        embed_cached(counting, store, TEXTS, batch_size=3)
    assert store.upserts == 2 and len(counting.encoded) == 9  # found when chunk 3 was encoded, before chunk 4
