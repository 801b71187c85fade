"""Urgent comments: flagged in triage at two levels ("urgent": escalate now, "review": look today), listed in HR's
queue only, "urgent" first."""

from __future__ import annotations

import json
from typing import Any

from litestar.testing import TestClient

from tests.api.conftest import auth
from tests.conftest import EXAMPLE_LABELS

# The example survey's README names the comments that need escalation.
URGENT_IDS = {"ex-0056", "ex-0093", "ex-0175", "ex-0305", "ex-0310", "ex-0355"}
# Measured through the API on the example survey (354 ordinary comments, 6 urgent; redacted, then assessed; same as
# `python -m evals.suites.urgent` up to redaction): the "urgent" level finds 5 of the 6 with 3 false alarms, the
# whole queue (urgent + review) finds 5 of the 6 with 43 false alarms (12% of ordinary feedback: the recall-first
# "review" level is a daily look, not an alarm). The bounds allow a small margin; beyond them the detector got worse.
MAX_URGENT_LEVEL_FALSE_ALARMS = 6
MAX_QUEUE_FALSE_ALARMS = 48


def _queue(api: TestClient, key: str, dataset_id: str, query: str = "") -> list[dict[str, Any]]:  # type: ignore[type-arg]
    response = api.get(f"/v1/urgent{query}", headers=auth(key))
    assert response.status_code == 200, response.text
    return [u for u in response.json() if u["dataset_id"] == dataset_id]


def test_hr_queue_on_the_example_survey_at_both_levels(
    api: TestClient,  # type: ignore[type-arg]
    keys: dict[str, str],
    analysed: Any,
) -> None:
    services, dataset_id, _ = analysed
    mine = _queue(api, keys["hr"], dataset_id)
    labels = [json.loads(line) for line in EXAMPLE_LABELS.read_text().splitlines()]
    comments = services.sql.comments(dataset_id)
    urgent_texts = {c.text for c, gold in zip(comments, labels, strict=True) if gold["id"] in URGENT_IDS}
    queue = {u["redacted_text"] for u in mine}
    escalate = {u["redacted_text"] for u in mine if u["level"] == "urgent"}
    assert {u["level"] for u in mine} <= {"urgent", "review"}
    assert len(queue & urgent_texts) >= 5, sorted(queue & urgent_texts)  # the queue finds 5 of the 6
    assert len(escalate & urgent_texts) >= 5, sorted(escalate & urgent_texts)  # and so does the "urgent" level
    assert len(escalate - urgent_texts) <= MAX_URGENT_LEVEL_FALSE_ALARMS, sorted(escalate - urgent_texts)
    assert len(queue - urgent_texts) <= MAX_QUEUE_FALSE_ALARMS
    assert all(u["category"] and 0 < u["score"] <= 1 for u in mine)
    # "urgent" first, each level by score.
    levels = [u["level"] for u in mine]
    assert levels == sorted(levels, key=lambda level: level != "urgent")
    for level in ("urgent", "review"):
        scores = [u["score"] for u in mine if u["level"] == level]
        assert scores == sorted(scores, reverse=True)


def test_level_filter(api: TestClient, keys: dict[str, str], analysed: Any) -> None:  # type: ignore[type-arg]
    _, dataset_id, _ = analysed
    mine = _queue(api, keys["hr"], dataset_id)
    for level in ("urgent", "review"):
        only = _queue(api, keys["hr"], dataset_id, f"?level={level}")
        assert only == [u for u in mine if u["level"] == level]
    assert _queue(api, keys["hr"], dataset_id, "?level=urgent") and _queue(api, keys["hr"], dataset_id, "?level=review")
    bad = api.get("/v1/urgent?level=someday", headers=auth(keys["hr"]))
    assert bad.status_code == 400, bad.text
    assert api.get("/v1/urgent?level=urgent", headers=auth(keys["manager"])).status_code == 403


def test_triage_flags_an_urgent_comment(api: TestClient, keys: dict[str, str]) -> None:  # type: ignore[type-arg]
    text = "My team lead keeps touching me and making sexual comments, and HR did nothing."
    body = api.post("/v1/triage", json={"text": text}, headers=auth(keys["integrator"])).json()
    assert body["urgent"] is True and body["urgency"]["category"] == "harassment"
    assert body["urgency"]["level"] == "urgent"
    calm = api.post("/v1/triage", json={"text": "This deadline is killing me."}, headers=auth(keys["integrator"]))
    assert calm.json()["urgent"] is False and calm.json()["urgency"]["level"] is None
