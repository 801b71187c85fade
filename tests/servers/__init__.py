"""Throwaway Postgres and Chroma servers for the test suite's second back-end.

`TRIAGE_TEST_BACKEND=postgres` (or `make test-servers`) runs the same tests against a Postgres cluster made
with Debian's `initdb` in a temp dir and a `chroma run` server, both on free loopback ports; every test gets
its own database in each, so tests stay as independent as with SQLite and embedded Chroma in `tmp_path`.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

BACKEND_ENV = "TRIAGE_TEST_BACKEND"
BACKENDS = ("embedded", "postgres")
PG_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
CHROMA = Path(sys.executable).parent / "chroma"
START_TIMEOUT_S = 60.0
_names = itertools.count()


def backend() -> str:
    """The back-end the suite runs on: `embedded` (SQLite + on-disk Chroma, the default) or `postgres`."""
    chosen = os.environ.get(BACKEND_ENV, "embedded")
    if chosen not in BACKENDS:
        raise RuntimeError(f"{BACKEND_ENV}={chosen!r}: expected one of {', '.join(BACKENDS)}")
    return chosen


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _pg_bin(name: str) -> str:
    for directory in PG_BIN_DIRS:
        if (directory / name).exists():
            return str(directory / name)
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} not found: install Debian's postgresql (`make test-servers` does, as root)")
    return found


def _run_as(user: str | None) -> dict[str, object]:
    """Postgres refuses to run as root: as root, its processes run as the `postgres` user the package made."""
    return {"user": user} if user else {}


def _wait_for_port(port: int, process: subprocess.Popen[bytes] | None, log: Path, what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what} exited {process.returncode}:\n{_tail(log)}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1.0):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{what} not listening on {port} after {START_TIMEOUT_S:.0f}s:\n{_tail(log)}")


def _tail(path: Path, lines: int = 40) -> str:
    if not path.exists():
        return ""
    return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


@dataclass
class PostgresServer:
    """A Postgres cluster in its own temp dir on 127.0.0.1; `trust` auth on loopback, superuser `triage`."""

    root: Path
    port: int
    user: str | None
    _databases: dict[str, str] = field(default_factory=dict)

    @classmethod
    def start(cls) -> PostgresServer:
        user = "postgres" if os.geteuid() == 0 else None
        # As root, in /tmp: the postgres user must reach the directory (TMPDIR may be under /root).
        root = Path(tempfile.mkdtemp(prefix="triage-pg-", dir="/tmp" if user else None))
        if user:
            shutil.chown(root, user)
        data, log = root / "data", root / "postgres.log"
        subprocess.run(
            [_pg_bin("initdb"), "-D", str(data), "-U", "triage", "--auth=trust", "-E", "UTF8", "--no-sync"],
            check=True,
            capture_output=True,
            **_run_as(user),  # type: ignore[arg-type]
        )
        port = free_port()
        # Durability off: a test cluster is thrown away, and fsync would make every test slower.
        options = (
            f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c max_connections=400 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        subprocess.run(
            [_pg_bin("pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60", "start"],
            check=True,
            capture_output=True,
            **_run_as(user),  # type: ignore[arg-type]
        )
        _wait_for_port(port, None, log, "postgres")
        return cls(root, port, user)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://triage@127.0.0.1:{self.port}/{database}"

    def new_database(self, key: str | None = None) -> str:
        """A fresh, empty database; the same `key` gives the same database. Returns its SQLAlchemy URL."""
        if key is not None and key in self._databases:
            return self._databases[key]
        import psycopg

        name = f"t{next(_names)}_" + (hashlib.sha256(key.encode()).hexdigest()[:8] if key else "anon")
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=triage dbname=postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = self.url(name)
        if key is not None:
            self._databases[key] = url
        return url

    def stop(self) -> None:
        subprocess.run(
            [_pg_bin("pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop"],
            check=False,
            capture_output=True,
            **_run_as(self.user),  # type: ignore[arg-type]
        )
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class ChromaServer:
    """`chroma run` on a free loopback port with its data in a temp dir."""

    root: Path
    port: int
    process: subprocess.Popen[bytes]
    _databases: dict[str, str] = field(default_factory=dict)

    @classmethod
    def start(cls) -> ChromaServer:
        root = Path(tempfile.mkdtemp(prefix="triage-chroma-"))
        port = free_port()
        log = root / "chroma.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [str(CHROMA), "run", "--path", str(root / "data"), "--host", "127.0.0.1", "--port", str(port)],
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
            )
        _wait_for_port(port, process, log, "chroma run")
        return cls(root, port, process)

    def new_database(self, key: str | None = None) -> str:
        """A fresh Chroma database on the server; returns the TRIAGE_CHROMA_URL that selects it."""
        if key is not None and key in self._databases:
            return self._databases[key]
        name = f"t{next(_names)}_" + (hashlib.sha256(key.encode()).hexdigest()[:8] if key else "anon")
        url = f"http://127.0.0.1:{self.port}/?database={name}"
        if key is not None:
            self._databases[key] = url
        return url

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class Servers:
    postgres: PostgresServer
    chroma: ChromaServer

    def settings_env(self, key: str | None = None) -> dict[str, str]:
        """TRIAGE_DATABASE_URL and TRIAGE_CHROMA_URL of fresh databases (the same for the same `key`)."""
        return {
            "TRIAGE_DATABASE_URL": self.postgres.new_database(key),
            "TRIAGE_CHROMA_URL": self.chroma.new_database(key),
        }

    def stop(self) -> None:
        self.chroma.stop()
        self.postgres.stop()


_servers: Servers | None = None


def servers() -> Servers | None:
    """The session's servers when the back-end is `postgres` (started on first use), else None."""
    global _servers
    if backend() != "postgres":
        return None
    if _servers is None:
        postgres = PostgresServer.start()
        try:
            chroma = ChromaServer.start()
        except BaseException:
            postgres.stop()
            raise
        _servers = Servers(postgres, chroma)
    return _servers


def stop_servers() -> None:
    global _servers
    if _servers is not None:
        _servers.stop()
        _servers = None


def backend_env(key: str | None = None) -> dict[str, str]:
    """The settings environment that points a process at the test back-end ({} for the embedded one)."""
    found = servers()
    return found.settings_env(key) if found else {}
