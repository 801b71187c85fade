"""Embed texts once: vectors are kept in the vector store under the hash of their text."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np

from triage.ports import Embedder, Vectors, VectorStore

log = logging.getLogger(__name__)


def text_hash(text: str) -> str:
    """Stable id of a (redacted) text: the key of its vector."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def embed_cached(
    embedder: Embedder,
    store: VectorStore,
    texts: Sequence[str],
    batch_size: int = 256,
    on_progress: Callable[[int, int], None] | None = None,
) -> Vectors:
    """Vectors for `texts` in order, encoding only those the store does not hold yet."""
    ids = [text_hash(t) for t in texts]
    known = store.get(list(dict.fromkeys(ids)))
    missing = list(dict.fromkeys(i for i in ids if i not in known))
    by_id = {i: t for i, t in zip(ids, texts, strict=True)}
    log.info("embedding %d texts: %d cached, %d to encode", len(ids), len(ids) - len(missing), len(missing))
    done = 0
    # Chunk i is upserted on a worker thread while chunk i+1 encodes; one upsert in flight at a time, in order.
    # Leaving the `with` waits for it, so an encode error never leaves an upsert running behind the caller.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="embed-upsert") as upserts:
        pending: Future[None] | None = None
        for start in range(0, len(missing), batch_size):
            chunk = missing[start : start + batch_size]
            vectors = embedder.encode([by_id[i] for i in chunk])
            if pending is not None:
                pending.result()  # raises the previous upsert's error
            pending = upserts.submit(store.upsert, chunk, vectors)
            known.update(zip(chunk, vectors, strict=True))
            done += len(chunk)
            if on_progress:
                on_progress(done, len(missing))
        if pending is not None:
            pending.result()
    if not ids:
        return np.zeros((0, embedder.dimensions), dtype=np.float32)
    return np.stack([known[i] for i in ids]).astype(np.float32)
