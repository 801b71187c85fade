"""The model manifest (`models/manifest.toml`): code names models by alias only."""

from __future__ import annotations

import tomllib
from pathlib import Path

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
