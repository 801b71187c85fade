"""Settings: one object, read from the environment (prefix TRIAGE_, `__` for nesting)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class LLMSettings(BaseModel):
    """An OpenAI-compatible chat server; unset base_url or model means the offline summariser."""

    base_url: str | None = None
    model: str | None = None
    api_key: SecretStr = SecretStr("not-needed")
    timeout_s: float = 30.0
    max_retries: int = 2
    prompt_version: str = "v1"
    max_concurrency: int = Field(default=4, ge=1, description="Chat requests in flight at once, per client.")
    cache: bool = Field(default=True, description="Reuse validated answers for identical prompts (no new calls).")
    max_tokens: int | None = Field(
        default=1000, ge=1, description="Cap on an answer's tokens (sent as max_tokens); a cut answer is re-asked."
    )
    temperature: float | None = Field(
        default=None, ge=0, le=2, description="Sampling temperature; unset leaves the server's default."
    )
    response_format: Literal["auto", "json_schema", "json_object_schema", "json_object"] = Field(
        default="auto", description="Structured-output form; auto steps down from json_schema when a server refuses."
    )

    @property
    def enabled(self) -> bool:
        return bool(self.base_url and self.model)


class ReportSettings(BaseModel):
    min_respondents: int = Field(
        default=5, ge=1, description="Anonymity threshold k: distinct respondents a group needs."
    )
    quotes_per_theme: int = 3


class ThemeSettings(BaseModel):
    # Both chosen on cross-validated internal_feedback dev data (models/themes/metadata.json, evals/README.md).
    min_confidence: float = Field(default=0.45, description="Below this top probability a comment is 'unassigned'.")
    secondary_confidence: float = Field(
        default=0.15, description="Further themes at or above this probability are kept."
    )
    min_new_theme_size: int = 5


class ApiSettings(BaseModel):
    max_upload_bytes: int = Field(
        default=20_000_000, ge=1, description="Largest request body (upload or JSON) in bytes; larger is a 413."
    )
    max_rows: int = 200_000
    triage_per_minute: int = Field(
        default=600, ge=0, description="POST /v1/triage* requests per API key per minute (0: no limit); over it, 429."
    )
    uploads_per_hour: int = Field(
        default=60, ge=0, description="Uploads and analysis runs per API key per hour (0: no limit); over it, 429."
    )
    triage_batch: int = Field(
        default=32,
        ge=0,
        description="Concurrent POST /v1/triage requests are answered together, up to this many comments; 0 = off.",
    )


class JobSettings(BaseModel):
    """The shared job queue, used when the database is Postgres (procrastinate)."""

    run_in_api: bool = Field(default=True, description="API processes work on jobs too (else only `triage worker`).")
    concurrency: int = Field(default=1, ge=1, description="Analyses one process runs at once.")
    heartbeat_s: float = Field(default=5.0, gt=0, description="How often a worker tells the database it is alive.")
    stalled_after_s: float = Field(
        default=30.0, gt=0, description="A worker silent this long is gone: its job is queued again."
    )
    poll_s: float = Field(default=5.0, gt=0, description="How often workers look for new and stalled jobs.")
    shutdown_timeout_s: float = Field(
        default=20.0, ge=0, description="On shutdown, wait this long for a running job, then queue it again."
    )


class Settings(BaseSettings):
    """All configuration of the service, CLI and pipeline."""

    model_config = SettingsConfigDict(env_prefix="TRIAGE_", env_nested_delimiter="__", extra="ignore")

    data_dir: Path = Path("data")
    database_url: str | None = None
    chroma_url: str | None = None
    embed_model: str = "minilm"
    embed_batch_size: int = Field(
        default=16,
        ge=1,
        description="Texts per forward pass; texts are sorted by length, so small passes pad little "
        "(README, Performance: 16 vs 64).",
    )
    embed_micro_batch: int = Field(
        default=64,
        ge=0,
        description="Concurrent small encode calls share one forward pass, up to this many texts; 0 = off.",
    )
    resources_dir: Path = PROJECT_ROOT
    respondent_key: SecretStr | None = None
    llm: LLMSettings = LLMSettings()
    report: ReportSettings = ReportSettings()
    themes: ThemeSettings = ThemeSettings()
    api: ApiSettings = ApiSettings()
    jobs: JobSettings = JobSettings()
    log_level: str = "INFO"

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'triage.db').resolve()}"

    @property
    def chroma_path(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def models_dir(self) -> Path:
        return self.resources_dir / "models"

    @property
    def prompts_dir(self) -> Path:
        return self.resources_dir / "prompts"

    @property
    def artifacts_dir(self) -> Path:
        return self.data_dir / "artifacts"
