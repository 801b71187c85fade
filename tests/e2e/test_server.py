"""`triage serve` as a real process: upload the example survey, analyse it, read the report, triage, stop.

The tests share one server (starting it loads the model and fits the base theme model) and run in file order:
the last one stops the server.
"""

from __future__ import annotations

import re
import signal
import subprocess
import time
from typing import Any

import httpx
import pytest

from tests.conftest import EXAMPLE_SURVEY
from tests.e2e.conftest import Server

pytestmark = pytest.mark.e2e

PROVIDERS = {"IT", "HR", "Finance", "Procurement", "Legal", "Payroll"}
RUN_TIMEOUT_S = 150.0
# Raw phone numbers written in the example survey; the redactor must have replaced every one.
SURVEY_PHONES = ("555-867-5309", "415 555 0134", "07700 900461", "7946 0958")
PHONE_LIKE = re.compile(r"\+?\(?\d[\d\s().-]{5,}\d")
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def looks_like_phone(text: str) -> bool:
    return any(
        sum(ch.isdigit() for ch in m.group(0)) >= 7 and not ISO_DATE.fullmatch(m.group(0).strip())
        for m in PHONE_LIKE.finditer(text)
    )


@pytest.fixture(scope="module")
def uploads(server: Server) -> tuple[httpx.Response, httpx.Response]:
    """The example survey uploaded twice as a multipart file by the manager."""
    files = {"file": ("survey.csv", EXAMPLE_SURVEY.read_bytes(), "text/csv")}
    with server.client("manager") as client:
        return client.post("/v1/datasets", files=files), client.post("/v1/datasets", files=files)


@pytest.fixture(scope="module")
def run(server: Server, uploads: tuple[httpx.Response, httpx.Response]) -> tuple[httpx.Response, list[dict[str, Any]]]:
    """The manager starts a run on the uploaded dataset; returns the 202 and every status polled until it ended."""
    dataset_id = uploads[0].json()["id"]
    polled: list[dict[str, Any]] = []
    with server.client("manager") as client:
        created = client.post(f"/v1/datasets/{dataset_id}/runs")
        assert created.status_code == 202, created.text
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while time.monotonic() < deadline:
            response = client.get(f"/v1/runs/{created.json()['id']}")
            assert response.status_code == 200, response.text
            polled.append(response.json())
            if polled[-1]["status"] in ("succeeded", "failed"):
                return created, polled
            time.sleep(0.5)
    pytest.fail(f"run not finished after {RUN_TIMEOUT_S:.0f}s; last status {polled[-1]}\n{server.stderr()}")


@pytest.fixture(scope="module")
def run_id(run: tuple[httpx.Response, list[dict[str, Any]]]) -> str:
    run_id: str = run[0].json()["id"]
    return run_id


@pytest.fixture(scope="module")
def report(server: Server, run_id: str) -> dict[str, Any]:
    with server.client("manager") as client:
        response = client.get(f"/v1/reports/{run_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def all_themes(report: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(p["provider"], t) for p in report["providers"] for t in p["themes"]]


def test_upload_accepts_every_row_then_only_duplicates(uploads: tuple[httpx.Response, httpx.Response]) -> None:
    first, again = uploads
    assert first.status_code == 201, first.text
    assert (first.json()["accepted"], first.json()["duplicates"], first.json()["rejected"]) == (360, 0, [])
    assert again.status_code == 201, again.text
    assert again.json()["id"] == first.json()["id"]
    assert (again.json()["accepted"], again.json()["duplicates"], again.json()["rejected"]) == (0, 360, [])


def test_run_progresses_monotonically_to_succeeded(
    server: Server, run: tuple[httpx.Response, list[dict[str, Any]]]
) -> None:
    created, polled = run
    assert created.json()["status"] == "queued"
    final = polled[-1]
    assert final["status"] == "succeeded", f"{final}\n{server.stderr()}"
    assert final["error"] is None and final["finished_at"] is not None
    progress = [status["progress"] for status in polled]
    assert all(0.0 <= value <= 1.0 for value in progress), progress
    assert progress == sorted(progress), f"progress went backwards: {progress}"
    assert progress[-1] == 1.0


def test_report_covers_every_provider_and_comment(report: dict[str, Any], run_id: str) -> None:
    assert report["run_id"] == run_id
    assert report["comments"] == 360
    assert report["min_respondents"] == 5
    providers = [p["provider"] for p in report["providers"]]
    assert sorted(providers) == sorted(PROVIDERS)
    assert sum(p["comments"] for p in report["providers"]) == 360


def test_report_themes_have_counts_shares_and_actions(report: dict[str, Any]) -> None:
    themes = all_themes(report)
    assert themes, "no theme shown at all"
    for provider, theme in themes:
        where = f"{provider}/{theme['id']}"
        assert theme["count"] >= 1, where
        assert 0.0 < theme["share"] <= 1.0, where
        assert 1 <= len(theme["actions"]) <= 3, where
        assert all(action["evidence"] for action in theme["actions"]), where
        assert theme["summary"].strip(), where


def test_report_withholds_groups_below_the_anonymity_threshold(report: dict[str, Any]) -> None:
    # The example survey deliberately has (provider, theme) groups backed by fewer than 5 respondents.
    assert any(p["withheld"]["count"] > 0 for p in report["providers"])
    small = [(provider, t["id"], t["respondents"]) for provider, t in all_themes(report) if t["respondents"] < 5]
    assert small == []


def test_report_quotes_are_redacted(report: dict[str, Any]) -> None:
    quotes = [quote for _, theme in all_themes(report) for quote in theme["quotes"]]
    assert quotes, "no quotes in the report"
    assert [q for q in quotes if "@" in q] == []
    assert [q for q in quotes if looks_like_phone(q) or any(p in q for p in SURVEY_PHONES)] == []


def test_action_evidence_is_a_stored_comment_of_the_same_provider(server: Server, report: dict[str, Any]) -> None:
    evidence = {
        (provider, comment_id)
        for provider, theme in all_themes(report)
        for action in theme["actions"]
        for comment_id in action["evidence"]
    }
    assert evidence
    wrong: list[tuple[str, int, int, str | None]] = []
    with server.client("hr") as client:
        for provider, comment_id in sorted(evidence):
            response = client.get(f"/v1/comments/{comment_id}")
            body = response.json() if response.status_code == 200 else {}
            if response.status_code != 200 or body["provider"] != provider:
                wrong.append((provider, comment_id, response.status_code, body.get("provider")))
            elif "@" in body["redacted_text"] or looks_like_phone(body["redacted_text"]):
                wrong.append((provider, comment_id, response.status_code, "unredacted text"))
    assert wrong == []


@pytest.mark.parametrize(
    ("fmt", "media_type", "first_line"),
    [
        ("md", "text/markdown", "# Feedback themes: survey"),
        (
            "csv",
            "text/csv",
            "provider,theme_id,theme,count,respondents,share,mean_rating,negative_share,mean_sentiment,trend,count_2026-Q1,count_2026-Q2,negative_share_2026-Q1,mean_sentiment_2026-Q1,negative_share_2026-Q2,mean_sentiment_2026-Q2,summarizer,summary,actions",
        ),
    ],
    ids=["md", "csv"],
)
def test_report_renders_as_text(server: Server, run_id: str, fmt: str, media_type: str, first_line: str) -> None:
    # The admin reads every run, including the manager's.
    with server.client("admin") as client:
        response = client.get(f"/v1/reports/{run_id}", params={"format": fmt})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(media_type)
    assert response.text.splitlines()[0] == first_line
    for provider in PROVIDERS:
        assert provider in response.text


def test_triage_puts_a_late_laptop_under_slow_response(server: Server) -> None:
    with server.client("integrator") as client:
        # The terse "Three weeks and still no laptop" now falls under the 0.45 abstention threshold (unassigned).
        response = client.post("/v1/triage", json={"text": "Still waiting three weeks for my laptop."})
    assert response.status_code == 200, response.text
    assert response.json()["primary_theme"] == "slow_response"
    assert response.json()["themes"][0]["id"] == "slow_response"


def test_sigterm_stops_the_server_within_15s(server: Server) -> None:
    """Runs last: it stops the module's server (the fixture's teardown then has nothing to do)."""
    server.process.send_signal(signal.SIGTERM)
    try:
        code = server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        pytest.fail(f"triage serve still running 15s after SIGTERM\n{server.stderr()}")
    # uvicorn shuts down, then re-raises the captured signal: -SIGTERM is a clean exit, as is 0.
    assert code in (0, -signal.SIGTERM), f"exit code {code}\n{server.stderr()}"
    assert "Traceback" not in server.stderr()
