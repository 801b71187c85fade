import io
import json

import pytest
from openpyxl import Workbook

from triage.errors import InvalidInput
from triage.ingest.readers import detect_format, read_file
from triage.ingest.validate import hash_respondent, prepare

pytestmark = pytest.mark.store_free

KEY = b"k" * 32
HEADER = "text,provider,respondent_dept,cycle,rating,submitted_at,respondent\n"


def _csv(*lines: str) -> bytes:
    return (HEADER + "\n".join(lines) + "\n").encode()


def test_csv_good_and_bad_rows_are_reported_by_row_number() -> None:
    data = _csv(
        '"Slow, very slow",IT,Sales,2026-Q1,2,2026-01-05,emp-1',
        ",IT,Sales,2026-Q1,2,,emp-2",
        "fine,HR,Sales,2026-Q1,9,,emp-3",
        "ok,HR,Sales,2026-Q1,x,,emp-3",
        "dated,HR,Sales,2026-Q1,4,not-a-date,emp-3",
        "no provider at all,,,,,,",
    )
    good, bad = prepare(read_file(data, "csv"), KEY)
    assert [c.text for c in good] == ["Slow, very slow", "no provider at all"]
    assert good[1].provider == "Unspecified"
    assert [(b.row, b.reason.split(":")[0]) for b in bad] == [
        (3, "text"),
        (4, "rating"),
        (5, "rating"),
        (6, "submitted_at"),
    ]


def test_redaction_and_respondent_hash_happen_before_storage() -> None:
    good, _ = prepare(read_file(_csv("mail me: a.b@corp.com,IT,,,,,Emp-7"), "csv"), KEY)
    assert good[0].text == "mail me: [EMAIL]"
    assert good[0].respondent_hash == hash_respondent("emp-7", KEY)
    assert "emp" not in (good[0].respondent_hash or "")


def test_same_row_twice_has_the_same_content_hash() -> None:
    good, _ = prepare(read_file(_csv("same,IT,,,3,,e1", "same,IT,,,3,,e1", "same,IT,,,4,,e1"), "csv"), KEY)
    assert good[0].content_hash == good[1].content_hash != good[2].content_hash


def test_jsonl_bad_lines_do_not_stop_good_ones() -> None:
    lines = [json.dumps({"text": "a", "provider": "IT"}), "{not json", "[1]", json.dumps({"text": "b", "rating": "5"})]
    good, bad = prepare(read_file("\n".join(lines).encode(), "jsonl"), KEY)
    assert [c.text for c in good] == ["a", "b"]
    assert good[1].rating == 5
    assert [b.row for b in bad] == [2, 3]


def test_xlsx_rows() -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Text", "Provider", "Rating"])
    sheet.append(["laptop took a month", "IT", 2])
    sheet.append([None, "IT", 2])
    buffer = io.BytesIO()
    book.save(buffer)
    good, bad = prepare(read_file(buffer.getvalue(), "xlsx"), KEY)
    assert [(c.text, c.provider, c.rating) for c in good] == [("laptop took a month", "IT", 2)]
    assert [b.row for b in bad] == [3]


@pytest.mark.parametrize(
    ("data", "fmt", "field"),
    [
        (b"provider,rating\nIT,3\n", "csv", "text"),
        (b"text\n\x00\x9f\xff\x00\x01\x02\x00", "csv", "file"),
        (b"not a workbook", "xlsx", "file"),
    ],
    ids=["no-text-column", "binary", "broken-xlsx"],
)
def test_unreadable_files_raise_a_clear_error(data: bytes, fmt: str, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        list(read_file(data, fmt))
    assert caught.value.field == field


def test_unknown_extension_is_rejected() -> None:
    with pytest.raises(InvalidInput):
        detect_format("survey.pdf")
    assert detect_format("x.JSONL") == "jsonl"


def test_csv_with_escaped_quotes_keeps_every_field() -> None:
    data = _csv('"They said ""soon"", twice",IT,,,2,,e1', '"plain, with comma",HR,,,3,,e2')
    good, bad = prepare(read_file(data, "csv"), KEY)
    assert bad == []
    assert [c.text for c in good] == ['They said "soon", twice', "plain, with comma"]
