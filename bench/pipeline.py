"""Ingest + analyse end to end (no LLM) at one corpus size, in its own process (for a clean peak memory).

Measured: ingest time, analysis time and its stages (from the run's progress callback), the raw encode
speed of the same model on the same stored texts (the floor), peak RSS. The corpus' vectors, texts and
labels are saved for the topic and scale benchmarks, so those need not encode again.
"""

from __future__ import annotations

import asyncio
import cProfile
import io
import itertools
import pstats
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench import corpus
from triage import pipeline
from triage.config import Settings
from triage.embed.cache import embed_cached
from triage.ingest.redact import redact

ENCODE_SAMPLE = 10_000
"""The floor is measured on all stored texts up to this many, else on a seeded sample of this many."""


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run(size: int, model: str, seed: int, cache_dir: Path, profile: bool = False) -> dict[str, Any]:
    rows = corpus.build(size, seed)
    with tempfile.TemporaryDirectory(prefix="triage-bench-") as tmp:
        settings = Settings(data_dir=Path(tmp) / "data", embed_model=model, embed_micro_batch=0)
        services = pipeline.open_services(settings)
        # What a server does at start-up: the model and the taxonomy classifier are ready before work.
        pipeline.warm_up(services)
        rss_ready = rss_mb()

        started = time.perf_counter()
        report = pipeline.ingest_rows(services, list(enumerate((r.raw() for r in rows), start=1)), f"bench-{size}")
        ingest_s = time.perf_counter() - started

        stages: dict[str, float] = {}
        marks: list[tuple[str, float]] = []

        def on_progress(_value: float, stage: str) -> None:
            if not marks or marks[-1][0] != stage:
                marks.append((stage, time.perf_counter()))

        run_id = pipeline.start_run(services, report.id)
        profiler = cProfile.Profile() if profile else None
        started = time.perf_counter()
        if profiler:
            profiler.enable()
        asyncio.run(pipeline.analyze(services, run_id, on_progress=on_progress))
        if profiler:
            profiler.disable()
        analyse_s = time.perf_counter() - started
        marks.append(("end", time.perf_counter()))
        for (stage, at), (_, until) in itertools.pairwise(marks):
            stages[stage] = stages.get(stage, 0.0) + until - at
        stages["before first stage"] = marks[0][1] - started if marks else 0.0
        peak_analyse = peak_rss_mb()

        comments = services.sql.comments(report.id)
        texts = [c.text for c in comments]
        unique = list(dict.fromkeys(texts))
        sample = unique
        if len(unique) > ENCODE_SAMPLE:
            rng = np.random.default_rng(seed)
            sample = [unique[i] for i in rng.choice(len(unique), ENCODE_SAMPLE, replace=False)]
        embedder = services.embedder
        started = time.perf_counter()
        for start in range(0, len(sample), 256):  # the chunks the pipeline encodes in
            embedder.encode(sample[start : start + 256])
        encode_rate = len(sample) / (time.perf_counter() - started)
        raw_encode_s = len(unique) / encode_rate

        labels_by_text = {redact(r.text.strip()): r.label for r in rows}
        labels = [labels_by_text.get(t, "") for t in texts]
        vectors = embed_cached(embedder, services.vectors, texts)  # all cached by the run: a store read
        cache_dir.mkdir(parents=True, exist_ok=True)
        np.savez(
            cache_dir / f"corpus-{size}-{seed}-{model}.npz",
            vectors=vectors,
            labels=np.array(labels),
            texts=np.array(texts),
        )
        top: list[str] = []
        if profiler:
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(30)
            top = out.getvalue().splitlines()
        services.close()
    embed_s = stages.get("embedding", 0.0)
    return {
        "size": size,
        "model": model,
        "accepted": report.accepted,
        "duplicates": report.duplicates,
        "unique_texts": len(unique),
        "ingest_s": round(ingest_s, 3),
        "analyse_s": round(analyse_s, 3),
        "stages_s": {k: round(v, 3) for k, v in stages.items()},
        "embed_share": round(embed_s / analyse_s, 3) if analyse_s else None,
        "raw_encode_per_s": round(encode_rate, 1),
        "raw_encode_sample": len(sample),
        "raw_encode_s": round(raw_encode_s, 3),
        "analyse_over_raw_encode": round(analyse_s / raw_encode_s, 3),
        "end_to_end_per_s": round(size / (ingest_s + analyse_s), 1),
        "rss_ready_mb": round(rss_ready, 1),
        "peak_rss_mb": round(max(peak_analyse, peak_rss_mb()), 1),
        "profile_top": top,
    }
