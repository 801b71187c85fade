"""One table from error class to HTTP status and RFC 9457 problem type; the exception handlers."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

from litestar import Litestar, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.openapi.spec import (
    Components,
    OpenAPIFormat,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Reference,
    Schema,
)
from litestar.routes import HTTPRoute
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ExceptionHandlersMap
from pydantic import BaseModel

from triage import errors

log = logging.getLogger(__name__)
PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://triage.dev/problems/"
FIELD_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
QUOTED = re.compile(r"\s*'[^']*'")

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


def problem(
    status: int, type_: str, title: str, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> Response[dict[str, Any]]:
    body = {"type": TYPE_BASE + type_, "title": title, "status": status, "detail": detail, **extra}
    headers = dict(headers or {})
    if status == 401:
        headers["WWW-Authenticate"] = 'ApiKey header="X-API-Key"'
    return Response(body, status_code=status, media_type=PROBLEM_JSON, headers=headers or None)


def triage_error_handler(_: Request[Any, Any, Any], exc: errors.TriageError) -> Response[dict[str, Any]]:
    for cls in type(exc).__mro__:
        if cls in TABLE:
            status, type_, title = TABLE[cls]
            break
    else:
        status, type_, title = 500, "internal", "Internal error"
    extra: dict[str, Any] = {"field": exc.field} if isinstance(exc, errors.InvalidInput) and exc.field else {}
    return problem(status, type_, title, exc.detail, None, **extra)


def safe_location(location: Iterable[Any], message: str = "") -> str:
    """A field path fit for an error body: an unknown field's name, or any name that is not an identifier,
    is shown as '?' (a JSON key is the caller's text, and can be comment text)."""
    parts = [str(p) if isinstance(p, int) or FIELD_NAME.match(str(p)) else "?" for p in location]
    if parts and "extra inputs" in message.lower():
        parts[-1] = "?"
    return ".".join(parts)


def validation_handler(_: Request[Any, Any, Any], exc: ValidationException) -> Response[dict[str, Any]]:
    # Only field names and messages: the offending value may be comment text, and so may an unknown key.
    items = exc.extra if isinstance(exc.extra, list) else []
    fields = [
        {
            "field": safe_location(str(e.get("key", "")).split("."), str(e.get("message", ""))) if e.get("key") else "",
            # Litestar quotes the rejected value in some messages ("Invalid enum value '...'"): drop quoted parts.
            "message": QUOTED.sub("", str(e.get("message", ""))),
        }
        for e in items
        if isinstance(e, dict)
    ]
    detail = "; ".join(f"{f['field'] or 'body'}: {f['message']}" for f in fields) or "invalid request"
    return problem(400, "invalid-input", "Invalid input", detail, errors=fields)


def http_error_handler(_: Request[Any, Any, Any], exc: HTTPException) -> Response[dict[str, Any]]:
    status = exc.status_code
    if status >= HTTP_500_INTERNAL_SERVER_ERROR:
        log.error("HTTP %d: %s", status, type(exc).__name__)
        return problem(status, "internal", "Internal error", "the server failed; see its log")
    # Litestar's own headers (Allow on a 405, RateLimit-* on a 429) are kept.
    headers = {str(k): str(v) for k, v in (exc.headers or {}).items()}
    if status == 429:
        headers["Retry-After"] = headers.get("RateLimit-Reset", "60")
        detail = f"rate limit of this API key reached; retry in {headers['Retry-After']} s"
        return problem(429, "rate-limited", "Too many requests", detail, headers=headers)
    if status == 413:
        return problem(413, "payload-too-large", "Payload too large", "the request body is over the size limit")
    # Litestar's details name the problem (e.g. 'Method Not Allowed'), never a request's values.
    return problem(status, f"http-{status}", str(exc.detail or "error"), str(exc.detail or "error"), headers=headers)


def internal_error_handler(_: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    log.exception("unhandled %s", type(exc).__name__)
    return problem(500, "internal", "Internal error", "the server failed; see its log")


HANDLERS: ExceptionHandlersMap = {
    errors.TriageError: triage_error_handler,
    ValidationException: validation_handler,
    HTTPException: http_error_handler,
    Exception: internal_error_handler,
}


PROBLEM_SCHEMA = Schema(
    type=OpenAPIType.OBJECT,
    required=["type", "title", "status", "detail"],
    properties={
        "type": Schema(type=OpenAPIType.STRING, description="A URI naming the kind of problem."),
        "title": Schema(type=OpenAPIType.STRING),
        "status": Schema(type=OpenAPIType.INTEGER),
        "detail": Schema(type=OpenAPIType.STRING, description="Never comment text, keys or prompts."),
        "field": Schema(type=OpenAPIType.STRING, description="The input at fault, when one is."),
        "errors": Schema(
            type=OpenAPIType.ARRAY,
            items=Schema(
                type=OpenAPIType.OBJECT,
                properties={"field": Schema(type=OpenAPIType.STRING), "message": Schema(type=OpenAPIType.STRING)},
            ),
        ),
    },
)
DOCUMENTED = {
    400: "Invalid input (problem+json names the field).",
    401: "Missing, unknown or revoked API key.",
    403: "The key's role may not do this.",
    404: "Not found, or not visible to this key.",
    409: "Not possible in the current state (e.g. the run has not finished).",
    413: "The request body is over the size limit.",
    429: "Rate limit of this API key reached; retry after Retry-After seconds.",
    500: "The server failed (details only in its log).",
}


def _problem_response(status: int) -> OpenAPIResponse:
    headers: dict[str, OpenAPIHeader | Reference] | None = None
    if status == 429:
        headers = {"Retry-After": OpenAPIHeader(schema=Schema(type=OpenAPIType.INTEGER), description="Seconds.")}
    return OpenAPIResponse(
        description=DOCUMENTED[status],
        content={PROBLEM_JSON: OpenAPIMediaType(schema=Reference("#/components/schemas/Problem"))},
        headers=headers,
    )


def _model_constraints(schemas: dict[str, Schema], model: Any) -> None:
    """What Litestar leaves out of a pydantic model's schema: extra="forbid" and `json_schema_extra` bounds."""
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return
    component = schemas.get(model.__name__)
    if not isinstance(component, Schema):
        return
    if model.model_config.get("extra") == "forbid":
        component.additional_properties = False
    extra = model.model_config.get("json_schema_extra")
    bound = extra.get("minProperties") if isinstance(extra, dict) else None
    if isinstance(bound, int):
        component.min_properties = bound


def _text_schema(media_type: str) -> Schema:
    if media_type.startswith("text/"):
        return Schema(type=OpenAPIType.STRING)
    return Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)


def _statuses(operation: Operation, opt: dict[str, Any], method: str) -> list[int]:
    statuses = [500]
    has_input = bool(operation.parameters) or operation.request_body is not None or method in ("POST", "PUT", "PATCH")
    if has_input:
        statuses += [400, 413]
    if opt.get("roles") is not None:
        statuses += [401, 403, 404, 409]
    if opt.get("rate_limit"):
        statuses.append(429)
    return sorted(statuses)


def document_problems(app: Litestar) -> None:
    """Every operation lists the problems it can answer; public ones are marked as needing no key.

    Run at start-up, before the schema is first served (Litestar builds it once and caches it).
    """
    schema = app.openapi_schema
    schema.components = schema.components or Components()
    schema.components.schemas = {**(schema.components.schemas or {}), "Problem": PROBLEM_SCHEMA}
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or schema.paths is None or route.path_format not in schema.paths:
            continue
        item = schema.paths[route.path_format]
        for handler in route.route_handlers:
            if not handler.include_in_schema:
                continue
            for method in handler.http_methods:
                operation = getattr(item, method.lower(), None)
                if not isinstance(operation, Operation):
                    continue
                if handler.opt.get("request_body") is not None:
                    operation.request_body = handler.opt["request_body"]
                data = handler.parsed_fn_signature.parameters.get("data")
                _model_constraints(schema.components.schemas, data.annotation if data else None)
                responses = dict(operation.responses or {})
                for status in _statuses(operation, handler.opt, method):
                    if status == 400 or str(status) not in responses:  # Litestar's own 400 says application/json
                        responses[str(status)] = _problem_response(status)
                if handler.opt.get("page"):
                    responses["303"] = OpenAPIResponse(
                        description="No key: to the sign-in form, which comes back here.",
                        headers={"Location": OpenAPIHeader(schema=Schema(type=OpenAPIType.STRING))},
                    )
                ok = responses.get(str(handler.status_code))
                if isinstance(ok, OpenAPIResponse) and handler.opt.get("content_types"):
                    json_content = (ok.content or {}).get("application/json")
                    ok.content = {
                        media: json_content
                        if media == "application/json" and json_content
                        else OpenAPIMediaType(schema=_text_schema(media))
                        for media in handler.opt["content_types"]
                    }
                operation.responses = responses
                if handler.opt.get("roles") is None:
                    operation.security = []
