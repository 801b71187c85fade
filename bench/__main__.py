"""`python -m bench run [--sizes 1k,10k,100k] [--quick] [--model minilm] [--skip load,topics,scale,encoders]`.

Prints rich tables, writes a JSON result under bench/results/ (with the machine's load and versions),
and ends with README-ready markdown. Each measurement runs in its own process: peak memory is its own.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

RESULTS = Path(__file__).resolve().parent / "results"
CACHE = RESULTS / "cache"


def _size(text: str) -> int:
    text = text.strip().lower()
    factor = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("km")) * factor)


def child(kind: str, args: dict[str, Any], timeout: float = 7200) -> dict[str, Any]:
    """Run one measurement in a fresh interpreter; its last stdout line is the JSON result."""
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "_child", kind, json.dumps(args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.splitlines()[-15:])
        return {"error": f"{kind} exited {proc.returncode}: {tail}"}
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def _run_child(kind: str, args: dict[str, Any]) -> dict[str, Any]:
    if kind == "pipeline":
        from bench import pipeline

        return pipeline.run(args["size"], args["model"], args["seed"], CACHE, args.get("profile", False))
    if kind == "topics":
        from bench import topics

        return topics.method(args["method"], Path(args["path"]))
    if kind == "scale":
        from bench import topics

        return topics.scale(Path(args["path"]), args["n"], args["quality_n"])
    if kind == "load":
        from bench import load

        return load.run(args["model"], args["levels"], args["seconds"], args["compare"])
    if kind == "encoders":
        from bench import encoders

        return encoders.run(args["quick"])
    raise SystemExit(f"unknown measurement {kind}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the benchmarks, print tables, write JSON")
    run.add_argument("--sizes", default="1k,10k,100k", help="corpus sizes for ingest + analyse (default 1k,10k,100k)")
    run.add_argument("--quick", action="store_true", help="1k and 10k, short load windows, scale at 200k")
    run.add_argument("--model", default="minilm", help="embedding model alias (models/manifest.toml)")
    run.add_argument("--skip", default="", help="comma list of parts to skip: pipeline,topics,scale,load,encoders")
    run.add_argument("--topics-max", default="10k", help="largest size BERTopic and the subject clustering run at")
    run.add_argument("--scale", default="1m", help="vectors for the mini-batch clustering test")
    run.add_argument("--load-seconds", type=float, default=10.0, help="measured window per concurrency level")
    run.add_argument("--profile", action="store_true", help="cProfile the analysis (top functions into the JSON)")
    run.add_argument("--compare-unbatched", action="store_true", help="also load-test with micro-batching off")
    one = sub.add_parser("_child")
    one.add_argument("kind")
    one.add_argument("args")
    ns = parser.parse_args(argv)
    if ns.command == "_child":
        import logging

        logging.basicConfig(level=logging.WARNING)
        print(json.dumps(_run_child(ns.kind, json.loads(ns.args))))
        return 0
    from bench.report import run_all

    return run_all(ns)


if __name__ == "__main__":
    raise SystemExit(main())
