"""The encode micro-batcher and the ONNX (int8) MiniLM, on the real models."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from triage.config import PROJECT_ROOT
from triage.embed.batcher import BatchingEmbedder
from triage.embed.factory import load_embedder
from triage.embed.manifest import load_model_entry
from triage.embed.onnx import OnnxEmbedder
from triage.embed.sentence_transformer import SentenceTransformerEmbedder

pytestmark = pytest.mark.store_free

TEXTS = [
    "Still waiting three weeks for a laptop.",
    "Payroll paid me twice and then clawed it back without a word.",
    "Great help from Facilities with the desk move, thank you!",
    "Legal never replied to my question about the NDA.",
    "The HR portal is down again.",
    "Procurement and Finance keep blaming each other for the late PO.",
    "Nobody told us the office would be closed on Friday.",
    "IT closed my ticket without fixing anything.",
]


@pytest.fixture
def batcher(embedder: SentenceTransformerEmbedder) -> BatchingEmbedder:
    wrapped = BatchingEmbedder(embedder, max_batch=64)
    yield wrapped
    wrapped.close()


def test_single_call_matches_the_model(batcher: BatchingEmbedder, embedder: SentenceTransformerEmbedder) -> None:
    got = batcher.encode([TEXTS[0]])
    assert got.shape == (1, embedder.dimensions)
    np.testing.assert_allclose(got, embedder.encode([TEXTS[0]]), atol=1e-5)
    assert batcher.batches == 1


def test_concurrent_calls_share_forward_passes_and_keep_their_own_vectors(
    batcher: BatchingEmbedder, embedder: SentenceTransformerEmbedder
) -> None:
    calls = [TEXTS[i % len(TEXTS)] for i in range(48)]
    start = threading.Barrier(len(calls))

    def one(text: str) -> np.ndarray:
        start.wait()
        return batcher.encode([text])

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        results = list(pool.map(one, calls))
    expected = embedder.encode(TEXTS)
    for text, got in zip(calls, results, strict=True):
        # Batched with other texts (padding differs), the vector is the same up to float noise.
        np.testing.assert_allclose(got[0], expected[TEXTS.index(text)], atol=1e-4)
    assert batcher.batched_texts == len(calls)
    assert batcher.batches < len(calls) // 2, f"{batcher.batches} forward passes for {len(calls)} calls"


def test_multi_text_calls_are_split_back_in_order(
    batcher: BatchingEmbedder, embedder: SentenceTransformerEmbedder
) -> None:
    with ThreadPoolExecutor(max_workers=4) as pool:
        parts = list(pool.map(batcher.encode, [TEXTS[:3], TEXTS[3:5], TEXTS[5:], []]))
    assert [len(p) for p in parts] == [3, 2, 3, 0]
    np.testing.assert_allclose(np.vstack(parts), embedder.encode(TEXTS), atol=1e-4)


def test_large_calls_bypass_the_queue(embedder: SentenceTransformerEmbedder) -> None:
    wrapped = BatchingEmbedder(embedder, max_batch=4)
    try:
        assert wrapped.encode(TEXTS).shape == (len(TEXTS), embedder.dimensions)
        assert wrapped.batches == 0
    finally:
        wrapped.close()


def test_an_error_reaches_the_caller_and_the_worker_goes_on(batcher: BatchingEmbedder) -> None:
    with pytest.raises(ValueError, match="Unsupported input type"):
        batcher.encode([None])  # type: ignore[list-item]
    assert batcher.encode([TEXTS[1]]).shape == (1, batcher.dimensions)


def test_int8_onnx_minilm_stands_in_for_minilm(embedder: SentenceTransformerEmbedder) -> None:
    entry = load_model_entry(PROJECT_ROOT / "models", "minilm-int8")
    onnx = load_embedder(entry)
    assert isinstance(onnx, OnnxEmbedder)
    # Heads fitted on minilm vectors accept these: the alias the models check is minilm's.
    assert onnx.alias == "minilm" and entry.vector_space == "minilm"
    got, reference = onnx.encode(TEXTS), embedder.encode(TEXTS)
    assert got.shape == reference.shape
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    cosines = (got * reference).sum(axis=1)
    assert cosines.min() > 0.99, cosines
    # Nearest neighbours agree: each text is closest to itself across the two models.
    assert (np.argmax(got @ reference.T, axis=1) == np.arange(len(TEXTS))).all()


def test_micro_batch_setting_wraps_the_model() -> None:
    entry = load_model_entry(PROJECT_ROOT / "models", "minilm-int8")
    wrapped = load_embedder(entry, micro_batch=16)
    assert isinstance(wrapped, BatchingEmbedder) and wrapped.max_batch == 16
    assert wrapped.alias == "minilm"
