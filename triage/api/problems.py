"""One table from error class to HTTP status and RFC 9457 problem type; the exception handlers."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ExceptionHandlersMap

from triage import errors

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://triage.dev/problems/"

TABLE: dict[type[errors.TriageError], tuple[int, str, str]] = {
    errors.InvalidInput: (400, "invalid-input", "Invalid input"),
    errors.Unauthorized: (401, "unauthorized", "Missing or unknown API key"),
    errors.Forbidden: (403, "forbidden", "Not allowed for this role"),
    errors.NotFound: (404, "not-found", "Not found"),
    errors.Conflict: (409, "conflict", "Not possible in the current state"),
    errors.PayloadTooLarge: (413, "payload-too-large", "Payload too large"),
    errors.ConfigurationError: (500, "configuration", "Server misconfigured"),
    errors.LLMError: (502, "llm", "LLM failure"),
}


def problem(status: int, type_: str, title: str, detail: str, **extra: Any) -> Response[dict[str, Any]]:
    body = {"type": TYPE_BASE + type_, "title": title, "status": status, "detail": detail, **extra}
    headers = {"WWW-Authenticate": 'ApiKey header="X-API-Key"'} if status == 401 else None
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def triage_error_handler(_: Request[Any, Any, Any], exc: errors.TriageError) -> Response[dict[str, Any]]:
    for cls in type(exc).__mro__:
        if cls in TABLE:
            status, type_, title = TABLE[cls]
            break
    else:
        status, type_, title = 500, "internal", "Internal error"
    extra = {"field": exc.field} if isinstance(exc, errors.InvalidInput) and exc.field else {}
    return problem(status, type_, title, exc.detail, **extra)


def validation_handler(_: Request[Any, Any, Any], exc: ValidationException) -> Response[dict[str, Any]]:
    # Only field names and messages: the offending value may be comment text.
    items = exc.extra if isinstance(exc.extra, list) else []
    fields = [{"field": e.get("key", ""), "message": e.get("message", "")} for e in items if isinstance(e, dict)]
    detail = "; ".join(f"{f['field'] or 'body'}: {f['message']}" for f in fields) or "invalid request"
    return problem(400, "invalid-input", "Invalid input", detail, errors=fields)


def http_error_handler(_: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    status = exc.status_code
    if status >= HTTP_500_INTERNAL_SERVER_ERROR:
        log.error("HTTP %d: %s", status, type(exc).__name__)
        return problem(status, "internal", "Internal error", "the server failed; see its log")
    return problem(status, f"http-{status}", str(exc.detail or "error"), str(exc.detail or "error"))


def internal_error_handler(_: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.exception("unhandled %s", type(exc).__name__)
    return problem(500, "internal", "Internal error", "the server failed; see its log")


HANDLERS: ExceptionHandlersMap = {
    errors.TriageError: triage_error_handler,
    ValidationException: validation_handler,
    HTTPException: http_error_handler,
    Exception: internal_error_handler,
}
