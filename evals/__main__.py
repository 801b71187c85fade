"""`python -m evals run SUITE` | `python -m evals dataset PATH --text-field F --label-field F [--task cluster|assign]`.

Prints one table per dataset, task and setting (metric, ours, threshold, pass, then each baseline), writes
a JSON result with versions, data hashes and per-item rows under evals/results/, and exits 1 when a
threshold fails. `python -m evals ablate` prints the clustering ablation on the tuning splits.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# k-means and BLAS threads spin-wait: on a shared 2-core machine they made runs 10x slower (set to override).
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

from evals.report import RESULTS, Result, format_section, write_result
from evals.runner import run_dataset, run_suite, suite_names
from triage.config import PROJECT_ROOT


def _finish(result: Result, out_dir: Path) -> int:
    for section in result.sections:
        print(format_section(section), end="\n\n")
    path = write_result(result, out_dir)
    shown = path.relative_to(PROJECT_ROOT) if path.is_relative_to(PROJECT_ROOT) else path
    print(f"{result.suite}: {result.seconds:.0f}s, wrote {shown}")
    if result.failed:
        print("FAILED: " + "; ".join(result.failed))
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m evals", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=RESULTS, help="directory of the JSON results")
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a suite")
    run.add_argument("suite", choices=suite_names())
    run.add_argument("--seeds", type=int, default=5)
    run.add_argument("--methods", help="comma-separated: only these methods (e.g. ours,bertopic)")
    run.add_argument("--tasks", help="comma-separated: cluster, assign")
    run.add_argument("--k", dest="settings", help="comma-separated clustering settings: gold, chosen")
    data = sub.add_parser("dataset", help="evaluate on any labelled JSONL/CSV file")
    data.add_argument("path", type=Path)
    data.add_argument("--text-field", default="text")
    data.add_argument("--label-field", default="label", help="one label, or a list (the first is the primary)")
    data.add_argument("--task", choices=["cluster", "assign"], default="cluster")
    data.add_argument("--seeds", type=int, default=5)
    data.add_argument("--no-bertopic", action="store_true", help="skip the BERTopic baseline even if installed")
    ablate = sub.add_parser("ablate", help="clustering ideas one at a time, on the tuning splits")
    ablate.add_argument("--subsets", type=int, default=2)
    # `python -m evals example-survey` predates the runner; it stays an alias of `run example-survey`.
    sub.add_parser("example-survey", help="alias of `run example-survey`")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    if args.command == "run":
        methods = set(args.methods.split(",")) if args.methods else None
        tasks = set(args.tasks.split(",")) if args.tasks else None
        settings = set(args.settings.split(",")) if args.settings else None
        return _finish(run_suite(args.suite, args.seeds, methods, tasks, settings), args.out)
    if args.command == "example-survey":
        return _finish(run_suite("example-survey"), args.out)
    if args.command == "dataset":
        return _finish(
            run_dataset(
                args.path,
                args.text_field,
                args.label_field,
                args.task,
                args.seeds,
                bertopic=False if args.no_bertopic else None,
            ),
            args.out,
        )
    from evals.ablate import ablate as run_ablation

    run_ablation(n_subsets=args.subsets)
    return 0


if __name__ == "__main__":
    sys.exit(main())
