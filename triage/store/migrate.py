"""Bring a database to the newest schema with Alembic (run by SqlStore at start-up)."""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, inspect, text

ALEMBIC_INI = Path(__file__).with_name("alembic.ini")
# The schema that `Base.metadata.create_all` made before migrations existed.
BASELINE = "0001"
# Postgres advisory lock key ("triage" in ASCII): processes starting at once migrate one after another.
MIGRATION_LOCK = 0x747269616765
JOB_TABLE = "procrastinate_jobs"

log = logging.getLogger(__name__)


def include_name(name: str | None, type_: str, _parent: object) -> bool:
    """Alembic compares only triage's tables: the job queue's schema is procrastinate's own."""
    return not (type_ == "table" and name is not None and name.startswith("procrastinate_"))


def alembic_config() -> Config:
    return Config(str(ALEMBIC_INI))


def upgrade_to_head(engine: Engine) -> None:
    """Apply every pending migration; a database made before migrations is stamped as the baseline first.

    On Postgres the whole upgrade is one transaction under an advisory lock, so several workers starting
    together neither race nor half-apply a revision; the job queue's schema is created there too.
    """
    logging.getLogger("alembic").setLevel(logging.WARNING)
    config = alembic_config()
    with _sqlite_file_lock(engine), engine.begin() as connection:
        postgres = connection.dialect.name == "postgresql"
        if postgres:
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        config.attributes["connection"] = connection
        tables = inspect(connection).get_table_names()
        if "datasets" in tables and "alembic_version" not in tables:
            command.stamp(config, BASELINE)
        command.upgrade(config, "head")
        if postgres and JOB_TABLE not in tables:
            _create_job_schema(connection)


@contextmanager
def _sqlite_file_lock(engine: Engine) -> Iterator[None]:
    """SQLite takes its write lock only at the first write: a lock file orders processes migrating one file."""
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    with open(f"{database}.migrate-lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _create_job_schema(connection: Connection) -> None:
    """The shared job queue's tables and functions (procrastinate's schema of the pinned version).

    A later procrastinate version ships SQL migrations (`procrastinate schema --migrations-path`); they
    become an Alembic revision when the pin moves.
    """
    from procrastinate.schema import SchemaManager

    # The raw driver cursor without parameters: the schema's `%` signs are not placeholders.
    cursor = connection.connection.cursor()
    try:
        cursor.execute(SchemaManager.get_schema())
    finally:
        cursor.close()
    log.debug("created the job queue schema")
