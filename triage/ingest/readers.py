"""Readers for CSV, JSONL and XLSX survey files: each yields (row number, raw fields)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from triage.errors import InvalidInput

FORMATS = ("csv", "jsonl", "xlsx")
RawRow = tuple[int, dict[str, Any] | str]
"""A row number as a person sees it in the file (CSV/XLSX header = row 1) and its fields, or why it is unreadable."""


def detect_format(filename: str) -> str:
    suffix = Path(filename).suffix.lower().lstrip(".")
    fmt = {"ndjson": "jsonl", "json": "jsonl", "xlsm": "xlsx", "txt": "csv", "tsv": "csv"}.get(suffix, suffix)
    if fmt not in FORMATS:
        raise InvalidInput(f"unsupported file type {suffix!r}: use .csv, .jsonl or .xlsx", field="file")
    return fmt


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"file is not UTF-8 text (bad byte at offset {exc.start}); save it as UTF-8", "file"
        ) from exc


def _norm_header(name: Any) -> str:
    return str(name or "").strip().lower().replace(" ", "_")


def read_csv(data: bytes) -> Iterator[RawRow]:
    text = _decode(data)
    # Only the delimiter is sniffed: the Sniffer can misjudge quoting (doublequote) and split valid rows.
    try:
        delimiter = csv.Sniffer().sniff(text[:4096], delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.reader(io.StringIO(text, newline=""), csv.excel, delimiter=delimiter)
    header = [_norm_header(h) for h in next(reader, [])]
    if "text" not in header:
        raise InvalidInput("the file has no 'text' column (the header row must name it)", field="text")
    for values in reader:
        row_number = reader.line_num
        if not any(v.strip() for v in values):
            continue
        if len(values) > len(header):
            yield row_number, f"{len(values)} fields but the header has {len(header)}"
            continue
        yield row_number, dict(zip(header, values, strict=False))


def read_jsonl(data: bytes) -> Iterator[RawRow]:
    text = _decode(data)
    stripped = text.lstrip()
    if stripped.startswith("["):
        try:
            items = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise InvalidInput(f"invalid JSON array: {exc.msg} at line {exc.lineno}", field="file") from exc
        for i, item in enumerate(items, start=1):
            yield i, item if isinstance(item, dict) else "not a JSON object"
        return
    for line_number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            yield line_number, f"invalid JSON: {exc.msg}"
            continue
        yield line_number, item if isinstance(item, dict) else "not a JSON object"


def read_xlsx(data: bytes) -> Iterator[RawRow]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a broken file
        raise InvalidInput("not a readable .xlsx workbook", field="file") from exc
    try:
        rows = workbook.worksheets[0].iter_rows(values_only=True)
        header = [_norm_header(h) for h in next(rows, ())]
        if "text" not in header:
            raise InvalidInput("the first sheet has no 'text' column in its first row", field="text")
        for row_number, values in enumerate(rows, start=2):
            if all(v is None or str(v).strip() == "" for v in values):
                continue
            yield row_number, {h: v for h, v in zip(header, values, strict=False) if h}
    finally:
        workbook.close()


def read_file(data: bytes, fmt: str) -> Iterator[RawRow]:
    """Rows of a survey file in format `fmt` (csv, jsonl or xlsx)."""
    readers = {"csv": read_csv, "jsonl": read_jsonl, "xlsx": read_xlsx}
    return readers[fmt](data)
