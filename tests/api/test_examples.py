"""POST /v1/themes/examples and /v1/themes/refit: an organisation's own labelled examples change its model."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from litestar.testing import TestClient

from tests.api.conftest import ROLES, auth
from triage import pipeline
from triage.api.app import create_app

# Made-up in-house slang: "snowcatted" = promised, then dropped. No taxonomy example uses the word.
PROBE = "Our parking permit request got snowcatted."
SLANG = [
    "Snowcatted again. The desk booking fix is nowhere.",
    "my expense query was snowcatted like the last one",
    "They snowcatted the VPN ticket, as usual.",
    "Contract review: snowcatted.",
    "another snowcatted request from procurement",
    "The payslip correction got snowcatted too.",
]


@pytest.fixture
def fresh(services: pipeline.Services) -> Iterator[tuple[TestClient, dict[str, str]]]:  # type: ignore[type-arg]
    """A new organisation: no runs yet, so triage uses the base model that refit fits."""
    keys = {role: services.sql.create_key(role, f"test-{role}") for role in ROLES}  # type: ignore[arg-type]
    with TestClient(app=create_app(services.settings, services=services)) as client:
        yield client, keys


def _primary(client: TestClient, key: str, text: str) -> str:  # type: ignore[type-arg]
    response = client.post("/v1/triage", json={"text": text}, headers=auth(key))
    assert response.status_code == 200, response.text
    primary: str = response.json()["primary_theme"]
    return primary


def test_examples_of_a_new_phrasing_fix_its_assignment(
    fresh: tuple[TestClient, dict[str, str]],  # type: ignore[type-arg]
    services: pipeline.Services,
) -> None:
    client, keys = fresh
    assert _primary(client, keys["integrator"], PROBE) != "no_follow_up"

    for text in SLANG:
        response = client.post(
            "/v1/themes/examples", json={"text": text, "theme_id": "no_follow_up"}, headers=auth(keys["hr"])
        )
        assert response.status_code == 201, response.text
    refit = client.post("/v1/themes/refit", headers=auth(keys["admin"]))
    assert refit.status_code == 200, refit.text
    body = refit.json()
    assert body["organisation_examples"] == len(SLANG)
    assert body["taxonomy_examples"] == sum(len(t.examples) for t in services.taxonomy.themes)

    assert _primary(client, keys["integrator"], PROBE) == "no_follow_up"
    # A later run fits on the same examples: a new process over the same data dir gets the same model.
    reopened = pipeline.open_services(services.settings, embedder=services.embedder)
    try:
        assert reopened.sql is not None
        model = pipeline.base_theme_model(reopened)
        assert model.taxonomy_scores([PROBE], reopened.embedder.encode([PROBE]))[0][0].id == "no_follow_up"
    finally:
        reopened.close()


def test_examples_are_redacted_before_they_are_stored(
    fresh: tuple[TestClient, dict[str, str]],  # type: ignore[type-arg]
    services: pipeline.Services,
) -> None:
    client, keys = fresh
    response = client.post(
        "/v1/themes/examples",
        json={"text": "Mail jo.lee@corp.com about it, said HR, and then nothing.", "theme_id": "no_follow_up"},
        headers=auth(keys["admin"]),
    )
    assert response.status_code == 201, response.text
    assert "jo.lee" not in response.text and "[EMAIL]" in response.json()["text"]
    stored = (services.settings.data_dir / "theme_examples.jsonl").read_text(encoding="utf-8")
    assert "jo.lee" not in stored
    assert json.loads(stored.splitlines()[0])["theme_id"] == "no_follow_up"
    listed = client.get("/v1/themes/examples", headers=auth(keys["hr"]))
    assert listed.status_code == 200 and [e["theme_id"] for e in listed.json()] == ["no_follow_up"]


def test_unknown_theme_and_other_roles_are_refused(fresh: tuple[TestClient, dict[str, str]]) -> None:  # type: ignore[type-arg]
    client, keys = fresh
    unknown = client.post("/v1/themes/examples", json={"text": "slow", "theme_id": "nope"}, headers=auth(keys["hr"]))
    assert unknown.status_code == 400 and unknown.headers["content-type"].startswith("application/problem+json")
    for role in ("manager", "integrator"):
        body = {"text": "slow", "theme_id": "slow_response"}
        assert client.post("/v1/themes/examples", json=body, headers=auth(keys[role])).status_code == 403
        assert client.post("/v1/themes/refit", headers=auth(keys[role])).status_code == 403
    assert client.post("/v1/themes/refit").status_code == 401
