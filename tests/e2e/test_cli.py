"""The `triage` command line as a user runs it: ingest, analyze, report, demo, each in its own process."""

from __future__ import annotations

import csv
import io
import json
import re
import stat
import subprocess
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_SURVEY
from tests.e2e.conftest import SLOW_TIMEOUT_S, describe, run_triage, triage_env
from triage.config import Settings
from triage.store.sql import SqlStore

pytestmark = pytest.mark.e2e

PROVIDERS = {"IT", "HR", "Finance", "Procurement", "Legal", "Payroll"}
INGESTED = re.compile(r"dataset (\S+) \((\w+)\): (\d+) accepted, (\d+) duplicates, (\d+) rejected")
RUN_LINE = re.compile(r"^run (\w+): ")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The working directory of every CLI call in this module; its data dir is `workdir / "data"`."""
    return tmp_path_factory.mktemp("cli")


@pytest.fixture(scope="module")
def env(workdir: Path) -> dict[str, str]:
    return triage_env(workdir / "data")


@pytest.fixture(scope="module")
def ingested(env: dict[str, str], workdir: Path) -> tuple[subprocess.CompletedProcess[str], ...]:
    """`triage ingest examples/survey.csv --dataset ex`, twice."""
    args = ("ingest", str(EXAMPLE_SURVEY), "--dataset", "ex")
    return run_triage(env, *args, cwd=workdir), run_triage(env, *args, cwd=workdir)


@pytest.fixture(scope="module")
def analysed(
    env: dict[str, str], workdir: Path, ingested: tuple[subprocess.CompletedProcess[str], ...]
) -> tuple[subprocess.CompletedProcess[str], str]:
    """`triage analyze ex` and the run id it printed on its last line."""
    assert ingested[0].returncode == 0, describe(ingested[0])
    proc = run_triage(env, "analyze", "ex", cwd=workdir, timeout=SLOW_TIMEOUT_S)
    assert proc.returncode == 0, describe(proc)
    found = RUN_LINE.match(proc.stdout.strip().splitlines()[-1])
    assert found, describe(proc)
    return proc, found.group(1)


def ingest_summary(proc: subprocess.CompletedProcess[str]) -> tuple[str, int, int, int]:
    """(dataset id, accepted, duplicates, rejected) from the summary line of `triage ingest`."""
    found = INGESTED.search(proc.stdout)
    assert found, describe(proc)
    return found.group(2), int(found.group(3)), int(found.group(4)), int(found.group(5))


def test_ingest_accepts_the_survey_then_reports_duplicates(
    ingested: tuple[subprocess.CompletedProcess[str], ...],
) -> None:
    first, again = ingested
    assert first.returncode == 0, describe(first)
    dataset_id, *numbers = ingest_summary(first)
    assert numbers == [360, 0, 0]
    assert again.returncode == 0, describe(again)
    assert ingest_summary(again) == (dataset_id, 0, 360, 0)


def test_ingest_reports_bad_rows_by_number(env: dict[str, str], workdir: Path) -> None:
    bad = workdir / "bad.csv"
    # Row 1 is the header: row 3 has no text, row 4 a rating out of 1..5.
    bad.write_text(
        "text,provider,rating\nThe VPN drops every hour,IT,2\n,IT,3\nGreat onboarding,HR,9\n", encoding="utf-8"
    )
    proc = run_triage(env, "ingest", str(bad), cwd=workdir)
    assert proc.returncode == 0, describe(proc)
    assert ingest_summary(proc)[1:] == (1, 0, 2)
    rejected = dict(re.findall(r"^\s+row (\d+): (\w+)", proc.stdout, flags=re.MULTILINE))
    assert rejected == {"3": "text", "4": "rating"}, describe(proc)


def test_ingest_of_a_missing_file_fails(env: dict[str, str], workdir: Path) -> None:
    proc = run_triage(env, "ingest", "missing.csv", cwd=workdir)
    assert proc.returncode != 0, describe(proc)
    assert "missing.csv" in proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr


def test_analyze_prints_a_table_and_the_run_id(analysed: tuple[subprocess.CompletedProcess[str], str]) -> None:
    proc, run_id = analysed
    assert re.fullmatch(r"[0-9a-f]{16}", run_id), run_id
    rows = {line.split("│")[1].strip() for line in proc.stdout.splitlines() if line.count("│") > 2}
    assert rows == PROVIDERS, describe(proc)


def test_report_as_json(
    env: dict[str, str], workdir: Path, analysed: tuple[subprocess.CompletedProcess[str], str]
) -> None:
    _, run_id = analysed
    proc = run_triage(env, "report", run_id, "--format", "json", cwd=workdir)
    assert proc.returncode == 0, describe(proc)
    report = json.loads(proc.stdout)  # nothing but the report on stdout
    assert (report["run_id"], report["dataset_name"], report["comments"]) == (run_id, "ex", 360)
    assert {p["provider"] for p in report["providers"]} == PROVIDERS
    assert all(t["respondents"] >= report["min_respondents"] for p in report["providers"] for t in p["themes"])


@pytest.mark.parametrize(
    ("fmt", "first_line"),
    [
        ("md", "# Feedback themes: ex"),
        (
            "csv",
            "provider,theme_id,theme,count,respondents,share,mean_rating,negative_share,mean_sentiment,trend,count_2026-Q1,count_2026-Q2,negative_share_2026-Q1,mean_sentiment_2026-Q1,negative_share_2026-Q2,mean_sentiment_2026-Q2,summarizer,summary,actions",
        ),
    ],
    ids=["md", "csv"],
)
def test_report_as_text(
    env: dict[str, str],
    workdir: Path,
    analysed: tuple[subprocess.CompletedProcess[str], str],
    fmt: str,
    first_line: str,
) -> None:
    _, run_id = analysed
    proc = run_triage(env, "report", run_id, "--format", fmt, cwd=workdir)
    assert proc.returncode == 0, describe(proc)
    assert proc.stdout.splitlines()[0] == first_line
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(proc.stdout)))
        assert rows and {row["provider"] for row in rows} <= PROVIDERS


def test_report_rejects_an_unknown_format(
    env: dict[str, str], workdir: Path, analysed: tuple[subprocess.CompletedProcess[str], str]
) -> None:
    proc = run_triage(env, "report", analysed[1], "--format", "pdf", cwd=workdir)
    assert proc.returncode != 0, describe(proc)
    assert "--format" in proc.stderr and proc.stdout == ""


def test_report_of_an_unknown_run_is_a_clean_error(env: dict[str, str], workdir: Path) -> None:
    proc = run_triage(env, "report", "nosuchrun", cwd=workdir)
    assert proc.returncode == 1, describe(proc)
    assert "error" in proc.stderr and "nosuchrun" in proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr


def test_demo_without_serving(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    proc = run_triage(triage_env(data_dir), "demo", "--no-serve", cwd=tmp_path, timeout=SLOW_TIMEOUT_S)
    assert proc.returncode == 0, describe(proc)

    report_line = re.search(r"report \(Markdown\)\s+(\S+\.md)\s", proc.stdout)
    assert report_line, describe(proc)
    report = Path(report_line.group(1))
    assert report.is_relative_to(data_dir.resolve()) and report.is_file()
    assert report.read_text(encoding="utf-8").startswith("# Feedback themes")
    assert report.with_suffix(".json").is_file() and report.with_suffix(".csv").is_file()

    assert re.search(r"API docs\s+http://127\.0\.0\.1:8000/schema\s", proc.stdout), describe(proc)
    assert re.search(r"report page\s+http://127\.0\.0\.1:8000/login\?next=/reports/[0-9a-f]+\s", proc.stdout), describe(
        proc
    )

    key_line = re.search(r"local admin key\s+(trg_\S+)\s+\(saved in (\S+)\)", proc.stdout)
    assert key_line, describe(proc)
    key, key_file = key_line.group(1), Path(key_line.group(2))
    assert key_file.read_text(encoding="utf-8").strip() == key
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    # The printed key is a working admin key of this data dir.
    store = SqlStore(Settings(data_dir=data_dir).db_url)
    try:
        caller = store.verify_key(key)
    finally:
        store.close()
    assert caller is not None and caller.role == "admin"
