"""The runner end to end on a tiny labelled file, with the real embedding model (vectors cached in tmp_path)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.__main__ import _finish
from evals.data import EmbeddingCache, load_file
from evals.methods import OURS
from evals.report import MetricRow, Result, Section, format_section
from evals.runner import run_dataset

pytestmark = pytest.mark.store_free

TOPICS = {
    "laptop": [
        "my laptop has not arrived",
        "still waiting for the new laptop",
        "laptop delivery is late",
        "where is my replacement laptop",
        "the laptop order is stuck",
        "no laptop after two weeks",
    ],
    "expenses": [
        "expense claim rejected again",
        "my expenses were never reimbursed",
        "expense report lost",
        "reimbursement of travel expenses is slow",
        "expense claim unpaid",
        "who approves my expenses",
    ],
    "payslip": [
        "payslip shows the wrong salary",
        "my payslip is missing",
        "error on the payslip this month",
        "payslip tax code is wrong",
        "cannot download my payslip",
        "payslip deductions look wrong",
    ],
}


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    rows = [
        {"id": f"t-{n}", "text": text, "label": label, "split": "test" if i % 3 == 0 else "train"}
        for n, (label, texts) in enumerate(TOPICS.items())
        for i, text in enumerate(texts)
    ]
    rows = [r | {"id": f"t-{i}"} for i, r in enumerate(rows)]
    path = tmp_path / "tiny.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def cache(tmp_path: Path) -> EmbeddingCache:
    return EmbeddingCache(cache_dir=tmp_path / "cache")


def test_cluster_task(tiny: Path, cache: EmbeddingCache, tmp_path: Path) -> None:
    result = run_dataset(tiny, "text", "label", "cluster", seeds=2, bertopic=False, cache=cache)
    gold, chosen = result.sections
    assert gold.methods == [OURS, "tfidf-kmeans", "minilm-kmeans"]
    assert "tfidf-kmeans" not in chosen.methods  # it cannot choose k
    assert gold.row("acc").values[OURS] == pytest.approx(1.0)
    assert gold.row("n_clusters").values[OURS] == 3
    table = format_section(gold)
    assert table.splitlines()[1].split()[:4] == ["metric", "ours", "threshold", "pass"]
    assert len(result.items[gold.title]) == 18
    assert list(cache.cache_dir.glob("minilm-*.npz"))  # type: ignore[union-attr]


def test_assign_task_uses_the_test_split(tiny: Path, cache: EmbeddingCache) -> None:
    result = run_dataset(tiny, "text", "label", "assign", seeds=1, cache=cache)
    (section,) = result.sections
    assert section.methods[0] == OURS
    assert len(result.items[section.title]) == 6
    assert section.row("accuracy").values[OURS] >= 0.8


def test_result_json_and_exit_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    failing = Section("s", "d", "cluster", "k=gold", [OURS], [MetricRow("acc", {OURS: 0.5}, {}, 0.6)])
    passing = Section("t", "d", "cluster", "k=gold", [OURS], [MetricRow("abstention_rate", {OURS: 0.1}, {}, 0.2)])
    assert _finish(Result("ok", [passing]), tmp_path) == 0
    assert _finish(Result("bad", [failing, passing]), tmp_path) == 1
    assert "FAILED: s: acc" in capsys.readouterr().out
    written = json.loads(next(tmp_path.glob("bad-*.json")).read_text())
    assert written["failed"] == ["s: acc"]
    assert {"triage", "scikit-learn", "model", "taxonomy", "git_commit"} <= set(written["versions"])
    assert written["sections"][0]["rows"][0]["passed"] is False


def test_load_file_reads_csv_with_multi_labels(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_text('text,themes\n"slow, and rude",slow_response|discourtesy\nfine,praise\n', encoding="utf-8")
    data = load_file(path, label_field="themes")
    assert data.labels == ["slow_response", "praise"]
    assert data.all_labels[0] == ["slow_response", "discourtesy"]
    assert len(data.sha256) == 64


def test_load_file_names_rows_without_labels(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text('{"text": "a", "label": "x"}\n{"text": "b"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match="row 2"):
        load_file(path)
