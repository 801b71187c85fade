"""The taxonomy as versioned data (`models/taxonomy.toml`), not code."""

from __future__ import annotations

import datetime as dt
import hashlib
import threading
import tomllib
from pathlib import Path

from pydantic import BaseModel, ValidationError

from triage.errors import ConfigurationError
from triage.types import Taxonomy

_WRITE_LOCK = threading.Lock()


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


class LabelledExample(BaseModel):
    """One organisation's labelled comment (already redacted): more training data for its theme model."""

    text: str
    theme_id: str
    added_by: int | None = None
    added_at: str = ""


class ExampleStore:
    """An organisation's labelled examples, one JSON object a line in `path` (append-only, redacted text)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def add(self, text: str, theme_id: str, added_by: int | None = None) -> LabelledExample:
        example = LabelledExample(
            text=text, theme_id=theme_id, added_by=added_by, added_at=dt.datetime.now(dt.UTC).isoformat()
        )
        with _WRITE_LOCK:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as handle:
                handle.write(example.model_dump_json() + "\n")
        return example

    def all(self) -> list[LabelledExample]:
        """Every stored example, oldest first; an unreadable line is an error, not skipped."""
        if not self.path.exists():
            return []
        with _WRITE_LOCK:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        try:
            return [LabelledExample.model_validate_json(line) for line in lines if line.strip()]
        except ValidationError as exc:
            raise ConfigurationError(f"cannot read labelled examples {self.path}: {exc}") from exc

    def digest(self) -> str:
        """A hash of the stored examples (changes whenever one is added)."""
        data = self.path.read_bytes() if self.path.exists() else b""
        return hashlib.sha256(data).hexdigest()[:16]


def packaged_examples(models_dir: Path) -> list[LabelledExample]:
    """The labelled examples shipped with the theme model (`models/themes/examples.jsonl`), if present.

    Built by `python -m evals.theme_model build` (evals/README.md, "Theme model").
    """
    path = models_dir / "themes" / "examples.jsonl"
    return ExampleStore(path).all()
