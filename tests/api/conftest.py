"""API fixtures: the real app around the analysed example survey, and one key per role."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from litestar.testing import TestClient

from triage import pipeline
from triage.api.app import create_app

ROLES = ("manager", "hr", "integrator", "admin")


@pytest.fixture(scope="module")
def api(analysed: tuple[pipeline.Services, str, str]) -> Iterator[TestClient]:  # type: ignore[type-arg]
    services, _, _ = analysed
    with TestClient(app=create_app(services.settings, services=services)) as client:
        yield client


@pytest.fixture(scope="module")
def keys(analysed: tuple[pipeline.Services, str, str]) -> dict[str, str]:
    services, _, _ = analysed
    return {role: services.sql.create_key(role, f"test-{role}") for role in ROLES}  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def run_id(analysed: tuple[pipeline.Services, str, str]) -> str:
    return analysed[2]


def auth(key: str) -> dict[str, str]:
    return {"X-API-Key": key}
