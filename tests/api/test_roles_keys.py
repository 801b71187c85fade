"""API keys: hashed at rest, revocable, with creation and last-used times; `triage keys list` never shows a key."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from tests.api.conftest import auth
from triage.cli import main as cli
from triage.config import Settings
from triage.store.sql import SqlStore


def test_keys_are_stored_only_as_a_sha256_hash(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'keys.db'}")
    key = store.create_key("hr", "hash-check")
    with store.engine.connect() as connection:
        rows = [dict(r._mapping) for r in connection.execute(text("select * from api_keys"))]
    store.close()
    assert len(rows) == 1
    row = rows[0]
    assert row["key_hash"] == hashlib.sha256(key.encode()).hexdigest()
    assert row["prefix"] == key[:12] and len(key) > 30  # the prefix names the key; the rest is secret
    assert not any(key in str(value) for value in row.values())
    # Nor anywhere in the database file (write-ahead log included).
    for path in tmp_path.glob("keys.db*"):
        assert key.encode() not in path.read_bytes(), path.name


def test_last_used_is_recorded_and_a_revoked_key_is_refused(
    api: TestClient,  # type: ignore[type-arg]
    analysed: Any,
) -> None:
    sql = analysed[0].sql
    key = sql.create_key("integrator", "last-used-check")
    record = next(k for k in sql.list_keys() if k.name == "last-used-check")
    assert record.last_used_at is None and record.revoked_at is None
    assert abs(record.created_at - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)

    assert api.post("/v1/triage", json={"text": "slow laptop"}, headers=auth(key)).status_code == 200
    used = next(k for k in sql.list_keys() if k.id == record.id)
    assert used.last_used_at is not None and abs(used.last_used_at - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)

    assert sql.revoke_key(str(record.id))  # by id, as `triage keys list` shows it
    assert not sql.revoke_key(str(record.id))  # already revoked
    response = api.post("/v1/triage", json={"text": "slow laptop"}, headers=auth(key))
    assert response.status_code == 401 and key not in response.text
    revoked = next(k for k in sql.list_keys() if k.id == record.id)
    assert revoked.revoked_at is not None and revoked.revoked_at >= used.last_used_at


def test_cli_creates_lists_and_revokes_keys_without_showing_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRIAGE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(cli.console, "width", 200)
    runner = CliRunner()
    created = runner.invoke(cli.app, ["keys", "create", "--role", "hr", "--name", "payroll-hr"])
    assert created.exit_code == 0, created.output
    key = created.output.strip()
    assert key.startswith("trg_")

    listed = runner.invoke(cli.app, ["keys", "list"])
    assert listed.exit_code == 0, listed.output
    assert key[:12] in listed.output and "payroll-hr" in listed.output and " hr " in listed.output
    assert key not in listed.output and key[12:20] not in listed.output
    assert hashlib.sha256(key.encode()).hexdigest()[:16] not in listed.output

    assert runner.invoke(cli.app, ["keys", "revoke", key[:12]]).exit_code == 0
    assert runner.invoke(cli.app, ["keys", "revoke", key[:12]]).exit_code == 1  # nothing active left
    row = next(line for line in runner.invoke(cli.app, ["keys", "list"]).output.splitlines() if key[:12] in line)
    cells = [c.strip() for c in row.split("│") if c.strip()]
    assert cells[2:4] == ["hr", "payroll-hr"] and cells[5] == "-"  # never used
    assert cells[6].startswith(str(dt.datetime.now(dt.UTC).year))  # revoked, with its time
    store = SqlStore(Settings(data_dir=tmp_path / "data").db_url)  # the CLI's database, on either back-end
    assert store.verify_key(key) is None
    store.close()
