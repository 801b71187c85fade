from __future__ import annotations

import pytest

from triage.summarize import dedupe_names, offline_name
from triage.types import Action, Evidence, Summary, SummaryRequest

pytestmark = pytest.mark.store_free

TAXONOMY = ["Slow response, missed deadlines", "Communication gaps", "Errors and rework"]


def summary(name: str, summarizer: str = "llm:m") -> Summary:
    return Summary(
        name=name, summary="Two. Sentences.", actions=[Action(text="Do.", evidence=[1])], summarizer=summarizer
    )


def request(provider: str, theme_id: str, theme_name: str, subjects: list[str] | None = None) -> SummaryRequest:
    return SummaryRequest(
        provider=provider,
        theme_id=theme_id,
        theme_name=theme_name,
        theme_description="",
        keywords=["parking", "permits", "garage"],
        subjects=subjects or [],
        evidence=[Evidence(id=1, text="x")],
    )


REQUESTS = [
    request("IT", "slow_response", "Slow response, missed deadlines", ["laptops"]),
    request("IT", "communication_gaps", "Communication gaps", ["laptops"]),
    request("IT", "quality_errors", "Errors and rework", ["laptops"]),
    request("IT", "new_abc", "parking permits", []),
    request("HR", "slow_response", "Slow response, missed deadlines", ["onboarding"]),
]


def test_distinct_names_are_untouched() -> None:
    summaries = {("IT", "slow_response"): summary("Laptop delays"), ("IT", "communication_gaps"): summary("No news")}

    result = dedupe_names(summaries, REQUESTS, TAXONOMY)

    assert result == summaries
    assert all(result[k] is summaries[k] for k in summaries)


def test_collisions_within_a_provider_get_the_theme_name_then_a_numeral() -> None:
    summaries = {
        ("IT", "slow_response"): summary("Laptop provisioning"),
        ("IT", "communication_gaps"): summary("laptop  provisioning"),
        ("IT", "quality_errors"): summary("Laptop provisioning"),
        ("HR", "slow_response"): summary("Laptop provisioning"),
    }

    result = dedupe_names(summaries, REQUESTS, TAXONOMY)

    assert {k: s.name for k, s in result.items()} == {
        ("IT", "slow_response"): "Laptop provisioning",
        ("IT", "communication_gaps"): "laptop  provisioning (Communication gaps)",
        ("IT", "quality_errors"): "Laptop provisioning (Errors and rework)",
        ("HR", "slow_response"): "Laptop provisioning",
    }
    assert list(result) == list(summaries)


def test_numerals_when_no_request_tells_them_apart() -> None:
    summaries = {("IT", f"t{i}"): summary("Same") for i in range(3)}

    result = dedupe_names(summaries)

    assert [s.name for s in result.values()] == ["Same", "Same (2)", "Same (3)"]


def test_across_providers_appends_the_provider() -> None:
    summaries = {("IT", "slow_response"): summary("Waiting"), ("HR", "slow_response"): summary("waiting")}

    result = dedupe_names(summaries, REQUESTS, across_providers=True)

    assert [s.name for s in result.values()] == ["Waiting (IT)", "waiting (HR)"]


@pytest.mark.parametrize(
    "name",
    ["Communication gaps", "communication gaps.", "Slow response, missed deadlines: parking"],
    ids=["equal", "case-and-punctuation", "taxonomy-name-prefix"],
)
def test_discovered_theme_cannot_take_a_taxonomy_name(name: str) -> None:
    summaries = {("IT", "new_abc"): summary(name), ("IT", "communication_gaps"): summary("Communication gaps")}

    result = dedupe_names(summaries, REQUESTS, TAXONOMY)

    assert result[("IT", "new_abc")].name == offline_name(REQUESTS[3]) == "Parking, permits and garage"
    assert result[("IT", "new_abc")].summarizer == "llm:m"
    assert result[("IT", "communication_gaps")].name == "Communication gaps"


def test_taxonomy_theme_may_use_its_own_name_and_unknown_requests_are_marked_new() -> None:
    summaries = {
        ("IT", "communication_gaps"): summary("Communication gaps"),
        ("HR", "new_x"): summary("Errors and rework"),
    }

    result = dedupe_names(summaries, REQUESTS, TAXONOMY)

    assert result[("IT", "communication_gaps")].name == "Communication gaps"
    assert result[("HR", "new_x")].name == "Errors and rework (new theme)"
