"""The output audit: personal data an LLM answer (or anything else) puts into a report is redacted and counted."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path

from tests.unit.llm.fake_chat_server import FakeChatServer
from triage import pipeline
from triage.config import Settings
from triage.embed.sentence_transformer import SentenceTransformerEmbedder
from triage.report.audit import audit_report, audited
from triage.report.render import render
from triage.types import Action, ProviderReport, Report, ReportSubject, ReportTheme, WithheldTheme

SLOW = [
    "Waited three weeks for a laptop.",
    "My access request took nine days.",
    "Tickets sit in the queue for days.",
    "Still waiting on the VPN fix from last month.",
    "Password resets take two days every time.",
    "Took a fortnight to get a monitor.",
]


def _theme(**fields: object) -> ReportTheme:
    base: dict[str, object] = {
        "id": "slow_response",
        "name": "Slow response: IT requests",
        "theme_name": "Slow response",
        "count": 6,
        "respondents": 6,
        "share": 1.0,
        "mean_rating": None,
        "keywords": ["laptop", "days"],
        "summary": "Requests to IT wait days or weeks. It affects laptops and access.",
        "summarizer": "offline",
        "quotes": ["Waited three weeks for a laptop."],
        "subjects": [ReportSubject(id="s0", name="laptop provisioning", count=6)],
        "actions": [Action(text="Publish a response-time target for IT requests.", evidence=[1, 2])],
    }
    return ReportTheme.model_validate(base | fields)


def _report(theme: ReportTheme, redactions: int | None = None) -> Report:
    provider = ProviderReport(
        provider="IT",
        comments=6,
        respondents=6,
        unassigned=0,
        withheld=WithheldTheme(count=0, themes=0),
        themes=[theme],
    )
    return Report(
        run_id="r1",
        dataset_id="d1",
        dataset_name="survey",
        created_at=dt.datetime(2026, 1, 5, tzinfo=dt.UTC),
        comments=6,
        min_respondents=5,
        redactions_in_output=redactions,
        taxonomy_version="v1",
        embed_model="minilm",
        providers=[provider],
    )


def test_an_llm_summary_naming_a_colleague_is_redacted_and_counted(
    tmp_path: Path, embedder: SentenceTransformerEmbedder, chat_server: FakeChatServer
) -> None:
    answer = {
        "name": "Slow response: IT requests",
        "summary": "Requests to IT wait days or weeks, says Maria Gonzalez. It affects laptops, access and VPN.",
        "actions": [{"text": "Ask Tom Becker to publish a response-time target for IT requests.", "evidence": [1, 2]}],
    }
    for _ in range(3):
        chat_server.answer(json.dumps(answer))
    settings = Settings(
        data_dir=tmp_path / "data",
        llm={"base_url": chat_server.url, "model": "fake-model", "timeout_s": 2.0, "max_retries": 0},  # type: ignore[arg-type]
    )
    services = pipeline.open_services(settings, embedder=embedder)
    rows = [(i, {"text": t, "provider": "IT", "respondent": f"e{i}"}) for i, t in enumerate(SLOW, start=1)]
    run_id = pipeline.start_run(services, pipeline.ingest_rows(services, rows, "audit").id)
    asyncio.run(pipeline.analyze(services, run_id))

    report = pipeline.get_report(services, run_id)
    (theme,) = report.providers[0].themes
    assert theme.summarizer == "llm:fake-model"  # the LLM's answer was used, not the offline summariser
    assert theme.summary == "Requests to IT wait days or weeks, says [PERSON]. It affects laptops, access and VPN."
    assert theme.actions[0].text == "Ask [PERSON] to publish a response-time target for IT requests."
    assert report.redactions_in_output == 2
    markdown = pipeline.render_report(services, run_id, "md")
    assert "Maria" not in markdown and "Becker" not in markdown
    assert "Output audit: 2 spans of personal data" in markdown
    assert json.loads(pipeline.render_report(services, run_id, "json"))["redactions_in_output"] == 2
    services.close()


def test_audit_redacts_quotes_subjects_and_names_and_leaves_clean_text_alone() -> None:
    theme = _theme(
        name="Slow response: ask Priya Raman",
        quotes=["Waited three weeks for a laptop.", "Mail me at j.okafor@acme-corp.com, nobody answers."],
        quote_languages=["en", "en"],
        subjects=[ReportSubject(id="s0", name="laptops for Daniel Whitfield", count=6)],
    )
    out = audit_report(_report(theme))
    (t,) = out.providers[0].themes
    assert t.name == "Slow response: ask [PERSON]"
    assert t.quotes == ["Waited three weeks for a laptop.", "Mail me at [EMAIL], nobody answers."]
    assert t.subjects[0].name == "laptops for [PERSON]"
    assert t.summary == theme.summary and t.actions == theme.actions  # department and product words kept
    assert out.redactions_in_output == 3
    assert theme.name == "Slow response: ask Priya Raman"  # the input report is not changed

    clean = audit_report(_report(_theme()))
    assert clean.redactions_in_output == 0
    assert clean.providers == _report(_theme()).providers


def test_placeholders_are_not_counted_again_and_counts_add_up() -> None:
    once = audit_report(_report(_theme(summary="Ask [PERSON] or Tom Becker about IT requests in Jira and SAP.")))
    assert once.redactions_in_output == 1
    twice = audit_report(once)
    assert twice.redactions_in_output == 1
    assert twice.providers[0].themes[0].summary == "Ask [PERSON] or [PERSON] about IT requests in Jira and SAP."


def test_a_stored_audited_report_is_shown_as_it_is_and_an_old_one_is_audited_now() -> None:
    leaky = _report(_theme(summary="Kevin O'Brien in IT never answers about the laptops."), redactions=None)
    assert audited(leaky).providers[0].themes[0].summary == "[PERSON] in IT never answers about the laptops."
    assert audited(leaky).redactions_in_output == 1
    stored = _report(_theme(), redactions=4)
    assert audited(stored) is stored
    assert "Output audit: 4 spans" in render(stored, "md")
    assert "Output audit" not in render(_report(_theme()), "md")
