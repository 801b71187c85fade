"""An organisation's own labelled examples: add them, list them, refit the theme model on them."""

from __future__ import annotations

import time

from litestar import get, post
from pydantic import BaseModel, ConfigDict, Field

from triage.errors import InvalidInput
from triage.ingest.redact import redact
from triage.pipeline import Services
from triage.pipeline.services import base_theme_model, theme_examples
from triage.store.sql import KeyInfo
from triage.themes.taxonomy import LabelledExample, packaged_examples

ROLES = ("hr", "admin")


class ExampleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=5000)
    theme_id: str = Field(min_length=1, max_length=100)


class ExampleOut(BaseModel):
    text: str
    """Redacted before it was stored."""
    theme_id: str
    added_at: str


class RefitOut(BaseModel):
    taxonomy_examples: int
    shipped_examples: int
    """Labelled examples shipped with the theme model (models/themes/examples.jsonl)."""
    organisation_examples: int
    classes: list[str]
    model_key: str
    """Changes whenever the taxonomy or the examples change."""
    elapsed_ms: float


def _out(example: LabelledExample) -> ExampleOut:
    return ExampleOut(text=example.text, theme_id=example.theme_id, added_at=example.added_at)


@post("/v1/themes/examples", opt={"roles": ROLES}, status_code=201, sync_to_thread=True)
def add_example(data: ExampleIn, services: Services, caller: KeyInfo) -> ExampleOut:
    """Store one labelled comment (redacted first); `POST /v1/themes/refit` or the next run fits on it."""
    if data.theme_id not in {t.id for t in services.taxonomy.themes}:
        raise InvalidInput(f"unknown theme id {data.theme_id!r}", field="theme_id")
    text = redact(data.text.strip())
    if not text:
        raise InvalidInput("text must not be empty", field="text")
    return _out(theme_examples(services).add(text, data.theme_id, added_by=caller.id))


@get("/v1/themes/examples", opt={"roles": ROLES}, sync_to_thread=True)
def list_examples(services: Services) -> list[ExampleOut]:
    """The organisation's labelled examples, oldest first (redacted)."""
    return [_out(e) for e in theme_examples(services).all()]


@post("/v1/themes/refit", opt={"roles": ROLES}, status_code=200, sync_to_thread=True)
def refit(services: Services) -> RefitOut:
    """Fit the theme model on the taxonomy's examples plus the organisation's; runs started after it use it.

    Single-comment triage uses the newest run's model, so it follows once a new run has finished (or at
    once when there is no run yet).
    """
    started = time.perf_counter()
    model = base_theme_model(services)
    return RefitOut(
        taxonomy_examples=sum(len(t.examples) for t in services.taxonomy.themes),
        shipped_examples=len(packaged_examples(services.settings.models_dir)),
        organisation_examples=len(theme_examples(services).all()),
        classes=model.classifier.classes,
        model_key=services._base_key,
        elapsed_ms=round((time.perf_counter() - started) * 1000, 2),
    )


EXAMPLE_ROUTES = [add_example, list_examples, refit]
