"""No comment text, API key or prompt in the logs above DEBUG, nor in any error body.

A marker string is planted in comment text (triage, JSON and file uploads, bad rows, a huge field), in field
names, in form fields and in API keys; every request's error body and every log record at INFO or above
(tracebacks included) must be free of it. An analysis of marked comments runs under the same capture.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
from typing import Any

import pytest
from litestar.testing import TestClient

from tests.api.conftest import auth
from tests.conftest import EXAMPLE_SURVEY
from triage import pipeline
from triage.api.app import create_app

MARK = "zqxmarker"  # lower case: survives lower-casing, tokenising and redaction untouched
SECRET = f"{MARK} my manager said something I cannot repeat"


def _requests(run_id: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, request kwargs): bodies carry the marker; the key is added per request."""
    rows = [
        {"text": SECRET, "provider": "IT"},
        {"text": SECRET, "rating": f"{MARK}-not-a-number"},
        {"text": f"{MARK} " * 6000},  # over the text length limit
        {"comment": SECRET},
    ]
    # Provider and theme id are names a report shows (an error may name them); the owner is free text.
    action = {"run_id": run_id, "provider": "IT", "theme_id": "no_such_theme", "action_index": 0, "owner": SECRET}
    broken_json = {"content": f'{{"text": "{SECRET}"'.encode(), "headers": {"content-type": "application/json"}}
    marked_csv = "text,provider,rating\n" + "\n".join([f"{SECRET},IT,2", f"{SECRET},IT,{MARK}", f'"{MARK}'])
    return [
        ("POST", "/v1/triage", {"json": {"text": SECRET}}),
        ("POST", "/v1/triage", {"json": {"text": SECRET * 200}}),
        ("POST", "/v1/triage", {"json": {"text": SECRET, MARK: SECRET}}),
        ("POST", "/v1/triage", {"json": {"text": SECRET, "provider": MARK * 100}}),
        ("POST", "/v1/triage", broken_json),
        ("POST", "/v1/datasets", {"json": {"name": f"logs-{MARK}", "rows": rows}}),
        ("POST", "/v1/datasets", {"json": {"name": "", "rows": rows, f"{MARK} field": SECRET}}),
        ("POST", "/v1/datasets", {"files": {"file": ("marked.csv", marked_csv.encode(), "text/csv")}}),
        ("POST", "/v1/datasets", {"files": {"file": (f"{MARK}.pdf", SECRET.encode(), "application/pdf")}}),
        ("POST", "/v1/datasets", {"files": {"file": ("marked.csv", f"comment\n{SECRET}".encode(), "text/csv")}}),
        ("POST", "/v1/datasets", {"files": {"file": ("m.xlsx", SECRET.encode(), "application/octet-stream")}}),
        ("POST", "/v1/datasets", {"files": {"file": ("m.jsonl", f"[{SECRET}".encode(), "application/json")}}),
        ("POST", "/v1/datasets", {"content": SECRET.encode(), "headers": {"content-type": "text/plain"}}),
        ("POST", "/v1/actions", {"json": action}),
        ("POST", "/v1/actions", {"json": {**action, "action_index": 9}}),
        ("PATCH", "/v1/actions/99999", {"json": {"owner": SECRET}}),
        ("PATCH", "/v1/actions/99999", {"json": {"status": SECRET}}),
        ("POST", "/v1/themes/examples", {"json": {"text": SECRET, "theme_id": "no_such_theme"}}),
        ("GET", f"/v1/reports/{run_id}", {"params": {"format": MARK}}),
        ("GET", "/v1/audit", {"params": {"since": MARK, "limit": MARK}}),
        ("POST", "/login", {"data": {"key": f"trg_{MARK}", "next": "/"}}),  # next is echoed by design
    ]


@pytest.fixture
def info_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO)  # every logger; DEBUG records are allowed to carry text and are not kept
    return caplog


def _assert_clean(caplog: pytest.LogCaptureFixture, *secrets: str) -> None:
    assert caplog.records, "nothing was logged: the capture is not working"
    for record in caplog.records:
        if record.name.startswith("httpx"):
            continue  # the test client's own request log, not the service's
        assert record.levelno >= logging.INFO
        text = caplog.handler.format(record)  # message, arguments and any traceback
        for secret in secrets:
            assert secret.lower() not in text.lower(), f"{record.name}:{record.levelname}: {text[:300]}"


def test_marked_requests_leak_nothing_into_error_bodies_or_logs(
    api: TestClient,  # type: ignore[type-arg]
    keys: dict[str, str],
    run_id: str,
    info_logs: pytest.LogCaptureFixture,
) -> None:
    errors = 0
    for method, path, kwargs in _requests(run_id):
        for key in (keys["admin"], keys["integrator"], f"trg_{MARK}_key", None):
            api.cookies.clear()
            headers = {**kwargs.get("headers", {}), **(auth(key) if key else {})}
            response = api.request(method, path, **{**kwargs, "headers": headers}, follow_redirects=False)
            assert response.status_code < 500, (method, path, response.text[:300])
            if response.status_code >= 400:
                errors += 1
                assert MARK not in response.text.lower(), (method, path, response.status_code, response.text[:300])
                assert keys["admin"] not in response.text and keys["integrator"] not in response.text
            elif path == "/v1/datasets":
                # Accepted uploads list their bad rows: by number and reason, never by content.
                assert MARK not in json.dumps(response.json()["rejected"]).lower()
    assert errors > 50  # the point: most of these are refused, and say why without repeating the input
    _assert_clean(info_logs, MARK, keys["admin"], keys["integrator"])


def test_an_analysis_of_marked_comments_logs_no_comment_text(
    services: pipeline.Services, info_logs: pytest.LogCaptureFixture
) -> None:
    rows = [r for r in csv.DictReader(EXAMPLE_SURVEY.open(encoding="utf-8")) if r["provider"] in ("IT", "HR")]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    for i, row in enumerate(rows):
        writer.writerow({**row, "text": f"{row['text']} {MARK}{i} said my lead"})
    key = services.sql.create_key("hr", "logs")
    report = pipeline.ingest_bytes(services, buffer.getvalue().encode(), "marked.csv", "marked", None)
    run_id = pipeline.start_run(services, report.id)
    asyncio.run(pipeline.analyze(services, run_id))
    assert services.sql.run(run_id).status == "succeeded"  # type: ignore[union-attr]
    with TestClient(app=create_app(services.settings, services=services)) as client:
        for fmt in ("json", "md", "csv"):
            assert client.get(f"/v1/reports/{run_id}?format={fmt}", headers=auth(key)).status_code == 200
    assert MARK in json.dumps(pipeline.get_report(services, run_id).model_dump(mode="json"))  # text is in reports
    _assert_clean(info_logs, MARK, key)
