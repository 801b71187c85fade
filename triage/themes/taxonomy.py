"""The taxonomy as versioned data (`models/taxonomy.toml`), not code."""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import ValidationError

from triage.errors import ConfigurationError
from triage.types import Taxonomy


def load_taxonomy(path: Path) -> Taxonomy:
    """Read and validate a taxonomy file; theme ids must be unique and each needs examples."""
    try:
        taxonomy = Taxonomy.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
    except (OSError, tomllib.TOMLDecodeError, ValidationError) as exc:
        raise ConfigurationError(f"cannot read taxonomy {path}: {exc}") from exc
    ids = [t.id for t in taxonomy.themes]
    if len(set(ids)) != len(ids):
        raise ConfigurationError(f"taxonomy {path} repeats a theme id")
    if missing := [t.id for t in taxonomy.themes if len(t.examples) < 2]:
        raise ConfigurationError(f"taxonomy themes need at least 2 example comments: {', '.join(missing)}")
    return taxonomy
