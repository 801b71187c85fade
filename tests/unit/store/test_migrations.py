"""Alembic migrations: the newest revision matches the tables, and older databases are brought up to it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from tests.conftest import make_settings
from triage.store.migrate import BASELINE, JOB_TABLE, alembic_config, include_name
from triage.store.sql import SqlStore, database_url
from triage.store.tables import Base


def _url(tmp_path: Path, name: str) -> str:
    """A fresh database: SQLite in tmp_path, or its own database on the postgres back-end."""
    (tmp_path / name).mkdir()
    return make_settings(tmp_path / name).db_url


def _head() -> str:
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert len(heads) == 1, f"migrations must have one head, found {heads}: set down_revision to the newest"
    return heads[0]


def test_migrated_schema_matches_the_tables(tmp_path: Path) -> None:
    """Fails when tables.py changes without a revision.

    Fix: `alembic -c triage/store/alembic.ini revision --autogenerate -m "what changed"`.
    """
    store = SqlStore(_url(tmp_path, "m"))
    with store.engine.connect() as connection:
        diff = compare_metadata(
            MigrationContext.configure(connection, opts={"include_name": include_name}), Base.metadata
        )
        version = connection.execute(text("select version_num from alembic_version")).scalar_one()
    store.close()
    assert diff == []
    assert version == _head()


def test_database_from_before_migrations_is_stamped_and_upgraded(tmp_path: Path) -> None:
    url = _url(tmp_path, "legacy")
    engine = create_engine(database_url(url))
    baseline_tables = ["datasets", "comments", "runs", "assignments", "actions", "api_keys"]
    # The tables as the baseline revision made them (today's tables.py has more), without Alembic's record.
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, BASELINE)
        connection.execute(text("drop table alembic_version"))
        connection.execute(text("insert into datasets (id, name, created_at) values ('d1', 'kept', '2026-01-01')"))
    engine.dispose()

    store = SqlStore(url)
    info = store.dataset_by_name("kept")
    with store.engine.connect() as connection:
        version = connection.execute(text("select version_num from alembic_version")).scalar_one()
        tables = set(inspect(connection).get_table_names())
    store.close()
    assert info is not None and info.id == "d1"
    assert version == _head()
    assert set(Base.metadata.tables) <= tables
    assert version != BASELINE or len(Base.metadata.tables) == len(baseline_tables)


def test_opening_twice_changes_nothing(tmp_path: Path) -> None:
    url = _url(tmp_path, "twice")
    SqlStore(url).close()
    store = SqlStore(url)
    with store.engine.connect() as connection:
        rows = connection.execute(text("select count(*) from alembic_version")).scalar_one()
    store.close()
    assert rows == 1


def test_processes_starting_together_migrate_once(tmp_path: Path) -> None:
    """Four processes open one fresh database at the same moment (Postgres: under an advisory lock)."""
    url = _url(tmp_path, "together")
    script = "import sys; from triage.store.sql import SqlStore, database_url; SqlStore(sys.argv[1]).close()"
    procs = [subprocess.Popen([sys.executable, "-c", script, url], stderr=subprocess.PIPE, text=True) for _ in range(4)]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], errors
    store = SqlStore(url)
    with store.engine.connect() as connection:
        versions = connection.execute(text("select version_num from alembic_version")).scalars().all()
        tables = set(inspect(connection).get_table_names())
    store.close()
    assert versions == [_head()]
    # The shared job queue's schema comes with the Postgres database, and only there.
    assert (JOB_TABLE in tables) == (store.engine.dialect.name == "postgresql")
