"""One error tree for the whole package; the API maps each class to a status and problem type."""

from __future__ import annotations


class TriageError(Exception):
    """Base class. `detail` is safe to show: never comment text, prompts, keys or tracebacks."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidInput(TriageError):
    """The caller sent something unusable (bad file, bad field)."""

    def __init__(self, detail: str, field: str | None = None) -> None:
        super().__init__(detail)
        self.field = field


class NotFound(TriageError):
    """A dataset, run, comment or key does not exist (or the caller may not know it does)."""


class Conflict(TriageError):
    """The request is valid but the state does not allow it now (e.g. a run not finished)."""


class Unauthorized(TriageError):
    """Missing or unknown API key."""


class Forbidden(TriageError):
    """The key's role may not do this."""


class PayloadTooLarge(TriageError):
    """Upload over the configured limit."""


class ConfigurationError(TriageError):
    """Settings, model manifest, taxonomy or prompt files are wrong."""


class ModelMismatch(ConfigurationError):
    """A fitted artifact was made with other library versions or another embedding model."""


class LLMError(TriageError):
    """The LLM could not give a valid answer; carries attempts and token usage."""

    def __init__(self, detail: str, attempts: int = 0, tokens: int = 0) -> None:
        super().__init__(detail)
        self.attempts = attempts
        self.tokens = tokens
