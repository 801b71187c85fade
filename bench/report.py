"""Runs the parts of `python -m bench run`, prints rich tables, writes JSON, prints README-ready markdown."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import subprocess
import time
from importlib import metadata
from typing import Any

from rich.console import Console
from rich.table import Table

from bench.__main__ import CACHE, RESULTS, _size, child

console = Console()


def _machine() -> dict[str, Any]:
    load = os.getloadavg()
    versions = {}
    for name in ("triage", "torch", "sentence-transformers", "onnxruntime", "scikit-learn", "bertopic", "model2vec"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "uptime": subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip(),
        "load_1_5_15": [round(x, 2) for x in load],
        "threads_env": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")},
        "versions": versions,
    }


def _table(title: str, columns: list[str], rows: list[list[Any]]) -> Table:
    table = Table(title=title, title_justify="left")
    for c in columns:
        table.add_column(c, justify="right" if c != columns[0] else "left")
    for r in rows:
        table.add_row(*["" if v is None else str(v) for v in r])
    return table


def _markdown(columns: list[str], rows: list[list[Any]]) -> str:
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join(" --- " for _ in columns) + "|"]
    lines += ["| " + " | ".join("" if v is None else str(v) for v in r) + " |" for r in rows]
    return "\n".join(lines)


def _exponent(small: float, large: float, n_small: int, n_large: int) -> float | None:
    if small <= 0 or large <= 0:
        return None
    return round(math.log(large / small) / math.log(n_large / n_small), 2)


def run_all(ns: argparse.Namespace) -> int:
    skip = {s.strip() for s in ns.skip.split(",") if s.strip()}
    sizes = [1_000, 10_000] if ns.quick else [_size(s) for s in ns.sizes.split(",")]
    seconds = 5.0 if ns.quick else ns.load_seconds
    scale_n = 200_000 if ns.quick else _size(ns.scale)
    result: dict[str, Any] = {"machine": _machine(), "args": vars(ns)}
    sections: list[tuple[str, list[str], list[list[Any]]]] = []
    started = time.perf_counter()
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    out = RESULTS / f"bench-{stamp}.json"

    def save() -> None:
        """After each part: a long run stopped half-way keeps what it measured."""
        out.write_text(json.dumps(result, indent=2), encoding="utf-8")

    console.print(f"[bold]bench[/] {result['machine']['uptime']}")

    if "pipeline" not in skip:
        runs = []
        for size in sizes:
            console.print(f"ingest + analyse {size:,} comments ...")
            runs.append(child("pipeline", {"size": size, "model": ns.model, "seed": 0, "profile": ns.profile}))
            result["pipeline"] = runs
            save()
        result["pipeline"] = runs
        ok = [r for r in runs if "error" not in r]
        for r in runs:
            if "error" in r:
                console.print(f"[red]{r['error']}[/]")
        cols = [
            "comments",
            "ingest s",
            "analyse s",
            "embed share",
            "raw encode s",
            "analyse / raw",
            "e2e /s",
            "peak MB",
        ]
        rows = [
            [
                f"{r['size']:,}",
                r["ingest_s"],
                r["analyse_s"],
                f"{r['embed_share']:.0%}",
                r["raw_encode_s"],
                f"{r['analyse_over_raw_encode']:.2f}x",
                r["end_to_end_per_s"],
                r["peak_rss_mb"],
            ]
            for r in ok
        ]
        sections.append((f"Ingest + analyse, no LLM ({ns.model})", cols, rows))
        by_size = {r["size"]: r for r in ok}
        if 10_000 in by_size and 100_000 in by_size:
            a, b = by_size[10_000], by_size[100_000]
            result["growth_10k_100k"] = {
                "time_exponent": _exponent(
                    a["ingest_s"] + a["analyse_s"], b["ingest_s"] + b["analyse_s"], 10_000, 100_000
                ),
                "memory_exponent": _exponent(
                    a["peak_rss_mb"] - a["rss_ready_mb"], b["peak_rss_mb"] - b["rss_ready_mb"], 10_000, 100_000
                ),
            }
            g = result["growth_10k_100k"]
            sections.append(
                (
                    "Growth 10k -> 100k (t ~ n^e)",
                    ["what", "exponent"],
                    [["time", g["time_exponent"]], ["memory above the loaded model", g["memory_exponent"]]],
                )
            )
        names = ["embedding", "themes", "summaries", "done", "before first stage"]
        stage_rows = [[f"{r['size']:,}", *(r["stages_s"].get(n, "") for n in names)] for r in ok]
        if stage_rows:
            sections.append(("Analysis stages (s)", ["comments", *names], stage_rows))

    if "topics" not in skip:
        limit = _size(ns.topics_max)
        topic_rows = []
        result["topics"] = []
        for size in [s for s in sizes if s <= limit]:
            path = CACHE / f"corpus-{size}-0-{ns.model}.npz"
            if not path.exists():
                continue
            for name in ("subjects", "triage-k", "bertopic"):
                console.print(f"clustering {size:,}: {name} ...")
                r = child("topics", {"method": name, "path": str(path)})
                r["size"] = size
                result["topics"].append(r)
                save()
                if "error" in r:
                    console.print(f"[red]{r['error']}[/]")
                    continue
                topic_rows.append([f"{size:,}", name, r["seconds"], r["clusters"], r["nmi"], r["peak_rss_mb"]])
        sections.append(
            (
                "Clustering on the same vectors (NMI vs source labels)",
                ["comments", "method", "s", "clusters", "NMI", "peak MB"],
                topic_rows,
            )
        )

    if "scale" not in skip:
        largest = max([s for s in sizes if (CACHE / f"corpus-{s}-0-{ns.model}.npz").exists()], default=None)
        if largest:
            console.print(f"mini-batch clustering of {scale_n:,} synthetic vectors ...")
            r = child(
                "scale", {"path": str(CACHE / f"corpus-{largest}-0-{ns.model}.npz"), "n": scale_n, "quality_n": 100_000}
            )
            result["scale"] = r
            save()
            if "error" in r:
                console.print(f"[red]{r['error']}[/]")
            else:
                q, big = r["quality"], r["large"]
                sections.append(
                    (
                        f"Clustering at scale (k = {r['k']}, vectors from {r['source_vectors']:,} real + noise)",
                        ["vectors", "method", "s", "NMI", "peak MB"],
                        [
                            [f"{q['n']:,}", "k-means (full)", q["full_kmeans_s"], q["full_nmi"], ""],
                            [f"{q['n']:,}", "mini-batch k-means", q["minibatch_s"], q["minibatch_nmi"], ""],
                            [f"{big['n']:,}", "mini-batch k-means", big["minibatch_s"], big["nmi"], big["peak_rss_mb"]],
                            [
                                f"{big['n']:,}",
                                f"product subjects (k = {big['product_subjects_k']})",
                                big["product_subjects_s"],
                                big["product_subjects_nmi"],
                                big["peak_rss_mb"],
                            ],
                        ],
                    )
                )

    if "load" not in skip:
        console.print("POST /v1/triage under load ...")
        r = child(
            "load", {"model": ns.model, "levels": [1, 8, 32, 128], "seconds": seconds, "compare": ns.compare_unbatched}
        )
        result["load"] = r
        save()
        if "error" in r:
            console.print(f"[red]{r['error']}[/]")
        else:
            f = r["floor"]
            rows = []
            for label in ("batched", "unbatched"):
                for lv in r.get(label, []):
                    rows.append(
                        [
                            lv["clients"],
                            "on" if label == "batched" else "off",
                            lv["rps"],
                            lv["p50_ms"],
                            lv["p95_ms"],
                            lv["p99_ms"],
                            lv["errors"],
                            f"{lv['p50_ms'] / f['encode_one_ms']:.2f}x",
                            f"{lv['rps'] / f['batch_encode_per_s']:.2f}x",
                        ]
                    )
            sections.append(
                (
                    f"POST /v1/triage ({ns.model}; raw encode: one sentence {f['encode_one_ms']} ms, "
                    f"batches {f['batch_encode_per_s']}/s)",
                    [
                        "clients",
                        "micro-batch",
                        "req/s",
                        "p50 ms",
                        "p95 ms",
                        "p99 ms",
                        "errors",
                        "p50 / encode",
                        "req/s / batch encode",
                    ],
                    rows,
                )
            )
            sections.append(
                (
                    "Triage path, one comment, step by step (in-process medians)",
                    ["step", "ms"],
                    [[k, v] for k, v in f["steps_ms"].items()],
                )
            )

    if "encoders" not in skip:
        console.print("encoders ...")
        r = child("encoders", {"quick": ns.quick})
        result["encoders"] = r
        save()
        if "error" in r:
            console.print(f"[red]{r['error']}[/]")
        else:
            rows = [
                [
                    e["encoder"],
                    e["one_p50_ms"],
                    e["batch_per_s"],
                    e["survey_accuracy"],
                    e["feedback_test_in_gold"],
                    e.get("feedback_test_same_primary_as_minilm", ""),
                    e.get("urgent_recall") if e.get("urgent_recall") is not None else "n/a",
                    e.get("cosine_to_minilm", ""),
                ]
                for e in r["encoders"]
                if "error" not in e
            ]
            for e in r["encoders"]:
                if "error" in e:
                    console.print(f"[red]{e['encoder']}: {e['error']}[/]")
            sections.append(
                (
                    "Encoders for the triage path",
                    [
                        "encoder",
                        "one p50 ms",
                        "batch /s",
                        "survey acc",
                        "feedback in-gold",
                        "same primary as minilm",
                        "urgent recall",
                        "cos to minilm",
                    ],
                    rows,
                )
            )

    result["seconds"] = round(time.perf_counter() - started, 1)
    save()
    for title, cols, rows in sections:
        console.print(_table(title, cols, rows))
    console.print(f"wrote {out.relative_to(RESULTS.parent.parent)} in {result['seconds']:.0f}s\n")
    print(
        f"Measured {result['machine']['when']} on {result['machine']['cpus']} CPUs; "
        f"`uptime`: {result['machine']['uptime']}\n"
    )
    for title, cols, rows in sections:
        print(f"**{title}**\n\n{_markdown(cols, rows)}\n")
    return 0
