"""Tests against a real OpenAI-compatible server (llama.cpp by default): `make test-llm` starts one.

Skipped unless `TRIAGE_TEST_LLM_URL` is set (the base URL, e.g. http://127.0.0.1:8080/v1); the model name comes
from `TRIAGE_TEST_LLM_MODEL` (default: the first model the server lists). Outcome counts go to
`TRIAGE_TEST_LLM_RESULTS` (default test-output/llm_server.json).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.llm_server.outcomes import Outcomes
from triage.config import PROJECT_ROOT, LLMSettings

URL_ENV = "TRIAGE_TEST_LLM_URL"
HERE = Path(__file__).parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get(URL_ENV):
        return
    skip = pytest.mark.skip(reason=f"{URL_ENV} is not set (run `make test-llm`)")
    for item in items:
        if HERE in Path(str(item.fspath)).parents:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def server_settings() -> LLMSettings:
    """Settings for the server under test: a generous timeout (2 CPU cores shared with other work)."""
    url = os.environ[URL_ENV].rstrip("/")
    model = os.environ.get("TRIAGE_TEST_LLM_MODEL") or httpx.get(f"{url}/models", timeout=10).json()["data"][0]["id"]
    return LLMSettings(
        base_url=url,
        model=model,
        timeout_s=float(os.environ.get("TRIAGE_TEST_LLM_TIMEOUT_S", "300")),
        max_retries=0,  # a retry after a timeout only doubles the wait on 2 cores
        # Measured on gemma3 270M: at temperature 0 it loops until the token cap (invalid JSON, re-ask, fallback);
        # at the server's default temperature answers end on their own, within ~250 tokens.
        max_tokens=800,
        max_concurrency=1,
    )


RECORDED = Outcomes()


@pytest.fixture(scope="session")
def outcomes() -> Outcomes:
    return RECORDED


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print the outcome counts and write them, with one row per summary, as JSON."""
    if not RECORDED.rows:
        return
    path = Path(os.environ.get("TRIAGE_TEST_LLM_RESULTS", PROJECT_ROOT / "test-output" / "llm_server.json"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"counts": dict(RECORDED.counts), "rows": RECORDED.rows}, indent=1), encoding="utf-8")
    terminalreporter.write_line(f"llm server outcomes: {dict(RECORDED.counts)} (rows in {path})")
