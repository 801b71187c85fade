"""Route handlers: validate, call the pipeline, map the result."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

import anyio.to_thread
from litestar import Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.openapi.spec import OpenAPIFormat, OpenAPIMediaType, OpenAPIType, RequestBody, Schema
from litestar.params import Parameter
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from triage import pipeline
from triage.api.auth import READ_ALL, check_owner
from triage.api.problems import safe_location
from triage.errors import Conflict, InvalidInput, NotFound
from triage.pipeline import Services, TriageQueue
from triage.report.render import render
from triage.store.sql import KeyInfo
from triage.types import IngestReport, Report, RunStatus, TriageResult, UrgencyLevel, UrgentComment

# Litestar appends "; charset=utf-8" to text/* itself.
MEDIA = {"md": "text/markdown", "csv": "text/csv"}
_TEXT = Schema(type=OpenAPIType.STRING, max_length=200_000)
UPLOAD_BODY = RequestBody(
    required=True,
    description="JSON `{name, rows}`, or a multipart form with a `file` (CSV, JSONL or XLSX) and an optional `name`.",
    content={
        "application/json": OpenAPIMediaType(
            schema=Schema(
                type=OpenAPIType.OBJECT,
                required=["name", "rows"],
                additional_properties=False,
                properties={
                    "name": Schema(type=OpenAPIType.STRING, min_length=1, max_length=200),
                    "rows": Schema(
                        type=OpenAPIType.ARRAY,
                        min_items=1,
                        # Any objects: a row without a usable text is reported by number, the others are kept.
                        items=Schema(
                            type=OpenAPIType.OBJECT,
                            properties={"text": _TEXT, "provider": Schema(type=OpenAPIType.STRING, max_length=200)},
                        ),
                    ),
                },
            )
        ),
        "multipart/form-data": OpenAPIMediaType(
            schema=Schema(
                type=OpenAPIType.OBJECT,
                required=["file"],
                properties={
                    "file": Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY),
                    "name": Schema(type=OpenAPIType.STRING, min_length=1, max_length=200),
                },
            )
        ),
    },
)


class DatasetUpload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    rows: list[dict[str, Any]] = Field(min_length=1)


class RunCreated(BaseModel):
    id: str
    status: str


class TriageRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=5000)
    provider: str | None = Field(None, max_length=200)


class CommentOut(BaseModel):
    id: int
    redacted_text: str
    provider: str
    cycle: str | None
    rating: int | None
    themes: list[str]
    subject: str | None
    sentiment: str | None
    language: str | None


@get("/health", opt={}, sync_to_thread=False)
def health() -> dict[str, str]:
    return {"status": "ok"}


async def _upload_rows(request: Request[Any, Any, Any], services: Services, caller: KeyInfo) -> IngestReport:
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form()
        file = form.get("file")
        if not isinstance(file, UploadFile):
            raise InvalidInput("multipart upload needs a 'file' part", field="file")
        data = await file.read()
        name = form.get("name")
        filename = file.filename or "upload.csv"
        _check_name(services, caller, name if isinstance(name, str) and name.strip() else Path(filename).stem)
        return await _in_thread(
            pipeline.ingest_bytes, services, data, filename, name if isinstance(name, str) else None, caller.id
        )
    if content_type.startswith("application/json"):
        try:
            upload = DatasetUpload.model_validate_json(await request.body())
        except ValidationError as exc:
            # Field names and messages only, never the rejected values.
            locations = [safe_location(e["loc"], e["msg"]) or "body" for e in exc.errors()]
            detail = "; ".join(f"{loc}: {e['msg']}" for loc, e in zip(locations, exc.errors(), strict=True))
            raise InvalidInput(detail, field=locations[0].split(".")[0]) from exc
        rows = list(enumerate(upload.rows, start=1))
        _check_name(services, caller, upload.name)
        return await _in_thread(pipeline.ingest_rows, services, rows, upload.name, caller.id)
    raise InvalidInput("send JSON {name, rows} or a multipart form with a 'file' part", field="content-type")


def _check_name(services: Services, caller: KeyInfo, name: str) -> None:
    """A manager may add rows only to a dataset they own: a shared name would mix their rows into another's report."""
    found = services.sql.dataset_by_name(name.strip())
    if found is not None and caller.role == "manager" and found.owner_key_id != caller.id:
        raise Conflict("a dataset with this name belongs to another key: choose another name")


async def _in_thread(fn: Callable[..., IngestReport], *args: Any) -> IngestReport:
    return await anyio.to_thread.run_sync(fn, *args)


@post(
    "/v1/datasets",
    opt={"roles": ("manager", "admin"), "rate_limit": "upload", "request_body": UPLOAD_BODY},
    status_code=201,
)
async def upload_dataset(request: Request[Any, Any, Any], services: Services, caller: KeyInfo) -> IngestReport:
    """Upload survey rows: JSON `{name, rows}` or multipart `file` (CSV, JSONL, XLSX) with optional `name`."""
    report: IngestReport = await _upload_rows(request, services, caller)
    return report


@post(
    "/v1/datasets/{dataset_id:str}/runs",
    opt={"roles": ("manager", "admin"), "rate_limit": "upload"},
    status_code=202,
    sync_to_thread=True,
)
def create_run(dataset_id: str, services: Services, caller: KeyInfo, request: Request[Any, Any, Any]) -> RunCreated:
    """Start a theme analysis in the background."""
    dataset = services.sql.dataset(dataset_id)
    if dataset is None:
        raise NotFound(f"dataset {dataset_id} not found")
    check_owner(caller, dataset.owner_key_id, f"dataset {dataset_id}")
    run_id = pipeline.start_run(services, dataset_id, caller.id)
    request.app.state.jobs.submit(run_id)
    return RunCreated(id=run_id, status="queued")


def _visible_run(services: Services, caller: KeyInfo, run_id: str) -> RunStatus:
    status = services.sql.run(run_id)
    if status is None:
        raise NotFound(f"run {run_id} not found")
    check_owner(caller, services.sql.run_owner(run_id), f"run {run_id}")
    return status


@get("/v1/runs/{run_id:str}", opt={"roles": ("manager", *READ_ALL)}, sync_to_thread=True)
def get_run(run_id: str, services: Services, caller: KeyInfo) -> RunStatus:
    """Status and progress (0..1) of a run."""
    return _visible_run(services, caller, run_id)


@get(
    "/v1/reports/{run_id:str}",
    opt={
        "roles": ("manager", *READ_ALL),
        "audit": "report.read",
        "content_types": ("application/json", "text/markdown", "text/csv"),
    },
    sync_to_thread=True,
)
def get_report(
    run_id: str,
    services: Services,
    caller: KeyInfo,
    format: Annotated[Literal["json", "md", "csv"], Parameter(query="format")] = "json",
) -> Response[Any]:
    """The report of a finished run: JSON, or `?format=md|csv`."""
    _visible_run(services, caller, run_id)
    report: Report = pipeline.get_report(services, run_id)
    if format == "json":
        return Response(report.model_dump(mode="json"))
    return Response(render(report, format), media_type=MEDIA[format])


@post("/v1/triage", opt={"roles": ("integrator", "admin"), "rate_limit": "triage"}, status_code=200)
async def triage_comment(data: TriageRequest, services: Services, triage_queue: TriageQueue | None) -> TriageResult:
    """One comment -> primary theme, secondary themes with confidences, redacted text. No LLM on this path."""
    if triage_queue is not None:  # concurrent requests share one pass of every model
        return await triage_queue.triage(data.text, data.provider)
    return await anyio.to_thread.run_sync(pipeline.triage_text, services, data.text, data.provider)


@get("/v1/comments/{comment_id:int}", opt={"roles": READ_ALL, "audit": "comment.read"}, sync_to_thread=True)
def get_comment(comment_id: int, services: Services) -> CommentOut:
    """A stored (redacted) comment and its themes in the newest run: the evidence behind an action."""
    comment = services.sql.comment(comment_id)
    if comment is None:
        raise NotFound(f"comment {comment_id} not found")
    subjects = services.sql.comment_labels(comment_id, kind="subject")
    sentiment = services.sql.comment_labels(comment_id, kind="sentiment")
    language = services.sql.comment_labels(comment_id, kind="language")
    return CommentOut(
        id=comment.id,
        redacted_text=comment.text,
        provider=comment.provider,
        cycle=comment.cycle,
        rating=comment.rating,
        themes=services.sql.comment_labels(comment_id),
        subject=subjects[0] if subjects else None,
        sentiment=sentiment[0] if sentiment else None,
        language=language[0] if language else None,
    )


@get("/v1/urgent", opt={"roles": ("hr",), "audit": "urgent.read"}, sync_to_thread=True)
def urgent_queue(services: Services, level: UrgencyLevel | None = None) -> list[UrgentComment]:
    """Comments that need escalation now ("urgent", first) or a look today ("review"); `?level=` keeps one level.
    HR only; never withheld from HR, never shown to other roles."""
    return services.sql.urgent_comments(level)


ROUTES = [urgent_queue, health, upload_dataset, create_run, get_run, get_report, triage_comment, get_comment]
