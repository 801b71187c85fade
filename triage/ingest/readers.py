"""Readers for CSV, JSONL and XLSX survey files: each yields (row number, raw fields).

A damaged row is yielded as a reason (str) so its neighbours are kept; only a file with nothing readable in it
(binary, no 'text' column, not a workbook, no rows) raises `InvalidInput`.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import logging
from collections.abc import Iterator
from itertools import zip_longest
from pathlib import Path
from typing import Any

from triage.errors import InvalidInput

log = logging.getLogger(__name__)

FORMATS = ("csv", "jsonl", "xlsx")
RawRow = tuple[int, dict[str, Any] | str]
"""A row number as a person sees it in the file (CSV/XLSX header = row 1) and its fields, or why it is unreadable."""

BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def detect_format(filename: str) -> str:
    suffix = Path(filename).suffix.lower().lstrip(".")
    fmt = {"ndjson": "jsonl", "json": "jsonl", "xlsm": "xlsx", "txt": "csv", "tsv": "csv"}.get(suffix, suffix)
    if fmt not in FORMATS:
        raise InvalidInput(f"unsupported file type {suffix!r}: use .csv, .jsonl or .xlsx", field="file")
    return fmt


def _utf16_without_bom(sample: bytes) -> str | None:
    """'utf-16-le'/'-be' when most NUL bytes sit at odd/even offsets (ASCII text in UTF-16), else None."""
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    half = max(1, len(sample) // 2)
    if odd > 0.3 * half and even < 0.05 * half:
        return "utf-16-le"
    if even > 0.3 * half and odd < 0.05 * half:
        return "utf-16-be"
    return None


def decode_text(data: bytes) -> str:
    """Text of a file: by its BOM, else UTF-8, else UTF-16 without a BOM, else Windows-1252 (Excel's 'CSV').

    A byte sequence no text encoding explains (NUL bytes in a non-UTF-16 file) is refused as binary.
    """
    for bom, encoding in BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding)
            except UnicodeDecodeError as exc:
                raise InvalidInput(f"file starts with a {encoding} mark but is not {encoding} text", "file") from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if b"\x00" in data:
        utf16 = _utf16_without_bom(data[:65536])
        if utf16 is not None:
            try:
                return data.decode(utf16)
            except UnicodeDecodeError:
                pass
        raise InvalidInput("the file is binary, not text: save it as CSV (UTF-8), JSONL or XLSX", field="file")
    log.info("file is not UTF-8: read as Windows-1252")
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:  # the five bytes cp1252 leaves undefined: latin-1 maps every byte
        return data.decode("latin-1")


def _norm_header(name: Any) -> str:
    return str(name or "").strip().lower().replace(" ", "_")


def read_csv(data: bytes) -> Iterator[RawRow]:
    text = decode_text(data)
    # A huge field within the upload limit is read whole, then refused by length with its row number:
    # a field cut at the csv module's default limit would turn its remainder into spurious rows.
    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))
    # Only the delimiter is sniffed: the Sniffer can misjudge quoting (doublequote) and split valid rows.
    try:
        delimiter = csv.Sniffer().sniff(text[:4096], delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), csv.excel, delimiter=delimiter)
    try:
        header = [_norm_header(h) for h in next(reader, [])]
    except csv.Error as exc:
        raise InvalidInput(f"the header row is not valid CSV: {exc}", field="file") from exc
    if "text" not in header:
        raise InvalidInput("the file has no 'text' column (the header row must name it)", field="text")
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield reader.line_num, f"not valid CSV: {exc}"
            continue
        row_number = reader.line_num
        if not any(v.strip() for v in values):
            continue
        if len(values) > len(header):
            yield row_number, f"{len(values)} fields but the header has {len(header)}"
            continue
        yield row_number, dict(zip(header, values, strict=False))


def _json_item(text: str) -> dict[str, Any] | str:
    try:
        item = json.loads(text)
    except json.JSONDecodeError as exc:
        return f"invalid JSON: {exc.msg}"
    except RecursionError:
        return "invalid JSON: nested too deeply"
    return item if isinstance(item, dict) else "not a JSON object"


def read_jsonl(data: bytes) -> Iterator[RawRow]:
    text = decode_text(data)
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            items = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"invalid JSON array: {exc.msg} at line {exc.lineno}", field="file") from exc
        except RecursionError as exc:
            raise InvalidInput("invalid JSON array: nested too deeply", field="file") from exc
        if not isinstance(items, list):  # e.g. '[1] 2' is not JSON at all, but be explicit
            raise InvalidInput("a JSON file must hold an array of objects or one object per line", field="file")
        for i, item in enumerate(items, start=1):
            yield i, item if isinstance(item, dict) else "not a JSON object"
        return
    for line_number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            yield line_number, _json_item(line)


def _cell(value: Any, formula: Any) -> Any:
    """A cell's value; a formula never calculated (no cached value) is kept as its text, not dropped."""
    if value is None and isinstance(formula, str) and formula.startswith("="):
        return formula
    return value


def read_xlsx(data: bytes) -> Iterator[RawRow]:
    from openpyxl import load_workbook

    try:
        values_book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        formula_book = load_workbook(io.BytesIO(data), read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many types for a broken file
        raise InvalidInput("not a readable .xlsx workbook", field="file") from exc
    row_number = 1
    try:
        if not values_book.worksheets:
            raise InvalidInput("the workbook has no sheet", field="file")
        rows = zip_longest(
            values_book.worksheets[0].iter_rows(values_only=True),
            formula_book.worksheets[0].iter_rows(values_only=True),
            fillvalue=(),
        )
        try:
            first = next(rows, ((), ()))
        except Exception as exc:
            raise InvalidInput("not a readable .xlsx workbook", field="file") from exc
        header = [_norm_header(h) for h in first[0]]
        if "text" not in header:
            raise InvalidInput("the first sheet has no 'text' column in its first row", field="text")
        while True:
            try:
                values, formulas = next(rows)
            except StopIteration:
                return
            except Exception as exc:  # a damaged sheet: keep the rows read so far, report where it broke
                log.warning("workbook damaged after row %d: %s", row_number, type(exc).__name__)
                yield row_number + 1, "the workbook is damaged from this row on; rows after it were not read"
                return
            row_number += 1
            cells = [_cell(v, f) for v, f in zip_longest(values, formulas)]
            if all(v is None or str(v).strip() == "" for v in cells):
                continue
            yield row_number, {h: v for h, v in zip(header, cells, strict=False) if h}
    finally:
        values_book.close()
        formula_book.close()


def read_file(data: bytes, fmt: str) -> Iterator[RawRow]:
    """Rows of a survey file in format `fmt` (csv, jsonl or xlsx); a file without a single row is refused."""
    readers = {"csv": read_csv, "jsonl": read_jsonl, "xlsx": read_xlsx}
    if not data.strip():
        raise InvalidInput("the file is empty", field="file")
    return _at_least_one(readers[fmt](data))


def _at_least_one(rows: Iterator[RawRow]) -> Iterator[RawRow]:
    empty = True
    for row in rows:
        empty = False
        yield row
    if empty:
        raise InvalidInput("the file has no rows under its header", field="file")
