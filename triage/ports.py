"""Protocols the steps depend on; adapters implement them, tests may pass fakes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from triage.types import Summary, SummaryRequest

Vectors = npt.NDArray[np.float32]


class Embedder(Protocol):
    """Turns texts into L2-normalised vectors."""

    @property
    def alias(self) -> str: ...

    @property
    def dimensions(self) -> int: ...

    def encode(self, texts: Sequence[str]) -> Vectors: ...


class VectorStore(Protocol):
    """Vectors by id, in one collection per embedding model."""

    def get(self, ids: Sequence[str]) -> dict[str, npt.NDArray[np.float32]]: ...

    def upsert(self, ids: Sequence[str], vectors: Vectors) -> None: ...


class LLMAnswer(Protocol):
    content: str
    tokens: int


class LLMClient(Protocol):
    """An OpenAI-compatible chat model asked for JSON."""

    @property
    def model(self) -> str: ...

    async def complete_json(
        self, messages: list[dict[str, str]], schema: dict[str, Any], schema_name: str
    ) -> LLMAnswer: ...


class Summarizer(Protocol):
    """Writes the name, summary and suggested actions of one (provider, theme)."""

    async def summarize(self, request: SummaryRequest) -> Summary: ...
