"""Alembic migrations: the newest revision matches the tables, and older databases are brought up to it."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text

from triage.store.migrate import BASELINE, alembic_config
from triage.store.sql import SqlStore
from triage.store.tables import Base


def _head() -> str:
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert len(heads) == 1, f"migrations must have one head, found {heads}: set down_revision to the newest"
    return heads[0]


def test_migrated_schema_matches_the_tables(tmp_path: Path) -> None:
    """Fails when tables.py changes without a revision.

    Fix: `alembic -c triage/store/alembic.ini revision --autogenerate -m "what changed"`.
    """
    store = SqlStore(f"sqlite:///{tmp_path / 'm.db'}")
    with store.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        version = connection.execute(text("select version_num from alembic_version")).scalar_one()
    store.close()
    assert diff == []
    assert version == _head()


def test_database_from_before_migrations_is_stamped_and_upgraded(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'legacy.db'}"
    engine = create_engine(url)
    baseline_tables = ["datasets", "comments", "runs", "assignments", "actions", "api_keys"]
    Base.metadata.create_all(engine, tables=[Base.metadata.tables[name] for name in baseline_tables])
    with engine.begin() as connection:
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
    url = f"sqlite:///{tmp_path / 'twice.db'}"
    SqlStore(url).close()
    store = SqlStore(url)
    with store.engine.connect() as connection:
        rows = connection.execute(text("select count(*) from alembic_version")).scalar_one()
    store.close()
    assert rows == 1
