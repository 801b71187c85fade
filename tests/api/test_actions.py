"""Closing the loop: accept an action, update it, see its theme move in the next run."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar.testing import TestClient

from tests.api.conftest import auth
from triage import pipeline


def test_accept_update_and_follow_an_action(api: TestClient, keys: dict[str, str], run_id: str, analysed: Any) -> None:  # type: ignore[type-arg]
    services, dataset_id, _ = analysed
    report = api.get(f"/v1/reports/{run_id}", headers=auth(keys["hr"])).json()
    provider = report["providers"][0]
    theme = provider["themes"][0]
    body = {
        "run_id": run_id,
        "provider": provider["provider"],
        "theme_id": theme["id"],
        "action_index": 0,
        "owner": "Head of IT service desk",
        "due_date": "2026-12-31",
    }
    created = api.post("/v1/actions", json=body, headers=auth(keys["hr"]))
    assert created.status_code == 201, created.text
    action = created.json()
    assert action["text"] == theme["actions"][0]["text"] and action["status"] == "open"
    assert action["share_then"] == theme["share"]

    updated = api.patch(f"/v1/actions/{action['id']}", json={"status": "in_progress"}, headers=auth(keys["hr"]))
    assert updated.status_code == 200 and updated.json()["status"] == "in_progress"
    assert (
        api.patch(f"/v1/actions/{action['id']}", json={"status": "finished"}, headers=auth(keys["hr"])).status_code
        == 400
    )
    assert api.patch(f"/v1/actions/{action['id']}", json={}, headers=auth(keys["hr"])).status_code == 400
    listed = api.get(f"/v1/actions?provider={provider['provider']}", headers=auth(keys["admin"])).json()
    assert [a["id"] for a in listed] == [action["id"]]

    # The next run of the data shows the action with its theme's share then and now.
    again = pipeline.start_run(services, dataset_id)
    asyncio.run(pipeline.analyze(services, again))
    later = pipeline.get_report(services, again)
    (followed,) = next(p for p in later.providers if p.provider == provider["provider"]).followed_actions
    assert followed.id == action["id"] and followed.status == "in_progress"
    assert followed.share_then == theme["share"] and followed.share_now == theme["share"]
    assert "Accepted actions from earlier runs" in pipeline.render_report(services, again, "md")


def test_bad_action_requests(api: TestClient, keys: dict[str, str], run_id: str) -> None:  # type: ignore[type-arg]
    base = {"run_id": run_id, "provider": "IT", "theme_id": "nope", "action_index": 0, "owner": "x"}
    assert api.post("/v1/actions", json=base, headers=auth(keys["hr"])).status_code == 404
    assert api.post("/v1/actions", json={**base, "action_index": 7}, headers=auth(keys["hr"])).status_code == 400
    assert api.post("/v1/actions", json={**base, "run_id": "nosuch"}, headers=auth(keys["hr"])).status_code == 404
    assert api.patch("/v1/actions/99999", json={"status": "done"}, headers=auth(keys["hr"])).status_code == 404
    assert api.get("/v1/actions", headers=auth(keys["integrator"])).status_code == 403
