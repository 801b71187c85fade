"""Redaction with the real spaCy models: names in five languages, personal URLs, hard negatives, batch = single."""

from __future__ import annotations

import pytest

from triage.ingest.names import find_names, model_for
from triage.ingest.redact import find_personal_data, redact, redact_counted, redact_many, redact_patterns

pytestmark = pytest.mark.store_free


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ask Maria Gonzalez in payroll", "ask [PERSON] in payroll"),
        ("Tom Becker from IT set up my laptop", "[PERSON] from IT set up my laptop"),
        ("Shoutout to Marcus Lee for fixing Outlook", "Shoutout to [PERSON] for fixing Outlook"),
        (
            "Facilities ignored the leak until Sophie Laurent escalated it",
            "Facilities ignored the leak until [PERSON] escalated it",
        ),
        ("I spoke with Mrs Patel in Legal", "I spoke with Mrs [PERSON] in Legal"),
        ("Kevin O'Brien reviewed the contract", "[PERSON] reviewed the contract"),
        ("Luis and Tomasz from the helpdesk are friendly", "[PERSON] and [PERSON] from the helpdesk are friendly"),
        ("the IT guide says to ping @jsmith on Slack", "the IT guide says to ping [PERSON] on Slack"),
    ],
    ids=["full-name", "sentence-start", "after-to", "read-as-org", "title", "apostrophe", "lone-first-name", "handle"],
)
def test_english_names_become_person(text: str, expected: str) -> None:
    assert redact(text, "en") == expected


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        ("es", "Le escribí a Carlos Ruiz de Compras tres veces", "Le escribí a [PERSON] de Compras tres veces"),
        ("es", "La Sra. Martínez de Nóminas resolvió mi problema", "La Sra. [PERSON] de Nóminas resolvió mi problema"),
        (
            "de",
            "Ich habe Frau Schneider von der Buchhaltung gefragt",
            "Ich habe Frau [PERSON] von der Buchhaltung gefragt",
        ),
        (
            "de",
            "Stefan Wagner aus der IT hat mein Laptop eingerichtet",
            "[PERSON] aus der IT hat mein Laptop eingerichtet",
        ),
        (
            "fr",
            "Le service RH n'a jamais répondu, Jean-Pierre Martin m'a dit d'attendre",
            "Le service RH n'a jamais répondu, [PERSON] m'a dit d'attendre",
        ),
        ("fr", "M. Girard des achats ne répond jamais", "M. [PERSON] des achats ne répond jamais"),
        ("pt", "Falei com o João Pereira do Financeiro", "Falei com o [PERSON] do Financeiro"),
    ],
    ids=["es-name", "es-title", "de-title", "de-name", "fr-hyphenated", "fr-title", "pt-name"],
)
def test_names_in_other_languages(language: str, text: str, expected: str) -> None:
    assert model_for(language) == "fr_core_news_sm"
    assert redact(text, language) == expected


def test_language_is_detected_when_not_given() -> None:
    assert redact("Le escribí a Carlos Ruiz de Compras tres veces y nunca me contestó") == (
        "Le escribí a [PERSON] de Compras tres veces y nunca me contestó"
    )


@pytest.mark.parametrize(
    "text",
    [
        "IT took three weeks to give me a laptop and Jira tickets sit for days",
        "Workday and Concur are a nightmare; Finance blames Procurement for everything",
        "Expense reimbursements through SAP Concur now take 45 days",
        "The Microsoft Teams phone system drops calls every week",
        "Our team in Berlin waits longer for IT than the team in London",
        "Calm and helpful. Salary bands exist, apparently.",
        "Security badges for contractors take two weeks, Facilities and Security blame each other",
        "The policy page https://wiki.acme-corp.com/display/HR/Benefits is out of date",
        "Die Personalabteilung informiert viel zu spät über Änderungen, der Antrag liegt seit Wochen",
        "Llevo tres semanas esperando; RRHH y Compras se culpan mutuamente",
        "Les RH ne communiquent jamais les changements à temps",
    ],
    ids=[
        "jira",
        "workday-concur",
        "sap",
        "teams",
        "cities",
        "common-openers",
        "security",
        "plain-url",
        "de-nouns",
        "es-verb",
        "fr",
    ],
)
def test_departments_products_and_ordinary_words_are_left_alone(text: str) -> None:
    assert redact(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Profile https://intranet.acme-corp.com/people/m.gonzalez is wrong",
            "Profile [URL] is wrong",
        ),
        (
            "files at https://acme.sharepoint.com/personal/martin_dubois_acme_com/Documents.",
            "files at [URL].",
        ),
        (
            "my LinkedIn linkedin.com/in/sam-carter-4471 still says I work here",
            "my LinkedIn [URL] still says I work here",
        ),
        ("see https://wiki.acme-corp.com/~tperez/onboarding", "see [URL]"),
        (
            "ticket https://jira.acme-corp.com/browse/IT-20931 is open",
            "ticket https://jira.acme-corp.com/browse/[ID] is open",
        ),
    ],
    ids=["people-path", "onedrive", "bare-linkedin", "tilde", "non-personal-url-keeps-only-the-id"],
)
def test_personal_urls(text: str, expected: str) -> None:
    assert redact(text, "en") == expected


def test_more_patterns() -> None:
    assert redact("Appelez-moi au +33 1 42 68 53 00, merci", "fr") == "Appelez-moi au [PHONE], merci"
    assert redact("Order ORD-2025-118 never arrived", "en") == "Order [ID] never arrived"
    assert redact("ping @here and @channel about IT", "en") == "ping @here and @channel about IT"


def test_counts_and_spans() -> None:
    result = redact_counted("Mail maria.gonzalez@acme-corp.com or ask Tom Becker, badge EMP-20931", "en")
    assert result.text == "Mail [EMAIL] or ask [PERSON], badge [ID]"
    assert result.counts == {"PERSON": 1, "EMAIL": 1, "PHONE": 0, "ID": 1, "URL": 0}
    assert result.total == 3
    spans = find_personal_data("ask Maria Gonzalez in payroll", "en")
    assert [(s.start, s.end, s.kind) for s in spans] == [(4, 18, "PERSON")]


def test_placeholders_already_in_the_text_are_not_redacted_again() -> None:
    assert redact_counted("ask [PERSON] or [EMAIL] in Payroll", "en").total == 0


def test_the_old_patterns_miss_names() -> None:
    assert redact_patterns("ask Maria Gonzalez in payroll") == "ask Maria Gonzalez in payroll"
    assert redact_patterns("mail maria@acme-corp.com") == "mail [EMAIL]"


def test_a_batch_gives_what_one_at_a_time_gives() -> None:
    texts = [
        "ask Maria Gonzalez in payroll",
        "Workday and Concur are a nightmare",
        "Ich habe Frau Schneider von der Buchhaltung gefragt",
        "Falei com o João Pereira do Financeiro",
        "",
    ]
    languages = ["en", "en", "de", "pt", "und"]
    batch = redact_many(texts, languages)
    assert [r.text for r in batch] == [redact(t, lang) for t, lang in zip(texts, languages, strict=True)]
    assert [r.total for r in batch] == [1, 0, 1, 1, 0]


def test_find_names_reads_only_what_is_not_masked() -> None:
    text = "The shared drive of Martin Dubois is the only copy"
    assert [text[f.start : f.end] for f in find_names(text, "en")] == ["Martin Dubois"]
    assert find_names(text, "en", masked=[(20, 33)]) == []
