"""BatchingEmbedder: concurrent small encode calls merged into one forward pass.

Requests from many threads (the API's triage handlers) go into one queue; a single worker thread takes
the first waiting request and everything queued behind it (up to `max_batch` texts) and encodes them
together. A lone request never waits for company: the worker starts as soon as it arrives, so
single-request latency stays that of the model; under load, the requests that arrive during one
forward pass share the next. Large calls (a batch run's chunks) skip the queue and go to the model
directly; the wrapped embedder serialises its own forward passes.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Sequence
from concurrent.futures import Future

import numpy as np

from triage.ports import Embedder, Vectors

log = logging.getLogger(__name__)


class BatchingEmbedder:
    """An `Embedder` that micro-batches concurrent small calls to the embedder it wraps."""

    def __init__(self, inner: Embedder, max_batch: int = 64) -> None:
        self.inner = inner
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[tuple[list[str], Future[Vectors]] | None] = queue.SimpleQueue()
        self._worker: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.batches = 0
        """Forward passes run by the worker (for tests and benchmarks)."""
        self.batched_texts = 0

    @property
    def alias(self) -> str:
        return self.inner.alias

    @property
    def dimensions(self) -> int:
        return self.inner.dimensions

    def encode(self, texts: Sequence[str]) -> Vectors:
        """Encode texts to unit vectors; small calls share forward passes with concurrent ones."""
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        if len(texts) >= self.max_batch:
            return self.inner.encode(texts)
        self._ensure_worker()
        future: Future[Vectors] = Future()
        self._queue.put((list(texts), future))
        return future.result()

    def close(self) -> None:
        """Stop the worker thread (requests already queued are served first)."""
        if self._worker is not None:
            self._queue.put(None)
            self._worker.join(timeout=10)
            self._worker = None

    def _ensure_worker(self) -> None:
        if self._worker is not None:
            return
        with self._start_lock:
            if self._worker is None:
                self._worker = threading.Thread(target=self._run, name="triage-encode-batcher", daemon=True)
                self._worker.start()

    def _take(self) -> tuple[list[tuple[list[str], Future[Vectors]]], bool]:
        """The next request and everything queued behind it that fits; False when told to stop."""
        first = self._queue.get()
        if first is None:
            return [], False
        taken, size = [first], len(first[0])
        while size < self.max_batch:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                self._queue.put(None)  # stop after this batch
                break
            taken.append(item)
            size += len(item[0])
        return taken, True

    def _run(self) -> None:
        while True:
            taken, running = self._take()
            if not running:
                return
            texts = [t for request, _ in taken for t in request]
            try:
                vectors = self.inner.encode(texts)
            except BaseException as exc:  # every waiting caller gets the error, the worker lives on
                for _, future in taken:
                    future.set_exception(exc)
                continue
            self.batches += 1
            self.batched_texts += len(texts)
            start = 0
            for request, future in taken:
                future.set_result(vectors[start : start + len(request)])
                start += len(request)
