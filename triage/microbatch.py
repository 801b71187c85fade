"""MicroBatcher: concurrent small calls of one function merged into one call on a batch.

Callers from many threads (or event-loop tasks) submit a few items each; one worker thread takes the first
waiting request and everything queued behind it (up to `max_batch` items) and calls the function once on
all of them. A lone request never waits for company: the worker starts on it as soon as it arrives, so
single-request latency stays that of the function; under load, the requests that arrive during one call
share the next. Used by the encoder (`triage.embed.batcher`) and the whole triage path
(`triage.pipeline.single.TriageQueue`).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Generic, TypeVar

log = logging.getLogger(__name__)
T = TypeVar("T")
R = TypeVar("R")


class MicroBatcher(Generic[T, R]):
    """Calls `fn` on batches of concurrently submitted items; `fn` returns one result per item, in order."""

    def __init__(self, fn: Callable[[list[T]], Sequence[R]], max_batch: int, name: str = "triage-batcher") -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self.fn = fn
        self.max_batch = max_batch
        self.name = name
        self._queue: queue.SimpleQueue[tuple[list[T], Future[list[R]]] | None] = queue.SimpleQueue()
        self._worker: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.batches = 0
        """Calls of `fn` made by the worker (for tests and benchmarks)."""
        self.batched_items = 0

    def submit(self, items: Sequence[T]) -> Future[list[R]]:
        """Queue `items`; the future holds their results, in order (or the error of the batch they were in)."""
        future: Future[list[R]] = Future()
        if not items:
            future.set_result([])
            return future
        self._ensure_worker()
        self._queue.put((list(items), future))
        return future

    def __call__(self, items: Sequence[T]) -> list[R]:
        """Submit and wait."""
        return self.submit(items).result()

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
                self._worker = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._worker.start()

    def _take(self) -> tuple[list[tuple[list[T], Future[list[R]]]], bool]:
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
            items = [item for request, _ in taken for item in request]
            try:
                results = self.fn(items)
                if len(results) != len(items):
                    raise RuntimeError(f"{self.name}: {len(results)} results for {len(items)} items")
            except BaseException as exc:  # every waiting caller gets the error, the worker lives on
                log.debug("%s: a batch of %d failed", self.name, len(items), exc_info=True)
                for _, future in taken:
                    future.set_exception(exc)
                continue
            self.batches += 1
            self.batched_items += len(items)
            start = 0
            for request, future in taken:
                future.set_result(list(results[start : start + len(request)]))
                start += len(request)
