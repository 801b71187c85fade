from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from triage.config import PROJECT_ROOT
from triage.errors import ConfigurationError
from triage.summarize import OfflineSummarizer, load_playbook
from triage.types import Evidence, SummaryRequest

pytestmark = pytest.mark.store_free

GOOD_ACTION = (
    '[[actions]]\ntheme = "slow_response"\ntext = "Reply within a day about {subject}."\nkeywords = ["slow"]\n'
)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "playbook.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_fixture_playbook_loads_in_order(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        'version = "1"\n'
        + GOOD_ACTION
        + '[[actions]]\ntheme = "slow_response"\ntext = "Escalate."\nkeywords = ["  No   Reply ", "no reply"]\n',
    )

    playbook = load_playbook(path)

    assert playbook.version == "1"
    assert [a.text for a in playbook.for_theme("slow_response")] == ["Reply within a day about {subject}.", "Escalate."]
    assert playbook.actions[1].keywords == ("no reply",)
    assert playbook.for_theme("praise") == []


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ('version = "1"\nauthor = "me"\n' + GOOD_ACTION, "author: Extra inputs are not permitted"),
        ('version = "1"\n' + GOOD_ACTION + 'owner = "it"\n', "actions.0.owner: Extra inputs are not permitted"),
        (GOOD_ACTION, "version: Field required"),
        ('version = "1"\n[[actions]]\ntheme = "slow_response"\n', "actions.0.text: Field required"),
        ('version = "1"\nactions = []\n', "actions: "),
        ('version = "1"\n' + GOOD_ACTION.replace("{subject}", "{team}"), "unknown placeholders {team}"),
        ('version = "1"\n' + GOOD_ACTION.replace('["slow"]', '["slow", " "]'), "keywords must not be empty"),
        ('version = "1"\n' + GOOD_ACTION.replace('["slow"]', '"slow"'), "actions.0.keywords"),
        ('version = "1\n', "not valid TOML"),
    ],
    ids=[
        "unknown-top-key",
        "unknown-action-key",
        "no-version",
        "no-text",
        "no-actions",
        "unknown-placeholder",
        "blank-keyword",
        "keywords-not-a-list",
        "bad-toml",
    ],
)
def test_bad_playbooks_are_configuration_errors(tmp_path: Path, text: str, complaint: str) -> None:
    path = write(tmp_path, text)

    with pytest.raises(ConfigurationError) as caught:
        load_playbook(path)

    assert str(path) in caught.value.detail
    assert complaint in caught.value.detail


def test_missing_playbook(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="not found"):
        load_playbook(tmp_path / "nope.toml")


def test_product_playbook_gives_valid_summaries_for_every_theme() -> None:
    playbook = load_playbook(PROJECT_ROOT / "models" / "playbook.toml")
    themes = sorted({a.theme for a in playbook.actions})
    summarizer = OfflineSummarizer(playbook)

    for theme in [*themes, "new_1"]:
        request = SummaryRequest(
            provider="IT",
            theme_id=theme,
            theme_name=theme.replace("_", " ").capitalize(),
            theme_description="",
            keywords=["status", "weeks"],
            subjects=["laptop provisioning"],
            evidence=[Evidence(id=7, text="No status update for weeks."), Evidence(id=8, text="Fine otherwise.")],
        )
        summary = asyncio.run(summarizer.summarize(request))
        assert 1 <= len(summary.actions) <= 3, theme
        assert all(set(a.evidence) <= {7, 8} and "{subject}" not in a.text for a in summary.actions), theme
