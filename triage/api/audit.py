"""The audit log: who read or exported which report, queue or comment, when and from where.

A route takes part by naming its action in `opt["audit"]` (e.g. `"report.read"`); `AuditMiddleware` records
each such request with the caller's key id, name and role, the target (from the path), the format, the
response status, the client address and user agent. A request that a valid key was refused (403) is recorded
on every route as `access.denied`. Nothing of a request's body is recorded.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Annotated, Any
from urllib.parse import parse_qs

import anyio.to_thread
from litestar import get
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.params import Parameter
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from triage.pipeline import Services
from triage.store.sql import KeyInfo
from triage.types import AuditEvent

log = logging.getLogger(__name__)

DENIED = "access.denied"
# Path parameter -> the kind of thing it names.
DEFAULT_FORMAT = {"report.read": "json", "report.page": "html"}
TARGETS = {"run_id": "run", "comment_id": "comment", "dataset_id": "dataset", "action_id": "action"}


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


def _query_value(scope: Scope, name: str) -> str | None:
    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get(name)
    return values[0] if values else None


def event_fields(scope: Scope, action: str, status: int, caller: KeyInfo | None) -> dict[str, Any]:
    """The columns of one audit event, from the request scope (never its body)."""
    params: dict[str, Any] = scope.get("path_params") or {}
    target_type = target_id = None
    for name, kind in TARGETS.items():
        if name in params:
            target_type, target_id = kind, str(params[name])[:64]
            break
    if target_type is None and action != DENIED:
        target_type = action.split(".")[0]
    fmt = DEFAULT_FORMAT.get(action) if action == "report.page" else _query_value(scope, "format")
    fmt = fmt or DEFAULT_FORMAT.get(action)
    query = scope.get("query_string", b"").decode("latin-1")
    path = scope.get("path", "") + (f"?{query}" if query else "")
    client = scope.get("client")
    return {
        "key_id": caller.id if caller else None,
        "key_name": caller.name[:200] if caller else None,
        "role": caller.role if caller else None,
        "action": action,
        "target_type": target_type,
        "target_id": target_id,
        "format": str(fmt)[:10] if fmt else None,
        "status": status,
        "method": str(scope.get("method", "GET"))[:10],
        "path": path[:500],
        "client": str(client[0])[:64] if client else None,
        "user_agent": (_header(scope, b"user-agent") or "")[:200] or None,
    }


class AuditMiddleware(ASGIMiddleware):
    """Records audited routes (opt["audit"]) and every refusal of a valid key, after the response is sent."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        status = 0

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        await next_app(scope, receive, capture)
        caller: KeyInfo | None = (scope.get("state") or {}).get("caller")
        action = scope["route_handler"].opt.get("audit")
        if status == 403 and caller is not None:
            action = DENIED
        if action is None or status == 0:
            return
        if caller is None and status in (401, 303):
            return  # no key, or an unknown one: nobody to name, and a flood of these must not fill the table
        services: Services = scope["litestar_app"].state.services
        fields = event_fields(scope, action, status, caller)
        try:
            await anyio.to_thread.run_sync(lambda: services.sql.add_audit_event(**fields))
        except Exception:  # the response is sent; a failed audit write is an operator's alarm, not the caller's
            log.exception("audit event %s could not be written", action)


@get("/v1/audit", opt={"roles": ("admin",), "audit": "audit.read"}, sync_to_thread=True)
def read_audit_log(
    services: Services,
    action: Annotated[
        str | None, Parameter(max_length=40, description="e.g. report.read, report.page, access.denied")
    ] = None,
    key_id: Annotated[int | None, Parameter(description="Only events of this key.")] = None,
    target_id: Annotated[str | None, Parameter(max_length=64, description="A run or comment id.")] = None,
    since: Annotated[dt.datetime | None, Parameter(description="Events at or after this time (ISO 8601).")] = None,
    limit: Annotated[int, Parameter(ge=1, le=1000, description="At most this many events.")] = 100,
) -> list[AuditEvent]:
    """The audit log, newest first (admin only): who read or exported which report, queue or comment."""
    return services.sql.audit_events(action, key_id, target_id, since, limit)


AUDIT_ROUTES = [read_audit_log]
