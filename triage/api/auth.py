"""API keys in the X-API-Key header, checked against the roles each route names in `opt["roles"]`.

`AccessControl` wires the rest of access and abuse into an app: the audit log, rate limits per key on the
routes that name a bucket in `opt["rate_limit"]`, and the problem responses in the OpenAPI document.
"""

from __future__ import annotations

import hashlib
from typing import Any

from litestar import Request
from litestar.config.app import AppConfig
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware.base import DefineMiddleware
from litestar.middleware.rate_limit import DurationUnit, RateLimitConfig
from litestar.plugins import InitPlugin

from triage.api.audit import AUDIT_ROUTES, AuditMiddleware
from triage.api.problems import document_problems
from triage.config import ApiSettings
from triage.errors import Forbidden, NotFound, Unauthorized
from triage.pipeline import Services
from triage.store.sql import KeyInfo

HEADER = "X-API-Key"
COOKIE = "triage_key"
READ_ALL = ("hr", "admin")


class LoginRequired(Unauthorized):
    """A browser asked for a page without a key: send it to the sign-in form."""


def role_guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    """Every route names its roles; a route without `roles` is public (health, docs)."""
    roles = handler.opt.get("roles")
    if roles is None:
        return
    key = connection.headers.get(HEADER)
    if not key and connection.scope.get("method") == "GET":
        # Only reads accept the sign-in cookie, so a cookie can never trigger a write (no CSRF surface).
        key = connection.cookies.get(COOKIE)
    if not key:
        if handler.opt.get("page"):
            raise LoginRequired("sign in to see this page")
        raise Unauthorized(f"send an API key in the {HEADER} header")
    services: Services = connection.app.state.services
    caller = services.sql.verify_key(key)
    if caller is None:
        raise Unauthorized("unknown or revoked API key")
    connection.state.caller = caller  # also on a refusal: the audit log names who was refused
    if caller.role not in roles:
        raise Forbidden(f"the {caller.role} role may not do this")


def provide_caller(request: ASGIConnection[Any, Any, Any, Any]) -> KeyInfo:
    caller: KeyInfo = request.state.caller
    return caller


def check_owner(caller: KeyInfo, owner_key_id: int | None, what: str) -> None:
    """Managers see only what they uploaded or started; say 'not found' so ids of others stay unknown."""
    if caller.role == "manager" and owner_key_id != caller.id:
        raise NotFound(f"{what} not found")


def _presented_key(request: Request[Any, Any, Any]) -> str | None:
    key = request.headers.get(HEADER)
    if not key and request.method == "GET":
        key = request.cookies.get(COOKIE)
    return key or None


def rate_limit_identity(request: Request[Any, Any, Any]) -> str:
    """The bucket of a request: its API key (hashed, never kept in the clear), else its client address."""
    key = _presented_key(request)
    if key:
        return "key:" + hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()[:32]
    return "ip:" + (request.client.host if request.client else "unknown")


def rate_limits(api: ApiSettings) -> list[DefineMiddleware]:
    """One limiter per bucket; a route joins a bucket with `opt={"rate_limit": "triage" | "upload"}`."""
    buckets: dict[str, tuple[DurationUnit, int]] = {
        "triage": ("minute", api.triage_per_minute),
        "upload": ("hour", api.uploads_per_hour),
    }
    limits = []
    for bucket, (unit, count) in buckets.items():
        if count <= 0:
            continue

        def in_bucket(request: Request[Any, Any, Any], bucket: str = bucket) -> bool:
            return bool(request.route_handler.opt.get("rate_limit") == bucket)

        config = RateLimitConfig(
            rate_limit=(unit, count),
            identifier_for_request=rate_limit_identity,
            check_throttle_handler=in_bucket,
            store=f"rate_limit_{bucket}",
        )
        limits.append(config.middleware)
    return limits


class AccessControl(InitPlugin):
    """Audit log, per-key rate limits and documented problem responses, from the API settings."""

    def __init__(self, api: ApiSettings) -> None:
        self._api = api

    def on_app_init(self, app_config: AppConfig) -> AppConfig:
        app_config.route_handlers = [*app_config.route_handlers, *AUDIT_ROUTES]
        app_config.middleware = [AuditMiddleware(), *rate_limits(self._api), *app_config.middleware]
        app_config.on_startup = [*app_config.on_startup, document_problems]
        return app_config
