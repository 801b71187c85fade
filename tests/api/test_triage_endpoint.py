"""POST /v1/triage: fast path, same model as the batch run."""

from __future__ import annotations

import asyncio
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


MIXED = [
    "Three weeks waiting for my laptop, ask Maria Gonzalez at maria.g@corp.com",
    "Payroll fixed my overtime the same day. Thank you!",
    "Nobody told us the office would be closed on Friday.",
    "Sigo esperando mi portátil desde hace tres semanas y nadie me contesta.",
    "My manager said he would hurt me if I reported the fraud.",
    "asked 4x. ignored 4x.",
]


def _answer(result: Any) -> tuple[Any, ...]:
    urgency = result.urgency
    return (
        result.primary_theme,
        [t.id for t in result.themes],
        result.redacted_text,
        result.provider,
        result.language,
        result.sentiment.label if result.sentiment else None,
        (urgency.urgent, urgency.level, urgency.category),
    )


def test_a_batch_answers_as_one_comment_at_a_time(analysed: Any) -> None:
    """triage_texts (one pass of each model for many comments) gives each comment its single answer."""
    services, dataset_id, run_id = analysed
    texts = MIXED + [c.text for c in services.sql.comments(dataset_id)[:40]]
    items = [(t, "IT" if i % 2 else None) for i, t in enumerate(texts)]
    batch = pipeline.triage_texts(services, items, run_id=run_id)
    single = [pipeline.triage_text(services, t, p, run_id=run_id) for t, p in items]
    assert [_answer(b) for b in batch] == [_answer(s) for s in single]
    for b, s in zip(batch, single, strict=True):
        assert [t.confidence for t in b.themes] == pytest.approx([t.confidence for t in s.themes], abs=2e-3)
    assert batch[0].redacted_text == "Three weeks waiting for my laptop, ask [PERSON] at [EMAIL]"
    assert batch[3].language == "es" and batch[4].urgent


def test_concurrent_requests_share_batches_and_get_their_own_answers(analysed: Any) -> None:
    services, _, run_id = analysed
    texts = MIXED * 4
    queue = pipeline.TriageQueue(services, max_batch=32)

    async def send_all() -> list[Any]:
        return await asyncio.gather(*(queue.triage(t, "IT") for t in texts))

    try:
        results = asyncio.run(send_all())
    finally:
        queue.close()
    expected = {t: _answer(pipeline.triage_text(services, t, "IT", run_id=run_id)) for t in MIXED}
    assert [_answer(r) for r in results] == [expected[t] for t in texts]
    assert all(r.elapsed_ms > 0 for r in results)
    assert 1 <= queue.batches < len(texts) // 2, f"{queue.batches} batches for {len(texts)} concurrent requests"


def test_the_api_answers_through_the_queue(api: TestClient, keys: dict[str, str]) -> None:  # type: ignore[type-arg]
    queue = api.app.state.triage_queue
    before = queue.batches
    response = api.post("/v1/triage", json={"text": "asked 4x. ignored 4x."}, headers=auth(keys["integrator"]))
    assert response.status_code == 200
    assert queue.batches == before + 1
