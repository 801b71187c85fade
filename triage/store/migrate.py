"""Bring a database to the newest schema with Alembic (run by SqlStore at start-up)."""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, inspect

ALEMBIC_INI = Path(__file__).with_name("alembic.ini")
# The schema that `Base.metadata.create_all` made before migrations existed.
BASELINE = "0001"


def alembic_config() -> Config:
    return Config(str(ALEMBIC_INI))


def upgrade_to_head(engine: Engine) -> None:
    """Apply every pending migration; a database made before migrations is stamped as the baseline first."""
    logging.getLogger("alembic").setLevel(logging.WARNING)
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        tables = inspect(connection).get_table_names()
        if "datasets" in tables and "alembic_version" not in tables:
            command.stamp(config, BASELINE)
        command.upgrade(config, "head")
