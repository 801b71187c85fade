"""End-to-end fixtures: the installed `triage` executable, run in subprocesses against data in temp dirs."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.servers import backend_env

# The console script of the venv running the tests, so the tests work in any venv.
TRIAGE = Path(sys.executable).parent / "triage"
ROLES = ("admin", "manager", "hr", "integrator")
# Start-up fits the theme model (1,137 examples encoded) and loads the redaction and urgency models: ~15 s on a
# quiet 2-core machine, several minutes when the machine is loaded.
STARTUP_TIMEOUT_S = 300.0
QUICK_TIMEOUT_S = 60.0  # commands that only import the package and touch SQLite
SLOW_TIMEOUT_S = 240.0  # commands that embed and analyse the whole survey


def triage_env(data_dir: Path) -> dict[str, str]:
    """The parent environment without TRIAGE_* or colour settings, pointed at `data_dir`, offline, wide console."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("TRIAGE_") and k not in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE")
    }
    env.update(
        TRIAGE_DATA_DIR=str(data_dir),
        HF_HUB_OFFLINE="1",
        TRANSFORMERS_OFFLINE="1",
        COLUMNS="200",  # rich wraps at the console width; keep each printed line on one line
        NO_COLOR="1",
    )
    env.update(backend_env(str(data_dir)))  # TRIAGE_TEST_BACKEND=postgres: this data dir's server databases
    return env


def run_triage(
    env: dict[str, str], *args: str, cwd: Path, timeout: float = QUICK_TIMEOUT_S
) -> subprocess.CompletedProcess[str]:
    """Run `triage *args` and return the finished process (never raises on a non-zero exit)."""
    return subprocess.run(
        [str(TRIAGE), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )


def describe(proc: subprocess.CompletedProcess[str]) -> str:
    """A failure message with the command, its exit code and both streams."""
    return f"{proc.args} exited {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"


def create_key(env: dict[str, str], role: str, cwd: Path) -> str:
    proc = run_triage(env, "keys", "create", "--role", role, "--name", f"e2e-{role}", cwd=cwd)
    assert proc.returncode == 0, describe(proc)
    key = proc.stdout.strip()
    assert key.startswith("trg_") and "\n" not in key, describe(proc)
    return key


def create_keys(env: dict[str, str], cwd: Path) -> dict[str, str]:
    """One key per role; the first creates the database, the others then run side by side."""
    keys = {ROLES[0]: create_key(env, ROLES[0], cwd)}
    with ThreadPoolExecutor(max_workers=len(ROLES) - 1) as pool:
        futures = {role: pool.submit(create_key, env, role, cwd) for role in ROLES[1:]}
        keys.update({role: future.result() for role, future in futures.items()})
    return keys


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    """A running `triage serve` process and one API key per role."""

    process: subprocess.Popen[bytes]
    base_url: str
    keys: dict[str, str]
    stderr_path: Path

    def stderr(self) -> str:
        return read_tail(self.stderr_path)

    def client(self, role: str) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, headers={"X-API-Key": self.keys[role]}, timeout=60.0)


def read_tail(path: Path, lines: int = 60) -> str:
    """The last lines of a log file, for failure messages."""
    return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


def wait_until_healthy(process: subprocess.Popen[bytes], base_url: str, stderr_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"triage serve exited {process.returncode} before it was healthy:\n{read_tail(stderr_path)}")
        try:
            if httpx.get(f"{base_url}/health", timeout=2.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    pytest.fail(f"triage serve not healthy after {STARTUP_TIMEOUT_S:.0f}s:\n{read_tail(stderr_path)}")


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL if it does not exit; no-op if it already has."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=15)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`triage serve` on a free port with its own data dir, healthy, with keys for every role."""
    root = tmp_path_factory.mktemp("server")
    env = triage_env(root / "data")
    keys = create_keys(env, root)
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    stderr_path = root / "serve.stderr"
    # Files, not pipes: nobody reads a pipe while the tests run, and a full pipe would block the server.
    with (root / "serve.stdout").open("wb") as out, stderr_path.open("wb") as err:
        process = subprocess.Popen(
            [str(TRIAGE), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=root,
            stdout=out,
            stderr=err,
        )
        try:
            wait_until_healthy(process, base_url, stderr_path)
            yield Server(process, base_url, keys, stderr_path)
        finally:
            stop(process)
