"""POST /v1/triage: fast path, same model as the batch run."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

from tests.api.conftest import auth
from triage import pipeline


def test_triage_answers_with_themes_and_redacted_text(api: TestClient, keys: dict[str, str], analysed: Any) -> None:  # type: ignore[type-arg]
    response = api.post(
        "/v1/triage",
        json={"text": "Three weeks waiting for my laptop, mail me at jo.lee@corp.com", "provider": "IT"},
        headers=auth(keys["integrator"]),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["primary_theme"] == "slow_response"
    assert body["themes"][0]["id"] == "slow_response" and 0 < body["themes"][0]["confidence"] <= 1
    assert body["redacted_text"] == "Three weeks waiting for my laptop, mail me at [EMAIL]"
    assert "jo.lee" not in response.text
    assert body["urgent"] is False and body["model_run_id"] == analysed[0].sql.latest_succeeded_run()
    assert body["sentiment"]["label"] == "negative" and body["sentiment"]["score"] < 0
    assert body["language"] == "en"


@pytest.mark.parametrize(
    ("text", "label", "language"),
    [
        ("Great, another three-week wait for a monitor. Fantastic service.", "negative", "en"),
        ("Payroll fixed my overtime the same day. Thank you!", "positive", "en"),
        ("Sigo esperando mi portátil desde hace tres semanas y nadie me contesta.", None, "es"),
        ("Die Personalabteilung antwortet nie auf meine E-Mails.", None, "de"),
    ],
    ids=["sarcasm", "praise", "spanish", "german"],
)
def test_triage_sentiment_and_language(
    api: TestClient,
    keys: dict[str, str],
    text: str,
    label: str | None,
    language: str,  # type: ignore[type-arg]
) -> None:
    body = api.post("/v1/triage", json={"text": text}, headers=auth(keys["integrator"])).json()
    assert body["language"] == language
    if label:
        assert body["sentiment"]["label"] == label


def test_single_and_batch_agree(analysed: Any) -> None:
    """Every comment of the run gets the same primary theme one at a time as in the batch."""
    services, dataset_id, run_id = analysed
    comments = services.sql.comments(dataset_id)
    report = pipeline.get_report(services, run_id)
    assert report.comments == len(comments)
    disagree = []
    for comment in comments:
        batch = services.sql.comment_labels(comment.id)
        single = pipeline.triage_text(services, comment.text, run_id=run_id)
        if single.primary_theme != (batch[0] if batch else "unassigned"):
            disagree.append(comment.id)
    assert disagree == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "text"),
        ({"text": ""}, "text"),
        ({"text": "x" * 5001}, "text"),
        ({"text": "ok", "colour": 1}, "?"),  # an unknown key is never echoed (it could be comment text)
        ([1], None),
    ],
    ids=["missing", "empty", "too-long", "unknown-field", "not-an-object"],
)
def test_bad_triage_input_is_400_naming_the_field(
    api: TestClient,
    keys: dict[str, str],
    body: Any,
    field: str | None,  # type: ignore[type-arg]
) -> None:
    response = api.post("/v1/triage", json=body, headers=auth(keys["integrator"]))
    assert response.status_code == 400
    problem = response.json()
    assert problem["type"].endswith("/invalid-input")
    if field:
        assert field in problem["detail"]
    assert "xxxxx" not in response.text and "colour" not in response.text
