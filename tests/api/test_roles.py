"""The complete role matrix: every route of the app x every role, no key, an unknown key and a revoked key.

The routes come from `app.routes`, so a new endpoint without an entry in MATRIX fails
`test_every_route_has_a_matrix_entry`; an entry for a route that no longer exists fails it too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from litestar.routes import HTTPRoute
from litestar.testing import TestClient

from tests.api.conftest import ROLES, auth
from triage import pipeline

PUBLIC = None
READERS = frozenset({"manager", "hr", "admin"})


@dataclass(frozen=True)
class Call:
    """Who may call a route (None: public) and one request to make on it."""

    roles: frozenset[str] | None
    path: str  # {run} and {caller} are filled in
    body: Callable[[str], Any] | None = None
    sign_in: bool = False  # POST /login: the caller's key goes in the form, not the header


def _dataset(caller: str) -> dict[str, Any]:
    return {"name": f"role-matrix-{caller}", "rows": [{"text": "the laptop took three weeks", "provider": "IT"}]}


MATRIX: dict[tuple[str, str], Call] = {
    ("GET", "/health"): Call(PUBLIC, "/health"),
    ("GET", "/login"): Call(PUBLIC, "/login"),
    ("POST", "/login"): Call(PUBLIC, "/login", sign_in=True),
    ("GET", "/schema"): Call(PUBLIC, "/schema"),
    ("GET", "/schema/openapi.json"): Call(PUBLIC, "/schema/openapi.json"),
    ("GET", "/schema/swagger"): Call(PUBLIC, "/schema/swagger"),
    ("GET", "/schema/oauth2-redirect.html"): Call(PUBLIC, "/schema/oauth2-redirect.html"),
    ("GET", "/schema/{path:str}"): Call(PUBLIC, "/schema/openapi.yaml"),
    ("POST", "/v1/datasets"): Call(frozenset({"manager", "admin"}), "/v1/datasets", _dataset),
    ("POST", "/v1/datasets/{dataset_id:str}/runs"): Call(
        frozenset({"manager", "admin"}), "/v1/datasets/00000000nosuchid/runs"
    ),
    ("GET", "/v1/runs/{run_id:str}"): Call(READERS, "/v1/runs/{run}"),
    ("GET", "/v1/reports/{run_id:str}"): Call(READERS, "/v1/reports/{run}?format=csv"),
    ("GET", "/reports/{run_id:str}"): Call(READERS, "/reports/{run}"),
    ("POST", "/v1/triage"): Call(
        frozenset({"integrator", "admin"}), "/v1/triage", lambda _: {"text": "the laptop took three weeks"}
    ),
    ("GET", "/v1/comments/{comment_id:int}"): Call(frozenset({"hr", "admin"}), "/v1/comments/1"),
    ("GET", "/v1/urgent"): Call(frozenset({"hr"}), "/v1/urgent"),
    ("GET", "/v1/actions"): Call(READERS, "/v1/actions"),
    ("POST", "/v1/actions"): Call(
        READERS,
        "/v1/actions",
        lambda _: {"run_id": "nosuchrun", "provider": "IT", "theme_id": "t", "action_index": 0, "owner": "o"},
    ),
    ("PATCH", "/v1/actions/{action_id:int}"): Call(READERS, "/v1/actions/99999", lambda _: {"status": "done"}),
    ("GET", "/v1/themes/examples"): Call(frozenset({"hr", "admin"}), "/v1/themes/examples"),
    # An unknown theme id: the allowed roles get past the guard to a 400, and nothing is stored.
    ("POST", "/v1/themes/examples"): Call(
        frozenset({"hr", "admin"}), "/v1/themes/examples", lambda _: {"text": "slow", "theme_id": "no_such_theme"}
    ),
    ("POST", "/v1/themes/refit"): Call(frozenset({"hr", "admin"}), "/v1/themes/refit"),
    ("GET", "/v1/audit"): Call(frozenset({"admin"}), "/v1/audit?limit=5"),
}
CALLERS = [*ROLES, "no-key", "unknown-key", "revoked-key"]
CASES = [(route, caller) for route in MATRIX for caller in CALLERS]


def _app_routes(client: TestClient) -> set[tuple[str, str]]:  # type: ignore[type-arg]
    """(method, path) of every handler; OPTIONS handlers are Litestar's own (tested below)."""
    return {
        (method, route.path)
        for route in client.app.routes
        if isinstance(route, HTTPRoute)
        for handler in route.route_handlers
        for method in handler.http_methods
        if method != "OPTIONS"
    }


@pytest.fixture(scope="module")
def callers(keys: dict[str, str], analysed: tuple[pipeline.Services, str, str]) -> dict[str, str | None]:
    revoked = analysed[0].sql.create_key("admin", "role-matrix-revoked")
    assert analysed[0].sql.revoke_key(revoked[:12])
    return {**keys, "no-key": None, "unknown-key": "trg_" + "x" * 32, "revoked-key": revoked}


def test_every_route_has_a_matrix_entry(api: TestClient) -> None:  # type: ignore[type-arg]
    routes = _app_routes(api)
    assert routes - MATRIX.keys() == set(), "add these routes to MATRIX with the roles they allow"
    assert MATRIX.keys() - routes == set(), "these MATRIX entries name routes the app no longer has"
    declared = {
        (method, route.path): handler.opt.get("roles")
        for route in api.app.routes
        if isinstance(route, HTTPRoute)
        for handler in route.route_handlers
        for method in handler.http_methods
        if method != "OPTIONS"
    }
    for key, call in MATRIX.items():
        roles = declared[key]
        assert (None if roles is None else frozenset(roles)) == call.roles, key


@pytest.mark.parametrize(("route", "caller"), CASES, ids=[f"{m} {p} as {c}" for (m, p), c in CASES])
def test_role_matrix(
    api: TestClient,  # type: ignore[type-arg]
    callers: dict[str, str | None],
    run_id: str,
    route: tuple[str, str],
    caller: str,
) -> None:
    method, _ = route
    call = MATRIX[route]
    key = callers[caller]
    api.cookies.clear()
    response = api.request(
        method,
        call.path.format(run=run_id),
        json=call.body(caller) if call.body else None,
        data={"key": key or "", "next": "/"} if call.sign_in else None,
        headers=auth(key) if key and not call.sign_in else {},
        follow_redirects=False,
    )
    assert response.status_code < 500, response.text
    if call.sign_in:  # only keys that may read reports get the cookie
        assert response.status_code == (303 if caller in READERS else 401), caller
        assert ("triage_key" in response.cookies) == (caller in READERS)
        return
    if call.roles is None or caller in call.roles:
        assert response.status_code not in (401, 403), response.text
        return
    if caller in ROLES:
        assert response.status_code == 403, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["type"].endswith("/forbidden")
        return
    if caller == "no-key" and route[1].startswith("/reports/"):
        assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")
        return
    assert response.status_code == 401, response.text
    problem = response.json()
    assert problem["type"].endswith("/unauthorized") and response.headers["www-authenticate"]
    if key:
        assert key not in response.text


def test_options_is_public_and_reveals_nothing(api: TestClient) -> None:  # type: ignore[type-arg]
    paths = {route.path for route in api.app.routes if isinstance(route, HTTPRoute)}
    for path in sorted(paths):
        concrete = path.replace("{run_id:str}", "r").replace("{dataset_id:str}", "d").replace(":int}", "}")
        concrete = concrete.replace("{comment_id}", "1").replace("{action_id}", "1").replace("{path:str}", "x")
        response = api.options(concrete)
        assert response.status_code == 204 and response.content == b"", path
        assert "allow" in response.headers, path
