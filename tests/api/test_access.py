"""Every endpoint against every role, and without a key."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

from tests.api.conftest import ROLES, auth

# (method, path template, json body, roles allowed)
ENDPOINTS: list[tuple[str, str, Any, set[str]]] = [
    (
        "POST",
        "/v1/datasets",
        {"name": "access-matrix", "rows": [{"text": "fine", "provider": "IT"}]},
        {"manager", "admin"},
    ),
    ("POST", "/v1/datasets/{dataset}/runs", None, {"manager", "admin"}),
    ("GET", "/v1/runs/{run}", None, {"manager", "hr", "admin"}),
    ("GET", "/v1/reports/{run}", None, {"manager", "hr", "admin"}),
    ("POST", "/v1/triage", {"text": "laptop took three weeks"}, {"integrator", "admin"}),
    ("GET", "/v1/comments/{comment}", None, {"hr", "admin"}),
    ("GET", "/v1/actions", None, {"manager", "hr", "admin"}),
    ("GET", "/v1/urgent", None, {"hr"}),
    (
        "POST",
        "/v1/actions",
        {"run_id": "r", "provider": "IT", "theme_id": "t", "action_index": 0, "owner": "o"},
        {"manager", "hr", "admin"},
    ),
    ("PATCH", "/v1/actions/99999", {"status": "done"}, {"manager", "hr", "admin"}),
    ("GET", "/reports/{run}", None, {"manager", "hr", "admin"}),
]
CASES = [(e, role) for e in ENDPOINTS for role in ROLES]


def _path(template: str, dataset_id: str, run_id: str) -> str:
    return template.format(dataset="00000000nosuchid", run=run_id, comment=1)


@pytest.mark.parametrize(("endpoint", "role"), CASES, ids=[f"{e[0]} {e[1]} as {r}" for e, r in CASES])
def test_role_matrix(
    api: TestClient,
    keys: dict[str, str],
    run_id: str,
    endpoint: tuple[str, str, Any, set[str]],
    role: str,  # type: ignore[type-arg]
) -> None:
    method, template, body, allowed = endpoint
    response = api.request(method, _path(template, "", run_id), json=body, headers=auth(keys[role]))
    if role in allowed:
        assert response.status_code not in (401, 403), response.text
    else:
        assert response.status_code == 403
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["type"].endswith("/forbidden")


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[f"{e[0]} {e[1]}" for e in ENDPOINTS])
@pytest.mark.parametrize("key", [None, "trg_not-a-real-key"], ids=["no-key", "unknown-key"])
def test_missing_or_unknown_key_is_401(
    api: TestClient,
    run_id: str,
    endpoint: tuple[str, str, Any, set[str]],
    key: str | None,  # type: ignore[type-arg]
) -> None:
    method, template, body, _ = endpoint
    headers = auth(key) if key else {}
    response = api.request(method, _path(template, "", run_id), json=body, headers=headers, follow_redirects=False)
    if template.startswith("/reports/") and key is None:
        assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")
        return
    assert response.status_code == 401
    problem = response.json()
    assert problem["status"] == 401 and problem["title"]
    assert "key" not in problem["detail"].lower() or "trg_" not in problem["detail"]


def test_health_and_schema_are_public(api: TestClient) -> None:  # type: ignore[type-arg]
    assert api.get("/health").json() == {"status": "ok"}
    schema = api.get("/schema/openapi.json").json()
    assert "/v1/triage" in schema["paths"] and "/v1/reports/{run_id}" in schema["paths"]


def test_revoked_key_is_refused(api: TestClient, analysed: Any) -> None:  # type: ignore[type-arg]
    services = analysed[0]
    key = services.sql.create_key("integrator", "revoke-me")
    assert api.post("/v1/triage", json={"text": "slow"}, headers=auth(key)).status_code == 200
    services.sql.revoke_key(key[:12])
    assert api.post("/v1/triage", json={"text": "slow"}, headers=auth(key)).status_code == 401
