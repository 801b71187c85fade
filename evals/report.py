"""Results: a table per section (metric, ours, threshold, pass, baselines), and a JSON file with versions and items."""

from __future__ import annotations

import datetime as dt
import importlib.metadata
import json
import subprocess
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from evals.methods import OURS
from evals.scorers import higher_is_better
from triage.config import PROJECT_ROOT

RESULTS = PROJECT_ROOT / "evals" / "results"


@dataclass
class MetricRow:
    metric: str
    values: dict[str, float | None]
    """Method -> value (mean over seeds); None where the method does not apply."""
    stds: dict[str, float] = field(default_factory=dict)
    threshold: float | None = None

    @property
    def higher_is_better(self) -> bool:
        return higher_is_better(self.metric)

    @property
    def passed(self) -> bool | None:
        value = self.values.get(OURS)
        if self.threshold is None or value is None:
            return None
        return value >= self.threshold if self.higher_is_better else value <= self.threshold


@dataclass
class Section:
    """One table: a dataset, a task and a setting (e.g. `banking77-test, cluster, k = gold (77)`)."""

    title: str
    dataset: str
    task: str
    setting: str
    methods: list[str]
    rows: list[MetricRow]
    notes: list[str] = field(default_factory=list)

    def row(self, metric: str) -> MetricRow:
        return next(r for r in self.rows if r.metric == metric)


@dataclass
class Result:
    suite: str
    sections: list[Section] = field(default_factory=list)
    datasets: dict[str, dict[str, Any]] = field(default_factory=dict)
    items: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Per section title: one row per item (id, gold, each method's prediction)."""
    extra_exit_codes: dict[str, int] = field(default_factory=dict)
    """Suites run through their own code (e.g. summaries): their exit codes."""
    seconds: float = 0.0

    @property
    def failed(self) -> list[str]:
        failures = [f"{s.title}: {r.metric}" for s in self.sections for r in s.rows if r.passed is False]
        return failures + [f"suite {name}: exit {code}" for name, code in self.extra_exit_codes.items() if code]


def _fmt(value: float | None, std: float | None = None) -> str:
    if value is None:
        return "-"
    text = f"{value * 100:.1f}" if abs(value) <= 1.0 else f"{value:.0f}"
    if std is not None and abs(value) <= 1.0:
        text += f"±{std * 100:.1f}"
    return text


def format_section(section: Section) -> str:
    """The section as a fixed-width table; scores x100, mean±std over seeds where there are seeds."""
    baselines = [m for m in section.methods if m != OURS]
    head = ["metric", OURS, "threshold", "pass", *baselines]
    lines = [head]
    for row in section.rows:
        threshold = "-" if row.threshold is None else f"{'>=' if row.higher_is_better else '<='}{_fmt(row.threshold)}"
        passed = {None: "", True: "yes", False: "NO"}[row.passed]
        lines.append(
            [
                row.metric,
                _fmt(row.values.get(OURS), row.stds.get(OURS)),
                threshold,
                passed,
                *[_fmt(row.values.get(m), row.stds.get(m)) for m in baselines],
            ]
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    text = [f"== {section.title}"]
    text += [
        "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(line, widths, strict=True)))
        for line in lines
    ]
    text += [f"   {note}" for note in section.notes]
    return "\n".join(text)


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def versions(model_alias: str = "minilm") -> dict[str, Any]:
    from triage import __version__
    from triage.embed.manifest import load_model_entry
    from triage.themes.taxonomy import load_taxonomy

    entry = load_model_entry(PROJECT_ROOT / "models", model_alias)
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = bool(
            subprocess.run(
                ["git", "status", "--porcelain", "--", "triage", "evals"],
                cwd=PROJECT_ROOT,
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
        )
    except (OSError, subprocess.CalledProcessError):
        commit, dirty = None, None
    return {
        "triage": __version__,
        "git_commit": commit,
        "git_dirty": dirty,
        "scikit-learn": _version("scikit-learn"),
        "numpy": _version("numpy"),
        "sentence-transformers": _version("sentence-transformers"),
        "bertopic": _version("bertopic"),
        "umap-learn": _version("umap-learn"),
        "hdbscan": _version("hdbscan"),
        "model": {"alias": entry.alias, "name": entry.name, "package": entry.package, "version": entry.version},
        "taxonomy": load_taxonomy(PROJECT_ROOT / "models" / "taxonomy.toml").version,
    }


def write_result(result: Result, directory: Path = RESULTS) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    path = directory / f"{result.suite}-{stamp}.json"
    sections = []
    for s in result.sections:
        data = asdict(s)
        for row, raw in zip(s.rows, data["rows"], strict=True):
            raw["higher_is_better"] = row.higher_is_better
            raw["passed"] = row.passed
        sections.append(data)
    payload = {
        "suite": result.suite,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "seconds": round(result.seconds, 1),
        "versions": versions(),
        "datasets": result.datasets,
        "failed": result.failed,
        "extra_exit_codes": result.extra_exit_codes,
        "sections": sections,
        "items": result.items,
    }
    path.write_text(json.dumps(payload, indent=1, ensure_ascii=False), encoding="utf-8")
    return path
