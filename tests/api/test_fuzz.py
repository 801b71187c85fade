"""Fuzz the API from its own OpenAPI schema (schemathesis): no 500s, and every answer conforms to the schema.

Every operation gets generated requests, valid (positive) and invalid (negative), each sent with a valid key
of every role and without a key, in-process through ASGI to the real app (real model, SQLite and Chroma in a
temp dir). Bounded: FUZZ_EXAMPLES examples per operation (derandomized, so a failure reproduces); raise it
for a deeper run: `FUZZ_EXAMPLES=100 pytest tests/api/test_fuzz.py`. The module prints the requests sent.

schemathesis' own pytest loader (`schemathesis.pytest.from_fixture`) does not run under pytest 9, so the
operations are parametrized here and each one's strategy is driven with hypothesis directly.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from litestar import Litestar
from schemathesis import GenerationMode
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from tests.api.conftest import ROLES
from tests.conftest import make_settings
from triage import pipeline
from triage.api.app import create_app
from triage.config import ApiSettings

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))
# Checks that cannot hold for an operation, and why.
EXCLUDED = {
    # File content is not describable in OpenAPI: random bytes are schema-valid and rightly a 400.
    ("POST", "/v1/datasets"): [positive_data_acceptance],
    # Theme ids are the organisation's taxonomy (data, editable), not a schema enum: an unknown one is a 400.
    ("POST", "/v1/themes/examples"): [positive_data_acceptance],
    # A browser page: no key is a 303 to the sign-in form, not a 4xx.
    ("GET", "/reports/{run_id}"): [negative_data_rejection],
}
CALLERS = [*ROLES, "no-key"]
SENT: Counter[str] = Counter()


def _operations() -> list[tuple[str, str]]:
    """(METHOD, path) of every operation in the OpenAPI document; building the app opens nothing."""
    paths = create_app(make_settings(Path("unused"))).openapi_schema.paths or {}
    methods = ("get", "put", "post", "delete", "patch")
    return sorted((m.upper(), path) for path, item in paths.items() for m in methods if getattr(item, m) is not None)


OPERATIONS = _operations()


@pytest.fixture(scope="module")
def fuzz_app(analysed: tuple[pipeline.Services, str, str], request: pytest.FixtureRequest) -> Iterator[Litestar]:
    services = analysed[0]
    api = ApiSettings(triage_per_minute=0, uploads_per_hour=0)  # the limits have their own tests
    app = create_app(services.settings.model_copy(update={"api": api}), services=services)
    yield app
    asgi.shutdown_lifespans()
    statuses = ", ".join(f"{k}: {v}" for k, v in sorted(SENT.items()) if k != "total")
    with request.config.pluginmanager.getplugin("capturemanager").global_and_fixture_disabled():
        print(f"\nfuzz: {SENT['total']} requests over {len(OPERATIONS)} operations (by status {statuses})")


@pytest.fixture(scope="module")
def fuzz_schema(fuzz_app: Litestar) -> Any:
    schema = schemathesis.openapi.from_asgi("/schema/openapi.json", fuzz_app)
    # The key is ours to send (every role, and none), not a parameter to mutate; unknown query
    # parameters are ignored by design (older and newer clients keep working).
    schema.config.generation.update(with_security_parameters=False, allow_extra_parameters=False)
    return schema


@pytest.fixture(scope="module")
def fuzz_keys(analysed: tuple[pipeline.Services, str, str]) -> dict[str, str]:
    return {role: analysed[0].sql.create_key(role, f"fuzz-{role}") for role in ROLES}  # type: ignore[arg-type]


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_operation_conforms_to_its_schema(fuzz_schema: Any, fuzz_keys: dict[str, str], method: str, path: str) -> None:
    operation = fuzz_schema[path][method]
    excluded = EXCLUDED.get((method, path), [])
    cases = st.one_of(
        operation.as_strategy(generation_mode=GenerationMode.POSITIVE),
        operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
    )

    @given(case=cases)
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def fuzz(case: Any) -> None:
        for caller in CALLERS:  # the same generated request, as every role and without a key
            headers = {"X-API-Key": fuzz_keys[caller]} if caller in fuzz_keys else {}
            response = case.call_and_validate(headers=headers, excluded_checks=excluded, allow_redirects=False)
            SENT["total"] += 1
            SENT[str(response.status_code)] += 1

    fuzz()
