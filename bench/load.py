"""`POST /v1/triage` under load: a real `triage serve` process, driven from this process over loopback.

An async httpx client keeps N requests in flight (N concurrent clients) for a fixed time and records
every latency; errors are any non-200 answer or transport failure. The floor is measured in this
process first: the raw encode time of one sentence and the raw batch-encode throughput of the same
model, plus where the per-request time goes on the triage path (each step timed alone).
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from bench import corpus
from triage import pipeline
from triage.config import Settings
from triage.ingest.language import detect_language
from triage.ingest.redact import redact
from triage.sentiment import score_sentiment_by_language

TRIAGE = Path(sys.executable).parent / "triage"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _median_ms(fn: Callable[[str], Any], texts: list[str]) -> float:
    times = []
    for text in texts:
        started = time.perf_counter()
        fn(text)
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 3)


def floor(model: str, texts: list[str]) -> dict[str, Any]:
    """Raw single-sentence encode time, raw batch-encode throughput, and the triage path step by step."""
    with tempfile.TemporaryDirectory(prefix="triage-bench-") as tmp:
        settings = Settings(data_dir=Path(tmp) / "data", embed_model=model, embed_micro_batch=0)
        services = pipeline.open_services(settings)
        pipeline.warm_up(services)
        embedder = services.embedder
        singles = texts[:200]
        embedder.encode(singles[:8])
        encode_one = _median_ms(lambda t: embedder.encode([t]), singles)
        batch = texts[:1024]
        started = time.perf_counter()
        for start in range(0, len(batch), 64):
            embedder.encode(batch[start : start + 64])
        batch_rate = len(batch) / (time.perf_counter() - started)
        model_, _ = pipeline.run_model(services, None)
        vectors = {t: embedder.encode([t]) for t in singles[:100]}
        steps = {
            "redact": _median_ms(redact, singles),
            "language": _median_ms(detect_language, singles),
            "encode": encode_one,
            "themes": _median_ms(lambda t: model_.score([t], vectors[t]), singles[:100]),
            "urgency": _median_ms(lambda t: services.urgency.assess([t], vectors[t]), singles[:100]),
            "sentiment": _median_ms(lambda t: score_sentiment_by_language([t], [None], ["en"]), singles),
            "triage_text (all)": _median_ms(lambda t: pipeline.triage_text(services, t), singles),
        }
        services.close()
    return {"encode_one_ms": encode_one, "batch_encode_per_s": round(batch_rate, 1), "steps_ms": steps}


async def _drive(base_url: str, key: str, texts: list[str], clients: int, seconds: float) -> dict[str, Any]:
    latencies: list[float] = []
    errors: dict[str, int] = {}
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base_url, headers={"X-API-Key": key}, limits=limits, timeout=30) as client:

        async def worker(offset: int, until: float, record: bool) -> None:
            i = offset
            while time.perf_counter() < until:
                started = time.perf_counter()
                try:
                    response = await client.post("/v1/triage", json={"text": texts[i % len(texts)]})
                    outcome = str(response.status_code)
                except httpx.HTTPError as exc:
                    outcome = type(exc).__name__
                if record:
                    if outcome == "200":
                        latencies.append((time.perf_counter() - started) * 1000)
                    else:
                        errors[outcome] = errors.get(outcome, 0) + 1
                i += clients

        # A short warm-up opens the connections; then the measured window.
        await asyncio.gather(*(worker(c, time.perf_counter() + 1.0, False) for c in range(clients)))
        started = time.perf_counter()
        until = started + seconds
        await asyncio.gather(*(worker(c, until, True) for c in range(clients)))
        elapsed = time.perf_counter() - started
    done = len(latencies)
    q = np.percentile(latencies, [50, 95, 99]) if latencies else [float("nan")] * 3
    return {
        "clients": clients,
        "requests": done,
        "errors": sum(errors.values()),
        "error_kinds": errors,
        "rps": round(done / elapsed, 1),
        "p50_ms": round(float(q[0]), 2),
        "p95_ms": round(float(q[1]), 2),
        "p99_ms": round(float(q[2]), 2),
    }


def serve_and_load(
    model: str, levels: list[int], seconds: float, micro_batch: int, texts: list[str]
) -> list[dict[str, Any]]:
    """Start `triage serve` in a temp data dir, drive it at each concurrency level, stop it."""
    with tempfile.TemporaryDirectory(prefix="triage-bench-serve-") as tmp:
        root = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRIAGE_")}
        env.update(
            TRIAGE_DATA_DIR=str(root / "data"),
            TRIAGE_EMBED_MODEL=model,
            TRIAGE_EMBED_MICRO_BATCH=str(micro_batch),
            TRIAGE_LOG_LEVEL="WARNING",
            TRIAGE_API__TRIAGE_PER_MINUTE="0",  # the per-key rate limit would answer 429 to a load test
            HF_HUB_OFFLINE="1",
        )
        made = subprocess.run(
            [str(TRIAGE), "keys", "create", "--role", "integrator", "--name", "bench"],
            env=env,
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        )
        key = made.stdout.strip()
        port = _free_port()
        base_url = f"http://127.0.0.1:{port}"
        with (root / "serve.log").open("wb") as log:
            server = subprocess.Popen(
                [str(TRIAGE), "serve", "--host", "127.0.0.1", "--port", str(port)],
                env=env,
                cwd=root,
                stdout=log,
                stderr=log,
            )
            try:
                deadline = time.monotonic() + 180
                while True:
                    if server.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError("triage serve did not start:\n" + (root / "serve.log").read_text()[-3000:])
                    try:
                        if httpx.get(f"{base_url}/health", timeout=2).status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    time.sleep(0.3)
                return [asyncio.run(_drive(base_url, key, texts, n, seconds)) for n in levels]
            finally:
                server.send_signal(signal.SIGTERM)
                try:
                    server.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    server.kill()
                    server.wait()


def run(model: str, levels: list[int], seconds: float, compare_unbatched: bool) -> dict[str, Any]:
    texts = list(dict.fromkeys(r.text for r in corpus.build(4000, seed=1)))
    result: dict[str, Any] = {"model": model, "floor": floor(model, texts)}
    result["batched"] = serve_and_load(model, levels, seconds, 64, texts)
    if compare_unbatched:
        result["unbatched"] = serve_and_load(model, levels, seconds, 0, texts)
    return result
