"""Uploads, runs, reports, triage and comments through the real app."""

from __future__ import annotations

import time
from typing import Any

import pytest
from litestar.testing import TestClient

from tests.api.conftest import auth
from tests.conftest import EXAMPLE_SURVEY
from triage.api.app import create_app
from triage.config import Settings


def test_json_upload_reports_bad_rows_and_deduplicates(api: TestClient, keys: dict[str, str]) -> None:  # type: ignore[type-arg]
    rows: list[dict[str, Any]] = [
        {"text": "VPN tickets sit for a week", "provider": "IT", "rating": 2, "respondent": "e1"},
        {"text": "", "provider": "IT"},
        {"text": "great help", "provider": "HR", "rating": 7},
        {"text": "call me on +1 415 555 0134", "provider": "HR", "respondent": "e2"},
    ]
    first = api.post("/v1/datasets", json={"name": "json-upload", "rows": rows}, headers=auth(keys["manager"]))
    assert first.status_code == 201, first.text
    body = first.json()
    assert (body["accepted"], body["duplicates"]) == (2, 0)
    assert [(r["row"], r["reason"].split(":")[0]) for r in body["rejected"]] == [(2, "text"), (3, "rating")]
    again = api.post("/v1/datasets", json={"name": "json-upload", "rows": rows}, headers=auth(keys["manager"]))
    assert again.json()["id"] == body["id"]
    assert (again.json()["accepted"], again.json()["duplicates"]) == (0, 2)


def test_multipart_upload_of_the_example_survey(api: TestClient, keys: dict[str, str]) -> None:  # type: ignore[type-arg]
    files = {"file": ("survey.csv", EXAMPLE_SURVEY.read_bytes(), "text/csv")}
    response = api.post("/v1/datasets", files=files, data={"name": "multipart"}, headers=auth(keys["admin"]))
    assert response.status_code == 201, response.text
    assert response.json()["accepted"] == 360 and response.json()["rejected"] == []


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"json": {"rows": [{"text": "x"}]}}, "name"),
        ({"json": {"name": "n", "rows": []}}, "rows"),
        # An unknown key is the caller's text (it could be comment text): named "?" in the error, never echoed.
        ({"json": {"name": "n", "rows": [{"text": "x"}], "zz_unknown": 1}}, "?"),
        ({"content": b"{not json", "headers": {"Content-Type": "application/json"}}, None),
        ({"content": b"text\nhi", "headers": {"Content-Type": "text/csv"}}, "content-type"),
        ({"files": {"file": ("survey.pdf", b"%PDF", "application/pdf")}}, "file"),
        ({"files": {"other": ("a.csv", b"text\nhi", "text/csv")}}, "file"),
        ({"files": {"file": ("a.csv", b"provider\nIT", "text/csv")}}, "text"),
    ],
    ids=[
        "no-name",
        "no-rows",
        "unknown-field",
        "not-json",
        "wrong-content-type",
        "pdf",
        "no-file-part",
        "no-text-column",
    ],
)
def test_bad_uploads_are_400_problems_naming_the_field(
    api: TestClient,
    keys: dict[str, str],
    kwargs: dict[str, Any],
    field: str | None,  # type: ignore[type-arg]
) -> None:
    headers = {**kwargs.pop("headers", {}), **auth(keys["manager"])}
    response = api.post("/v1/datasets", headers=headers, **kwargs)
    assert response.status_code == 400, response.text
    problem = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    if field:
        assert problem.get("field") == field or field in problem["detail"]
    assert "zz_unknown" not in response.text


def test_upload_over_the_size_limit_is_413(analysed: Any) -> None:
    services = analysed[0]
    settings = Settings(data_dir=services.settings.data_dir, api={"max_upload_bytes": 1000})
    key = services.sql.create_key("manager", "small")
    with TestClient(app=create_app(settings, services=services)) as client:
        files = {"file": ("survey.csv", EXAMPLE_SURVEY.read_bytes(), "text/csv")}
        response = client.post("/v1/datasets", files=files, headers=auth(key))
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")


def test_run_report_and_evidence_over_the_api(api: TestClient, keys: dict[str, str]) -> None:  # type: ignore[type-arg]
    manager, hr = auth(keys["manager"]), auth(keys["hr"])
    rows = [
        {"text": text, "provider": "IT", "respondent": f"e{i}", "rating": 2}
        for i, text in enumerate(
            [
                "Waited three weeks for a laptop, nobody told me anything.",
                "My access request took nine days to be approved.",
                "Tickets sit in the queue for days before anyone looks.",
                "Still waiting on the VPN fix I asked for last month.",
                "Password resets take two days, every time.",
                "Took a fortnight to get a monitor.",
                "New starter had no laptop for her first week.",
            ]
        )
    ]
    dataset = api.post("/v1/datasets", json={"name": "it-small", "rows": rows}, headers=manager).json()
    created = api.post(f"/v1/datasets/{dataset['id']}/runs", headers=manager)
    assert created.status_code == 202 and created.json()["status"] == "queued"
    run_id = created.json()["id"]
    status: dict[str, Any] = {}
    polled: list[float] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = api.get(f"/v1/runs/{run_id}", headers=manager).json()
        assert 0.0 <= status["progress"] <= 1.0
        polled.append(status["progress"])
        if status["status"] in ("succeeded", "failed"):
            break
        time.sleep(0.2)
    assert status["status"] == "succeeded", status
    assert polled == sorted(polled) and polled[-1] == 1.0 and status["stage"] == "done"  # stored progress only grows
    assert status["created_at"].endswith(("Z", "+00:00")) and status["finished_at"].endswith(("Z", "+00:00"))
    report = api.get(f"/v1/reports/{run_id}", headers=manager).json()
    (provider,) = report["providers"]
    assert provider["provider"] == "IT" and provider["comments"] == 7
    top = provider["themes"][0]
    assert top["id"] == "slow_response" and top["count"] >= 5
    assert top["summarizer"] == "offline" and 1 <= len(top["actions"]) <= 3
    for action in top["actions"]:
        for comment_id in action["evidence"]:
            comment = api.get(f"/v1/comments/{comment_id}", headers=hr).json()
            assert comment["provider"] == "IT" and comment["themes"][0] == "slow_response"
    md = api.get(f"/v1/reports/{run_id}?format=md", headers=manager)
    assert md.headers["content-type"].startswith("text/markdown") and "## IT" in md.text
    csv_text = api.get(f"/v1/reports/{run_id}?format=csv", headers=manager).text
    assert csv_text.splitlines()[0].startswith("provider,theme_id,theme,count")
    assert api.get(f"/v1/reports/{run_id}?format=pdf", headers=manager).status_code == 400
    other_manager = api.get(f"/v1/runs/{run_id}", headers=auth(keys["admin"]))
    assert other_manager.status_code == 200


def test_managers_see_only_their_own_runs(api: TestClient, keys: dict[str, str], run_id: str, analysed: Any) -> None:  # type: ignore[type-arg]
    stranger = analysed[0].sql.create_key("manager", "stranger")
    assert api.get(f"/v1/runs/{run_id}", headers=auth(stranger)).status_code == 404
    assert api.get(f"/v1/reports/{run_id}", headers=auth(stranger)).status_code == 404
    assert api.get(f"/v1/reports/{run_id}", headers=auth(keys["hr"])).status_code == 200


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/v1/runs/nosuchrun", 404),
        ("/v1/reports/nosuchrun", 404),
        ("/v1/comments/999999", 404),
        ("/v1/comments/abc", 404),
    ],
    ids=["run", "report", "comment", "comment-not-int"],
)
def test_unknown_ids(api: TestClient, keys: dict[str, str], path: str, status: int) -> None:  # type: ignore[type-arg]
    response = api.get(path, headers=auth(keys["admin"]))
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")


def test_run_on_unknown_dataset_is_404(api: TestClient, keys: dict[str, str]) -> None:  # type: ignore[type-arg]
    assert api.post("/v1/datasets/nosuch/runs", headers=auth(keys["admin"])).status_code == 404
