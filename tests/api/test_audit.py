"""The audit log: who read or exported which report, the urgent queue or a comment, when and from where."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from litestar.testing import TestClient

from tests.api.conftest import auth
from triage.store.sql import KeyInfo


def _new_key(analysed: Any, role: str, name: str) -> tuple[str, KeyInfo]:
    sql = analysed[0].sql
    key = sql.create_key(role, name)
    info = sql.verify_key(key)
    assert info is not None
    return key, info


def _events(api: TestClient, admin_key: str, **query: Any) -> list[dict[str, Any]]:  # type: ignore[type-arg]
    response = api.get("/v1/audit", params=query, headers=auth(admin_key))
    assert response.status_code == 200, response.text
    events: list[dict[str, Any]] = response.json()
    return events


@pytest.mark.parametrize(
    ("path", "action", "fmt", "target"),
    [
        ("/v1/reports/{run}", "report.read", "json", "run"),
        ("/v1/reports/{run}?format=csv", "report.read", "csv", "run"),
        ("/v1/reports/{run}?format=md", "report.read", "md", "run"),
        ("/reports/{run}?provider=IT", "report.page", "html", "run"),
        ("/v1/urgent", "urgent.read", None, "urgent"),
        ("/v1/comments/1", "comment.read", None, "comment"),
    ],
    ids=["report-json", "report-csv", "report-md", "report-page", "urgent-queue", "comment"],
)
def test_each_read_is_recorded_with_who_what_when_and_where(
    api: TestClient,  # type: ignore[type-arg]
    keys: dict[str, str],
    run_id: str,
    analysed: Any,
    path: str,
    action: str,
    fmt: str | None,
    target: str,
) -> None:
    key, info = _new_key(analysed, "hr", f"audit-{action}-{fmt}")
    before = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    url = path.format(run=run_id)
    response = api.get(url, headers={**auth(key), "User-Agent": "audit-test/1.0"})
    assert response.status_code == 200
    (event,) = _events(api, keys["admin"], key_id=info.id)
    assert event["key_id"] == info.id and event["key_name"] == info.name and event["role"] == "hr"
    assert event["action"] == action and event["format"] == fmt and event["status"] == 200
    assert event["target_type"] == target
    assert event["target_id"] == {"run": run_id, "comment": "1", "urgent": None}[target]
    assert event["method"] == "GET" and event["path"] == url
    assert event["client"] == "testclient" and event["user_agent"] == "audit-test/1.0"
    assert before <= dt.datetime.fromisoformat(event["at"]) <= dt.datetime.now(dt.UTC)


def test_the_page_and_its_exports_read_with_the_sign_in_cookie_are_recorded(
    api: TestClient,  # type: ignore[type-arg]
    keys: dict[str, str],
    run_id: str,
    analysed: Any,
) -> None:
    key, info = _new_key(analysed, "hr", "audit-cookie")
    api.cookies.clear()
    assert api.post("/login", data={"key": key, "next": "/"}, follow_redirects=False).status_code == 303
    page = api.get(f"/reports/{run_id}")
    assert page.status_code == 200
    exports = re.findall(r'href="(/v1/reports/[^"]+\?format=(\w+))"', page.text)
    assert {fmt for _, fmt in exports} == {"csv", "md", "json"}
    for href, _ in exports:
        assert api.get(href).status_code == 200  # the cookie alone: as a browser follows the link
    api.cookies.clear()
    events = _events(api, keys["admin"], key_id=info.id)
    assert [(e["action"], e["format"]) for e in reversed(events)] == [
        ("report.page", "html"),
        *[("report.read", fmt) for _, fmt in exports],
    ]
    assert {e["target_id"] for e in events} == {run_id}


def test_refusals_are_recorded_but_not_requests_without_a_valid_key(
    api: TestClient,  # type: ignore[type-arg]
    keys: dict[str, str],
    run_id: str,
    analysed: Any,
) -> None:
    integrator, integrator_info = _new_key(analysed, "integrator", "audit-denied")
    manager, manager_info = _new_key(analysed, "manager", "audit-stranger")
    assert api.get(f"/v1/reports/{run_id}?format=csv", headers=auth(integrator)).status_code == 403
    assert api.post("/v1/datasets", json={"name": "x", "rows": [{"text": "secret words"}]}, headers=auth(integrator))
    assert api.get(f"/v1/reports/{run_id}", headers=auth(manager)).status_code == 404  # not their run
    total = len(_events(api, keys["admin"], limit=1000))
    assert api.get(f"/v1/reports/{run_id}", headers=auth("trg_unknown")).status_code == 401
    assert api.get(f"/v1/reports/{run_id}").status_code == 401
    # Only the admin's own read of the log was added by those two.
    assert len(_events(api, keys["admin"], limit=1000)) == total + 1

    denied = _events(api, keys["admin"], key_id=integrator_info.id)
    assert [(e["action"], e["status"], e["method"]) for e in reversed(denied)] == [
        ("access.denied", 403, "GET"),
        ("access.denied", 403, "POST"),
    ]
    assert denied[1]["target_id"] == run_id and denied[0]["path"] == "/v1/datasets"
    assert all("secret" not in str(e) for e in denied)  # never a request body
    (stranger,) = _events(api, keys["admin"], key_id=manager_info.id)
    assert (stranger["action"], stranger["status"], stranger["role"]) == ("report.read", 404, "manager")


def test_the_log_filters_and_records_its_own_reads(
    api: TestClient,  # type: ignore[type-arg]
    run_id: str,
    analysed: Any,
) -> None:
    admin, admin_info = _new_key(analysed, "admin", "audit-reader")
    hr, hr_info = _new_key(analysed, "hr", "audit-filters")
    for fmt in ("json", "csv", "md"):
        api.get(f"/v1/reports/{run_id}?format={fmt}", headers=auth(hr))
    mine = _events(api, admin, key_id=hr_info.id)
    assert [e["format"] for e in mine] == ["md", "csv", "json"]  # newest first
    assert len(_events(api, admin, key_id=hr_info.id, limit=2)) == 2
    by_target = _events(api, admin, target_id=run_id, action="report.read", limit=1000)
    assert {e["id"] for e in mine} <= {e["id"] for e in by_target}
    assert all(e["action"] == "report.read" and e["target_id"] == run_id for e in by_target)
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
    assert _events(api, admin, since=future) == []
    reads = _events(api, admin, key_id=admin_info.id, action="audit.read")
    assert len(reads) == 4 and reads[0]["role"] == "admin"  # this read is recorded once it is answered
    bad = api.get("/v1/audit?limit=0", headers=auth(admin))
    assert bad.status_code == 400 and bad.headers["content-type"].startswith("application/problem+json")
