"""What the real model did in `tests/llm_server`, counted for the record."""

from __future__ import annotations

from collections import Counter
from typing import Any


class Outcomes:
    """Counts what the real model did, for the record."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.rows: list[dict[str, Any]] = []

    def add(self, case: str, outcome: str, **details: Any) -> None:
        self.counts[outcome] += 1
        self.rows.append({"case": case, "outcome": outcome, **details})
