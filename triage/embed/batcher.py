"""BatchingEmbedder: concurrent small encode calls merged into one forward pass (`triage.microbatch`).

Large calls (a batch run's chunks) skip the queue and go to the model directly; the wrapped embedder
serialises its own forward passes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from triage.microbatch import MicroBatcher
from triage.ports import Embedder, Vectors


class BatchingEmbedder:
    """An `Embedder` that micro-batches concurrent small calls to the embedder it wraps."""

    def __init__(self, inner: Embedder, max_batch: int = 64) -> None:
        self.inner = inner
        self.max_batch = max_batch
        self._batcher: MicroBatcher[str, npt.NDArray[np.float32]] = MicroBatcher(
            lambda texts: list(inner.encode(texts)), max_batch, name="triage-encode-batcher"
        )

    @property
    def alias(self) -> str:
        return self.inner.alias

    @property
    def dimensions(self) -> int:
        return self.inner.dimensions

    @property
    def batches(self) -> int:
        """Forward passes run by the worker (for tests and benchmarks)."""
        return self._batcher.batches

    @property
    def batched_texts(self) -> int:
        return self._batcher.batched_items

    def encode(self, texts: Sequence[str]) -> Vectors:
        """Encode texts to unit vectors; small calls share forward passes with concurrent ones."""
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        if len(texts) >= self.max_batch:
            return self.inner.encode(texts)
        return np.stack(self._batcher(texts)).astype(np.float32, copy=False)

    def close(self) -> None:
        """Stop the worker thread (requests already queued are served first)."""
        self._batcher.close()
