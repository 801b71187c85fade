import pytest

from triage.ingest.redact import redact

pytestmark = pytest.mark.store_free


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("write to maria.gonzalez@acme-corp.com please", "write to [EMAIL] please"),
        ("mail J.Doe+hr@mail.example.co.uk.", "mail [EMAIL]."),
        ("call +1 415 555 0134 now", "call [PHONE] now"),
        ("ring (020) 7946 0958 today", "ring [PHONE] today"),
        ("try 555-867-5309", "try [PHONE]"),
        ("or +4915123456789", "or [PHONE]"),
        ("landline 0151 2345 6789.", "landline [PHONE]."),
        ("mobile 07700 900461", "mobile [PHONE]"),
        ("my id is E40917, ticket INC0012345", "my id is [ID], ticket [ID]"),
        ("badge EMP-0042 expired", "badge [ID] expired"),
    ],
    ids=[
        "email",
        "email-plus-subdomain",
        "phone-intl",
        "phone-parens",
        "phone-us",
        "phone-compact",
        "phone-groups",
        "phone-uk-mobile",
        "employee-and-ticket-id",
        "dashed-id",
    ],
)
def test_redacts_personal_data(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "submitted on 2026-01-05 and still waiting",
        "three weeks, ticket 4412, no answer",
        "the invoice was 1,250.00 EUR",
        "Q1 2026 was better than Q4 2025",
        "version 2.13 of the tool",
        "cycle 2026-Q1, Q2 and FY2026",
    ],
    ids=["iso-date", "ticket-number", "amount", "quarters", "version", "cycles"],
)
def test_leaves_ordinary_text_alone(text: str) -> None:
    assert redact(text) == text
