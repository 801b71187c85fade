"""`python -m evals run quick` end to end: the CI form of the evals passes its thresholds in bounded time."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from triage.config import PROJECT_ROOT


def test_quick_suite_passes(tmp_path: Path) -> None:
    # Cached embeddings make this take seconds; a cold cache encodes ~2,400 texts (under a minute on 2 cores).
    done = subprocess.run(
        [sys.executable, "-m", "evals", "--out", str(tmp_path), "run", "quick"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    (result,) = tmp_path.glob("quick-*.json")
    data = json.loads(result.read_text())
    assert data["failed"] == []
    titles = [s["title"] for s in data["sections"]]
    assert any(t.startswith("banking77-test-subset: cluster, k = gold") for t in titles)
    assert any("assign" in t and t.startswith("clinc150-test-subset") for t in titles)
