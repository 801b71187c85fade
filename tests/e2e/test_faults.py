"""Faults, end to end on real `triage serve` processes: SIGKILL mid-ingest and mid-analysis, then restart;
the LLM server down, too slow or answering garbage during a run.

The LLM cases that the unit tests already cover in-process (garbage answers, tests/unit/test_pipeline_llm.py)
are run here through the server and its job worker, with the down and too-slow servers added.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import make_settings
from tests.e2e.conftest import (
    SLOW_TIMEOUT_S,
    TRIAGE,
    create_key,
    free_port,
    read_tail,
    stop,
    triage_env,
)
from tests.unit.llm.fake_chat_server import FakeChatServer
from triage import pipeline
from triage.config import Settings
from triage.embed.sentence_transformer import SentenceTransformerEmbedder
from triage.store.sql import SqlStore

pytestmark = pytest.mark.e2e
STARTUP_S = 300.0
"""A fresh data dir embeds the taxonomy's examples at start-up: minutes on a busy 2-core machine."""

SUBJECTS = ("laptop", "VPN access", "expense claim", "payslip", "desk move", "contract review", "badge")
PROBLEMS = (
    "took three weeks",
    "nobody told us what was happening",
    "was wrong and had to be redone",
    "got a rude reply",
    "was closed without a fix",
)


def rows(n: int, seed: int = 0) -> list[dict[str, Any]]:
    """`n` distinct comments from distinct respondents (each text differs by its request number)."""
    return [
        {
            "text": f"My {SUBJECTS[(i + seed) % 7]} request {i} {PROBLEMS[(i * 3 + seed) % 5]}.",
            "provider": ("IT", "HR", "Finance")[i % 3],
            "respondent": f"emp-{i}",
        }
        for i in range(n)
    ]


@dataclass
class Serve:
    """One data dir; `start()` runs `triage serve` on it, `kill()` SIGKILLs it; start again to restart."""

    root: Path
    env: dict[str, str]
    keys: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    base_url: str = ""
    starts: int = 0

    def start(self) -> None:
        port = free_port()
        self.base_url = f"http://127.0.0.1:{port}"
        self.starts += 1
        log = self.root / f"serve-{self.starts}.log"
        with log.open("wb") as out:
            self.process = subprocess.Popen(
                [str(TRIAGE), "serve", "--host", "127.0.0.1", "--port", str(port)],
                env=self.env,
                cwd=self.root,
                stdout=out,
                stderr=out,
            )
        wait_healthy(self.process, self.base_url, log)

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def log(self) -> str:
        return read_tail(self.root / f"serve-{self.starts}.log")

    def client(self, role: str = "admin") -> httpx.Client:
        return httpx.Client(base_url=self.base_url, headers={"X-API-Key": self.keys[role]}, timeout=120.0)

    def wait_run(self, run_id: str, until: tuple[str, ...], timeout: float = SLOW_TIMEOUT_S) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self.client() as client:
            while time.monotonic() < deadline:
                status: dict[str, Any] = client.get(f"/v1/runs/{run_id}").json()
                if status["status"] in until:
                    return status
                time.sleep(0.2)
        pytest.fail(f"run {run_id} not {until} after {timeout:.0f}s: {status}\n{self.log()}")


def wait_healthy(process: subprocess.Popen[bytes], base_url: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"triage serve exited {process.returncode} before it was healthy:\n{read_tail(log)}")
        try:
            if httpx.get(f"{base_url}/health", timeout=2.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    pytest.fail(f"triage serve not healthy after {STARTUP_S:.0f}s:\n{read_tail(log)}")


@pytest.fixture(scope="module")
def warm_vectors(tmp_path_factory: pytest.TempPathFactory, embedder: SentenceTransformerEmbedder) -> Path:
    """A vector store holding the taxonomy examples' vectors, copied into each test's data dir: a fresh
    server then fits its start-up model from cached vectors instead of encoding them again."""
    data = tmp_path_factory.mktemp("warm") / "data"
    services = pipeline.open_services(Settings(data_dir=data), embedder=embedder)
    pipeline.base_theme_model(services)
    services.close()
    return data / "chroma"


def make_serve(root: Path, warm: Path, **env: str) -> Serve:
    shutil.copytree(warm, root / "data" / "chroma")
    serve = Serve(root, {**triage_env(root / "data"), "TRIAGE_API__TRIAGE_PER_MINUTE": "0", **env})
    serve.keys["admin"] = create_key(serve.env, "admin", root)
    return serve


@pytest.fixture
def serve(tmp_path: Path, warm_vectors: Path) -> Iterator[Serve]:
    made = make_serve(tmp_path, warm_vectors)
    yield made
    if made.process is not None:
        stop(made.process)


def comment_count(serve: Serve, name: str) -> int | None:
    """Comments of the dataset called `name` as the database holds them (None: no such dataset)."""
    store = SqlStore(make_settings(serve.root / "data").db_url)  # SQLite, or this data dir's Postgres database
    try:
        dataset = store.dataset_by_name(name)
        return None if dataset is None else dataset.comments
    finally:
        store.close()


def test_sigkill_during_an_upload_leaves_nothing_half_written_and_a_resend_completes_it(serve: Serve) -> None:
    serve.start()
    n = 3000
    for _attempt in range(3):
        body = {"name": f"killed-{n}", "rows": rows(n)}
        answered: list[httpx.Response] = []

        def send(body: dict[str, Any] = body, answered: list[httpx.Response] = answered) -> None:
            try:
                with serve.client() as client:
                    answered.append(client.post("/v1/datasets", json=body))
            except httpx.TransportError:
                pass  # the server died under the request: expected

        sender = threading.Thread(target=send)
        sender.start()
        time.sleep(1.0)  # the body is sent and the server is validating, redacting, inserting
        finished_first = bool(answered)
        serve.kill()
        sender.join(timeout=60)
        if not finished_first:
            break
        # The upload finished before the kill: try again with more rows so the kill lands mid-ingest.
        serve.start()
        n *= 3
    else:
        pytest.fail("every upload finished within a second; cannot kill one mid-way")

    assert not answered, "the killed server answered the upload"
    # All or nothing: the rows of an upload are committed together or not at all.
    assert comment_count(serve, f"killed-{n}") in (None, 0, n)
    serve.start()
    with serve.client() as client:
        first = client.post("/v1/datasets", json=body)
        assert first.status_code == 201, first.text
        report = first.json()
        assert report["accepted"] + report["duplicates"] == n and not report["rejected"]
        again = client.post("/v1/datasets", json=body).json()
    assert (again["accepted"], again["duplicates"]) == (0, n)
    assert comment_count(serve, f"killed-{n}") == n


def test_sigkill_during_an_analysis_marks_the_run_failed_and_a_new_run_succeeds(serve: Serve) -> None:
    serve.start()
    with serve.client() as client:
        uploaded = client.post("/v1/datasets", json={"name": "analysed", "rows": rows(2500)})
        assert uploaded.status_code == 201, uploaded.text
        dataset_id = uploaded.json()["id"]
        run_id = client.post(f"/v1/datasets/{dataset_id}/runs").json()["id"]
    running = serve.wait_run(run_id, ("running", "succeeded", "failed"))
    assert running["status"] == "running", f"the run ended before it could be killed: {running}"
    serve.kill()

    serve.start()
    after = serve.wait_run(run_id, ("failed", "succeeded"), timeout=60)
    # Never left "running": marked failed at start-up (the in-process worker of the embedded default), or picked
    # up again from the shared queue and finished (the Postgres back-end).
    shared_queue = os.environ.get("TRIAGE_TEST_BACKEND") == "postgres"
    if shared_queue and after["status"] == "succeeded":
        with serve.client() as client:
            assert client.get(f"/v1/reports/{run_id}").status_code == 200
    else:
        assert after["status"] == "failed" and "interrupted" in (after.get("error") or ""), after
        with serve.client() as client:
            assert client.get(f"/v1/reports/{run_id}").status_code == 409  # no half-written report
    with serve.client() as client:
        again = client.post(f"/v1/datasets/{dataset_id}/runs")
        assert again.status_code == 202, again.text
    done = serve.wait_run(again.json()["id"], ("succeeded", "failed"))
    assert done["status"] == "succeeded", f"{done}\n{serve.log()}"


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"  # bound, then closed: connections are refused


@pytest.mark.parametrize("fault", ["down", "slow", "garbage"], ids=["llm-down", "llm-too-slow", "llm-garbage"])
def test_a_run_completes_with_the_offline_fallback_when_the_llm_fails(
    tmp_path: Path, warm_vectors: Path, fault: str
) -> None:
    chat = FakeChatServer()
    chat.start()
    try:
        if fault == "slow":
            for _ in range(20):
                chat.answer('{"name": "late"}', delay_s=5.0)
        elif fault == "garbage":
            for _ in range(20):
                chat.answer("Sure! Here is what I think: not JSON at all")
        url = _closed_port_url() if fault == "down" else chat.url
        serve = make_serve(
            tmp_path,
            warm_vectors,
            TRIAGE_LLM__BASE_URL=url,
            TRIAGE_LLM__MODEL="fake-model",
            TRIAGE_LLM__TIMEOUT_S="1.0",
            TRIAGE_LLM__MAX_RETRIES="0",
            TRIAGE_LLM__CACHE="false",
        )
        try:
            serve.start()
            comments = [
                {"text": f"Still waiting {w} for my laptop from IT.", "provider": "IT", "respondent": f"e{i}"}
                for i, w in enumerate(("three weeks", "a month", "nine days", "two weeks", "ages", "six weeks"))
            ]
            with serve.client() as client:
                dataset_id = client.post("/v1/datasets", json={"name": "llm", "rows": comments}).json()["id"]
                run_id = client.post(f"/v1/datasets/{dataset_id}/runs").json()["id"]
                status = serve.wait_run(run_id, ("succeeded", "failed"), timeout=120)
                assert status["status"] == "succeeded", f"{status}\n{serve.log()}"
                report = client.get(f"/v1/reports/{run_id}").json()
                markdown = client.get(f"/v1/reports/{run_id}", params={"format": "md"}).text
        finally:
            if serve.process is not None:
                stop(serve.process)
    finally:
        chat.stop()
    themes = [t for p in report["providers"] for t in p["themes"]]
    assert themes, report
    assert all(t["summarizer"].startswith("offline (llm failed") for t in themes), [t["summarizer"] for t in themes]
    assert all(t["actions"] for t in themes)
    assert status["usage"]["fallbacks"] == len(themes)
    assert "fell back to the offline summariser" in markdown
    if fault == "down":
        assert not chat.requests
    else:
        assert len(chat.requests) >= len(themes)
