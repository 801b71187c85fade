"""API keys in the X-API-Key header, checked against the roles each route names in `opt["roles"]`."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

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
    if caller.role not in roles:
        raise Forbidden(f"the {caller.role} role may not do this")
    connection.state.caller = caller


def provide_caller(request: ASGIConnection[Any, Any, Any, Any]) -> KeyInfo:
    caller: KeyInfo = request.state.caller
    return caller


def check_owner(caller: KeyInfo, owner_key_id: int | None, what: str) -> None:
    """Managers see only what they uploaded or started; say 'not found' so ids of others stay unknown."""
    if caller.role == "manager" and owner_key_id != caller.id:
        raise NotFound(f"{what} not found")
