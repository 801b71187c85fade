"""The playbook: suggested actions per taxonomy theme, read from `models/playbook.toml`."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from triage.errors import ConfigurationError

SUBJECT_PLACEHOLDER = "{subject}"
GENERIC_THEME = "_generic"
_PLACEHOLDER = re.compile(r"\{[^{}]*\}")


class PlaybookAction(BaseModel):
    """One suggested action for a theme, with the words that make it relevant to a set of comments."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    theme: str = Field(min_length=1)
    text: str = Field(min_length=1)
    keywords: tuple[str, ...] = ()

    @field_validator("text")
    @classmethod
    def _only_subject_placeholder(cls, text: str) -> str:
        unknown = sorted({p for p in _PLACEHOLDER.findall(text) if p != SUBJECT_PLACEHOLDER})
        if unknown:
            raise ValueError(f"unknown placeholders {', '.join(unknown)}; only {SUBJECT_PLACEHOLDER} is allowed")
        return text.strip()

    @field_validator("keywords")
    @classmethod
    def _normalise_keywords(cls, keywords: tuple[str, ...]) -> tuple[str, ...]:
        cleaned = [" ".join(k.lower().split()) for k in keywords]
        if not all(cleaned):
            raise ValueError("keywords must not be empty")
        return tuple(dict.fromkeys(cleaned))

    def render(self, subject: str) -> str:
        """The action text with `{subject}` filled in."""
        return self.text.replace(SUBJECT_PLACEHOLDER, subject)


class Playbook(BaseModel):
    """All actions, in file order (the order breaks ties when choosing actions)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: str = Field(min_length=1)
    actions: tuple[PlaybookAction, ...] = Field(min_length=1)

    def for_theme(self, theme_id: str) -> list[PlaybookAction]:
        """The actions of one theme, in file order (empty when the theme has none)."""
        return [a for a in self.actions if a.theme == theme_id]


def load_playbook(path: Path) -> Playbook:
    """Read and validate a playbook TOML file; any problem is a `ConfigurationError` naming the file."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigurationError(f"playbook {path} not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"playbook {path} cannot be read: {type(exc).__name__}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"playbook {path} is not valid TOML: {exc}") from exc
    try:
        return Playbook.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'file'}: {e['msg']}"
            for e in exc.errors(include_input=False, include_url=False)
        )
        raise ConfigurationError(f"playbook {path}: {problems}") from exc
