"""POST /v1/triage with comments in Spanish, German, French and Portuguese: the run's model, routed."""

from __future__ import annotations

from typing import Any

import pytest
from litestar.testing import TestClient

from tests.api.conftest import auth
from tests.unit.themes.test_multilingual import CASES


@pytest.mark.parametrize(("text", "language", "theme"), CASES, ids=[c[1] for c in CASES])
def test_triage_assigns_non_english_comments(
    api: TestClient,  # type: ignore[type-arg]
    keys: dict[str, str],
    analysed: Any,
    text: str,
    language: str,
    theme: str,
) -> None:
    response = api.post("/v1/triage", json={"text": text, "provider": "IT"}, headers=auth(keys["integrator"]))
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["language"], body["primary_theme"]) == (language, theme)
    # The newest succeeded run's model (other tests on the shared services may have made a newer one than analysed's).
    run = analysed[0].sql.run(body["model_run_id"])
    assert run is not None and run.status == "succeeded"
    assert body["sentiment"] is not None and -1 <= body["sentiment"]["score"] <= 1
