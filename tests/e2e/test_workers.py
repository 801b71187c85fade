"""Several API processes on one Postgres + Chroma server: shared job queue, a worker killed mid-job, load spread.

Runs on the postgres back-end (`TRIAGE_TEST_BACKEND=postgres`, `make test-servers`): the in-process queue of
the embedded default is one process by design.
"""

from __future__ import annotations

import itertools
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.conftest import EXAMPLE_SURVEY
from tests.e2e.conftest import ROLES, TRIAGE, free_port, read_tail, stop, triage_env
from tests.servers import backend
from triage.store.sql import SqlStore

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(backend() != "postgres", reason="needs the server back-end: TRIAGE_TEST_BACKEND=postgres"),
]

START_TIMEOUT_S = 600.0  # start-up embeds the taxonomy's examples; slow on a busy 2-core machine
RUN_TIMEOUT_S = 400.0
# Fast failure detection for the test: heartbeats every second, a worker silent for 6 s is gone.
FAST_JOBS = {"TRIAGE_JOBS__HEARTBEAT_S": "1", "TRIAGE_JOBS__STALLED_AFTER_S": "6", "TRIAGE_JOBS__POLL_S": "1"}
TAKEN = re.compile(r"run (\w+) taken by worker \S+:(\d+) \(attempt (\d+)\)")


@dataclass
class Process:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    base_url: str | None = None

    def taken(self) -> list[tuple[str, int, int]]:
        """(run id, pid, attempt) of each job this process's worker took, from its log."""
        text = self.log.read_text(encoding="utf-8", errors="replace")
        return [(m.group(1), int(m.group(2)), int(m.group(3))) for m in TAKEN.finditer(text)]


def start(env: dict[str, str], cwd: Path, name: str, *args: str, port: int | None = None) -> Process:
    log = cwd / f"{name}.log"
    with log.open("wb") as out:
        popen = subprocess.Popen([str(TRIAGE), *args], env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
    return Process(name, popen, log, f"http://127.0.0.1:{port}" if port else None)


def wait_healthy(process: Process) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            pytest.fail(f"{process.name} exited {process.popen.returncode}:\n{read_tail(process.log)}")
        try:
            if httpx.get(f"{process.base_url}/health", timeout=2.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    pytest.fail(f"{process.name} not healthy after {START_TIMEOUT_S:.0f}s:\n{read_tail(process.log)}")


@dataclass
class Cluster:
    env: dict[str, str]
    root: Path
    keys: dict[str, str]
    processes: list[Process]

    def client(self, process: Process, role: str = "manager") -> httpx.Client:
        assert process.base_url
        return httpx.Client(base_url=process.base_url, headers={"X-API-Key": self.keys[role]}, timeout=60.0)


def serve(env: dict[str, str], root: Path, name: str, *extra: str) -> Process:
    port = free_port()
    return start(env, root, name, "serve", "--host", "127.0.0.1", "--port", str(port), *extra, port=port)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Two `triage serve` processes (each also a job worker) on one data dir, database and Chroma server."""
    root = tmp_path_factory.mktemp("workers")
    env = {**triage_env(root / "data"), **FAST_JOBS}
    assert env["TRIAGE_DATABASE_URL"].startswith("postgresql")
    store = SqlStore(env["TRIAGE_DATABASE_URL"])  # in this process: the CLI is covered by tests/e2e/test_cli.py
    keys = {role: store.create_key(role, f"e2e-{role}") for role in ROLES}  # type: ignore[arg-type]
    store.close()
    processes: list[Process] = []
    try:
        # One after the other: the second finds the warm-up's vectors on the Chroma server, and a busy
        # 2-core machine does not load two models at once.
        for name in ("api-a", "api-b"):
            processes.append(serve(env, root, name))
            wait_healthy(processes[-1])
        yield Cluster(env, root, keys, processes)
    finally:
        for process in processes:
            stop(process.popen)


def upload_example(client: httpx.Client, name: str) -> str:
    files = {"file": ("survey.csv", EXAMPLE_SURVEY.read_bytes(), "text/csv")}
    response = client.post("/v1/datasets", files=files, data={"name": name})
    assert response.status_code == 201, response.text
    dataset_id: str = response.json()["id"]
    return dataset_id


def wait_for_run(client: httpx.Client, run_id: str, until: str = "succeeded") -> list[dict[str, object]]:
    """Poll the run until it reaches `until`; returns every status seen."""
    seen: list[dict[str, object]] = []
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while time.monotonic() < deadline:
        status = client.get(f"/v1/runs/{run_id}").json()
        seen.append(status)
        if status["status"] == until or status["status"] == "failed":
            return seen
        time.sleep(0.5)
    pytest.fail(f"run {run_id} not {until} after {RUN_TIMEOUT_S:.0f}s: {seen[-3:]}")


def job_rows(database_url: str, run_id: str) -> list[tuple[str, int]]:
    """(status, attempts) of the queue's jobs for a run, straight from procrastinate's table."""
    with psycopg.connect(database_url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        return [
            (str(status), int(attempts))
            for status, attempts in conn.execute(
                "select status, attempts from procrastinate_jobs where args->>'run_id' = %s", (run_id,)
            )
        ]


def theme_assignments(database_url: str, run_id: str) -> tuple[int, int]:
    """(primary theme assignments, distinct comments with one) of a run."""
    with psycopg.connect(database_url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        row = conn.execute(
            "select count(*), count(distinct comment_id) from assignments where run_id = %s and kind = 'theme'"
            " and rank = 0",
            (run_id,),
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def test_triage_load_is_spread_over_both_processes(cluster: Cluster) -> None:
    """Round-robin over both processes: each answers, with the same theme for the same text."""
    live = cluster.processes
    assert len(live) == 2 and all(p.popen.poll() is None for p in live)
    texts = [
        "Three weeks and still no laptop",
        "My payslip was wrong again this month",
        "The expense tool rejects every receipt",
        "Nobody answers the HR hotline",
    ]
    clients = [cluster.client(p, "integrator") for p in live]
    answers: dict[tuple[int, str], str] = {}
    try:
        for (index, client), text in zip(itertools.cycle(enumerate(clients)), texts * 2, strict=False):
            response = client.post("/v1/triage", json={"text": text})
            assert response.status_code == 200, response.text
            answers[(index, text)] = response.json()["primary_theme"]
    finally:
        for client in clients:
            client.close()
    assert {index for index, _ in answers} == set(range(len(live)))
    for text in texts:
        assert len({theme for (_, t), theme in answers.items() if t == text}) == 1, answers


def test_a_job_survives_its_worker_being_killed_and_finishes_once(cluster: Cluster) -> None:
    a, b = cluster.processes
    with cluster.client(a) as client_a:
        dataset_id = upload_example(client_a, "killed")
        created = client_a.post(f"/v1/datasets/{dataset_id}/runs")
        assert created.status_code == 202, created.text
        run_id = created.json()["id"]
        # Wait until a worker has taken the job and reported progress through the shared runs table.
        deadline = time.monotonic() + RUN_TIMEOUT_S
        while not any(r == run_id for p in cluster.processes for r, _, _ in p.taken()):
            assert time.monotonic() < deadline, "no worker took the job"
            time.sleep(0.2)
        while (status := client_a.get(f"/v1/runs/{run_id}").json())["progress"] <= 0:
            assert status["status"] in ("queued", "running"), status
            assert time.monotonic() < deadline, "the run reported no progress"
            time.sleep(0.2)
    victim = next(p for p in cluster.processes if any(r == run_id for r, _, _ in p.taken()))
    survivor = b if victim is a else a
    victim.popen.send_signal(signal.SIGKILL)
    victim.popen.wait(timeout=30)

    with cluster.client(survivor) as client:
        seen = wait_for_run(client, run_id)
    final = seen[-1]
    assert final["status"] == "succeeded", final
    # The survivor took the job over (a second attempt) and its progress showed through its own API.
    retaken = [(pid, attempt) for r, pid, attempt in survivor.taken() if r == run_id]
    assert retaken and retaken[-1] == (survivor.popen.pid, 2), (survivor.taken(), read_tail(survivor.log))
    # Exactly once: one job, two attempts (the killed worker's, the survivor's), succeeded; one primary theme
    # per comment, no duplicate assignments from the first attempt.
    assert job_rows(cluster.env["TRIAGE_DATABASE_URL"], run_id) == [("succeeded", 2)]
    primary, distinct = theme_assignments(cluster.env["TRIAGE_DATABASE_URL"], run_id)
    assert primary == distinct > 0
    cluster.processes.remove(victim)


def test_worker_command_and_multiprocess_serve(cluster: Cluster, tmp_path: Path) -> None:
    """`triage serve --workers 2` that runs no jobs itself, and one `triage worker` that runs them all."""
    env = {**cluster.env, "TRIAGE_JOBS__RUN_IN_API": "false"}
    api = serve(env, cluster.root, "api-multi", "--workers", "2")
    worker = start(env, cluster.root, "worker", "worker")
    try:
        wait_healthy(api)
        with cluster.client(api) as client:
            dataset_id = upload_example(client, "by-worker")
            run_id = client.post(f"/v1/datasets/{dataset_id}/runs").json()["id"]
            final = wait_for_run(client, run_id)[-1]
        assert final["status"] == "succeeded", (final, read_tail(worker.log))
        takers = [pid for p in [*cluster.processes, worker] for r, pid, _ in p.taken() if r == run_id]
        # The cluster's API processes also work on the queue; whoever took it, it ran once.
        assert len(takers) == 1, takers
        assert job_rows(cluster.env["TRIAGE_DATABASE_URL"], run_id) == [("succeeded", 1)]
    finally:
        stop(api.popen)
        worker.popen.send_signal(signal.SIGTERM)
        try:
            worker.popen.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.kill(worker.popen.pid, signal.SIGKILL)
            worker.popen.wait(timeout=15)
    assert worker.popen.returncode == 0, read_tail(worker.log)
