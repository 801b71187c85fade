"""Ingest jobs: validate, redact, de-duplicate and store survey rows."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

from triage.errors import InvalidInput
from triage.ingest.readers import RawRow, detect_format, read_file
from triage.ingest.validate import prepare
from triage.pipeline.services import Services
from triage.types import (
    IngestReport,
)

log = logging.getLogger(__name__)
MAX_NAME = 200


def ingest_rows(services: Services, rows: Iterable[RawRow], name: str, owner_key_id: int | None = None) -> IngestReport:
    """Validate, redact and store rows in the dataset called `name` (created if new)."""
    name = name.strip()
    if not 1 <= len(name) <= MAX_NAME:
        raise InvalidInput(f"dataset name must have 1 to {MAX_NAME} characters", field="name")
    good, bad = prepare(rows, services.respondent_key)
    if len(good) + len(bad) > services.settings.api.max_rows:
        raise InvalidInput(f"too many rows: at most {services.settings.api.max_rows} per upload", field="rows")
    dataset_id = services.sql.get_or_create_dataset(name, owner_key_id)
    accepted, duplicates = services.sql.add_comments(dataset_id, good)
    log.info("dataset %s: %d accepted, %d duplicates, %d rejected", dataset_id, accepted, duplicates, len(bad))
    return IngestReport(id=dataset_id, name=name, accepted=accepted, duplicates=duplicates, rejected=bad)


def ingest_bytes(
    services: Services, data: bytes, filename: str, name: str | None = None, owner_key_id: int | None = None
) -> IngestReport:
    rows = read_file(data, detect_format(filename))
    return ingest_rows(services, rows, name or Path(filename).stem, owner_key_id)
