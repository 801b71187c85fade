"""The redaction eval: its scorers on hand-made spans, its dataset's gold spans, and the full suite's guards."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from evals.suites import redaction as suite
from triage.config import PROJECT_ROOT
from triage.ingest.names import Found


def _row(text: str, spans: list[tuple[str, str]], row_id: str = "x") -> suite.Row:
    out = []
    for piece, kind in spans:
        start = text.index(piece)
        out.append({"start": start, "end": start + len(piece), "kind": kind, "text": piece})
    return {"id": row_id, "text": text, "spans": out, "lang": "en", "split": "dev"}


def test_scores_count_covered_gold_spans_overlapping_predictions_and_changed_clean_comments() -> None:
    named = _row("ask Maria Gonzalez or mail m.g@acme.com", [("Maria Gonzalez", "PERSON"), ("m.g@acme.com", "EMAIL")])
    clean = _row("Workday is slow", [], "clean")
    half = _row("ask Ana Belén Torres now", [("Ana Belén Torres", "PERSON")], "half")
    predicted = [
        [Found(4, 9, "PERSON"), Found(27, 39, "EMAIL")],  # "Maria" only: the surname leaks
        [Found(0, 7, "PERSON")],  # a product read as a person
        [Found(4, 7, "PERSON"), Found(8, 20, "PERSON")],  # two spans covering the name: no leak
    ]
    s = suite.score([named, clean, half], predicted)
    assert s["per_kind"]["PERSON"] == {"gold": 2, "predicted": 4, "recall": 0.5, "precision": 0.75}
    assert s["per_kind"]["EMAIL"] == {"gold": 1, "predicted": 1, "recall": 1.0, "precision": 1.0}
    assert s["recall"] == round(2 / 3, 4) and s["precision"] == 0.8
    assert s["comments_leaking"] == 1 and s["comments_with_data"] == 2
    assert s["clean_changed"] == 1 and s["clean_changed_share"] == 1.0
    assert s["misses"] == [{"id": "x", "text": "Maria Gonzalez", "kind": "PERSON"}]
    assert s["false_positives"] == [{"id": "clean", "text": "Workday", "kind": "PERSON"}]


def test_dataset_gold_spans_point_at_their_text_and_the_set_is_big_enough() -> None:
    rows = suite.load()
    assert len(rows) >= 150
    assert sum(1 for r in rows if r["clean"]) >= 50
    assert {r["lang"] for r in rows} == {"en", "es", "de", "fr", "pt"}
    for r in rows:
        assert r["clean"] == (not r["spans"])
        for span in r["spans"]:
            assert r["text"][span["start"] : span["end"]] == span["text"]
    kinds = {span["kind"] for r in rows for span in r["spans"]}
    assert kinds == {"PERSON", "EMAIL", "PHONE", "ID", "URL"}


def test_the_suite_passes_its_guards(tmp_path: Path) -> None:
    out = tmp_path / "redaction.json"
    done = subprocess.run(
        [sys.executable, "-m", "evals.suites.redaction", "--json", str(out)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    result = json.loads(out.read_text())
    product, before = result["methods"][suite.PRODUCT]["all"], result["methods"][suite.BASELINE]["all"]
    assert before["per_kind"]["PERSON"]["recall"] == 0.0  # the old patterns find no names
    assert product["per_kind"]["PERSON"]["recall"] > 0.8
    assert product["recall"] > before["recall"]
    assert result["speed"]["single_cpu_p50_ms"] > 0
