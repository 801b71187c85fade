"""Urgent comments: flagged in triage, listed in HR's queue only."""

from __future__ import annotations

import json
from typing import Any

from litestar.testing import TestClient

from tests.api.conftest import auth
from tests.conftest import EXAMPLE_LABELS

# The example survey's README names the comments that need escalation.
URGENT_IDS = {"ex-0056", "ex-0093", "ex-0175", "ex-0305", "ex-0310", "ex-0355"}


def test_hr_queue_lists_the_surveys_urgent_comments(api: TestClient, keys: dict[str, str], analysed: Any) -> None:  # type: ignore[type-arg]
    services, dataset_id, _ = analysed
    queue = api.get("/v1/urgent", headers=auth(keys["hr"])).json()
    mine = [u for u in queue if u["dataset_id"] == dataset_id]
    labels = [json.loads(line) for line in EXAMPLE_LABELS.read_text().splitlines()]
    comments = services.sql.comments(dataset_id)
    urgent_texts = {c.text for c, gold in zip(comments, labels, strict=True) if gold["id"] in URGENT_IDS}
    found = {u["redacted_text"] for u in mine}
    assert len(found & urgent_texts) >= 5, sorted(found & urgent_texts)
    # Measured: 10 false alarms among the 354 other comments (precision 0.33 here, 0.7+ on evals/datasets/urgent);
    # more than 12 means the detector got worse.
    assert len(found - urgent_texts) <= 12
    assert all(u["category"] and 0 < u["score"] <= 1 for u in mine)


def test_triage_flags_an_urgent_comment(api: TestClient, keys: dict[str, str]) -> None:  # type: ignore[type-arg]
    text = "My team lead keeps touching me and making sexual comments, and HR did nothing."
    body = api.post("/v1/triage", json={"text": text}, headers=auth(keys["integrator"])).json()
    assert body["urgent"] is True and body["urgency"]["category"] == "harassment"
    calm = api.post("/v1/triage", json={"text": "This deadline is killing me."}, headers=auth(keys["integrator"]))
    assert calm.json()["urgent"] is False
