"""Triage throughput of `triage serve --workers N` on Postgres + a Chroma server (numbers in docs/deploy.md).

    .venv/bin/python -m tests.servers.throughput --workers 1 2 --seconds 30 --concurrency 8

Starts throwaway Postgres and Chroma servers (tests/servers), then for each N a `triage serve --workers N`,
and drives POST /v1/triage from a separate process (`load`) with an async httpx client: `concurrency`
requests in flight, for `seconds`, after a warm-up. Prints requests/s and latency percentiles.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

TEXTS = [
    "Three weeks and still no laptop, nobody answers the ticket",
    "My payslip was wrong again this month and payroll did not reply",
    "The expense tool rejects every receipt I upload",
    "Nobody answers the HR hotline before noon",
    "The VPN drops every hour when I work from home",
    "Procurement took two months to approve a chair",
    "Legal review of a simple NDA took six weeks",
    "Onboarding was great, my buddy helped a lot",
]


async def _load(url: str, key: str, seconds: float, concurrency: int, warmup: float) -> dict[str, float]:
    latencies: list[float] = []
    errors = 0
    async with httpx.AsyncClient(base_url=url, headers={"X-API-Key": key}, timeout=60.0) as client:

        async def one(i: int, record: bool) -> None:
            nonlocal errors
            started = time.perf_counter()
            response = await client.post("/v1/triage", json={"text": TEXTS[i % len(TEXTS)] + f" ({i})"})
            if response.status_code != 200:
                errors += 1
            elif record:
                latencies.append(time.perf_counter() - started)

        async def worker(offset: int, until: float, record: bool) -> None:
            i = offset
            while time.monotonic() < until:
                await one(i, record)
                i += concurrency

        await asyncio.gather(*(worker(n, time.monotonic() + warmup, False) for n in range(concurrency)))
        started = time.monotonic()
        await asyncio.gather(*(worker(n, started + seconds, True) for n in range(concurrency)))
        elapsed = time.monotonic() - started
    ordered = sorted(latencies)
    return {
        "requests": len(latencies),
        "errors": errors,
        "seconds": round(elapsed, 1),
        "per_second": round(len(latencies) / elapsed, 1),
        "p50_ms": round(1000 * statistics.median(ordered), 1) if ordered else 0.0,
        "p95_ms": round(1000 * ordered[int(0.95 * (len(ordered) - 1))], 1) if ordered else 0.0,
    }


def load_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args(argv)
    print(json.dumps(asyncio.run(_load(args.url, args.key, args.seconds, args.concurrency, args.warmup))))


def _wait_healthy(url: str, process: subprocess.Popen[bytes], timeout: float = 600.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"triage serve exited {process.returncode}")
        try:
            if httpx.get(f"{url}/health", timeout=2.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise RuntimeError("triage serve not healthy")


def main() -> None:
    if sys.argv[1:2] == ["load"]:
        load_main(sys.argv[2:])
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    os.environ["TRIAGE_TEST_BACKEND"] = "postgres"
    from tests.servers import free_port, servers, stop_servers
    from triage.store.sql import SqlStore

    found = servers()
    assert found is not None
    root = Path(tempfile.mkdtemp(prefix="triage-throughput-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRIAGE_")}
    env.update(found.settings_env("throughput"), TRIAGE_DATA_DIR=str(root / "data"), HF_HUB_OFFLINE="1")
    env["TRIAGE_API__TRIAGE_PER_MINUTE"] = "0"  # measure the service, not the per-key rate limit
    store = SqlStore(env["TRIAGE_DATABASE_URL"])
    key = store.create_key("integrator", "throughput")
    store.close()
    triage = Path(sys.executable).parent / "triage"
    try:
        for workers in args.workers:
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            with (root / f"serve-{workers}.log").open("wb") as log:
                serve = subprocess.Popen(
                    [str(triage), "serve", "--port", str(port), "--workers", str(workers)],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            try:
                _wait_healthy(url, serve)
                time.sleep(5)  # every worker process finishes its start-up, not only the first
                load = [sys.executable, "-m", "tests.servers.throughput", "load", "--url", url, "--key", key]
                load += ["--seconds", str(args.seconds), "--concurrency", str(args.concurrency)]
                result = subprocess.run(load, capture_output=True, text=True, check=True)
                print(json.dumps({"workers": workers, **json.loads(result.stdout)}), flush=True)
            finally:
                serve.terminate()
                serve.wait(timeout=60)
    finally:
        stop_servers()


if __name__ == "__main__":
    main()
