"""`python -m evals example-survey`: themes found vs the gold labels of the bundled example survey.

Prints a table (metric, value, threshold, pass), writes a JSON result with versions and per-item rows
under evals/results/, and exits non-zero when a threshold fails.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import sys
import tempfile
from collections import Counter
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import sklearn
from sklearn.metrics import f1_score

import triage
from triage import pipeline
from triage.config import PROJECT_ROOT, Settings

DATASET = PROJECT_ROOT / "evals" / "datasets" / "example_survey"
RESULTS = PROJECT_ROOT / "evals" / "results"
# (metric, threshold, higher is better)
THRESHOLDS = {"primary_accuracy": (0.65, True), "unassigned_rate": (0.15, False), "macro_f1": (0.6, True)}


def example_survey() -> int:
    gold = [json.loads(line) for line in (DATASET / "labels.jsonl").read_text().splitlines()]
    with tempfile.TemporaryDirectory() as tmp:
        services = pipeline.open_services(Settings(data_dir=Path(tmp)))
        ingested = pipeline.ingest_bytes(
            services, (PROJECT_ROOT / "examples" / "survey.csv").read_bytes(), "survey.csv"
        )
        run_id = pipeline.start_run(services, ingested.id)
        asyncio.run(pipeline.analyze(services, run_id))
        comments = services.sql.comments(ingested.id)
        predicted = [services.sql.comment_labels(c.id) or ["unassigned"] for c in comments]
        taxonomy_version = services.taxonomy.version
        services.close()
    rows = [
        {"id": g["id"], "gold": g["themes"], "predicted": p, "correct": p[0] == g["themes"][0]}
        for g, p in zip(gold, predicted, strict=True)
    ]
    n = len(rows)
    assigned = [r for r in rows if r["predicted"][0] != "unassigned"]
    metrics = {
        "primary_accuracy": sum(r["correct"] for r in rows) / n,
        "accuracy_of_assigned": sum(r["correct"] for r in assigned) / max(len(assigned), 1),
        "primary_in_any_gold": sum(r["predicted"][0] in r["gold"] for r in rows) / n,
        "unassigned_rate": 1 - len(assigned) / n,
        "macro_f1": float(
            f1_score([r["gold"][0] for r in rows], [r["predicted"][0] for r in rows], average="macro", zero_division=0)
        ),
    }
    print(f"example survey: {n} comments, run {run_id}")
    print(f"{'metric':<22}{'value':>8}{'threshold':>11}  pass")
    failed = False
    for name, value in metrics.items():
        threshold, higher = THRESHOLDS.get(name, (None, True))
        ok = threshold is None or (value >= threshold if higher else value <= threshold)
        failed |= not ok
        shown = f"{'>=' if higher else '<='}{threshold}" if threshold is not None else "-"
        print(f"{name:<22}{value:>8.3f}{shown:>11}  {'yes' if ok else 'NO'}")
    per_theme = Counter(r["gold"][0] for r in rows)
    hits = Counter(r["gold"][0] for r in rows if r["correct"])
    print("\nper gold theme (correct / total):")
    for theme, total in sorted(per_theme.items()):
        print(f"  {theme:<24}{hits[theme]:>4} / {total}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS / f"example_survey-{stamp}.json"
    versions = {"triage": triage.__version__, "scikit-learn": sklearn.__version__, "taxonomy": taxonomy_version}
    out.write_text(json.dumps({"metrics": metrics, "versions": versions, "rows": rows}, indent=1))
    print(f"\nwrote {out.relative_to(PROJECT_ROOT)}")
    return 1 if failed else 0


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m evals")
    parser.add_argument("suite", choices=["example-survey"])
    parser.parse_args()
    return example_survey()


if __name__ == "__main__":
    sys.exit(main())
