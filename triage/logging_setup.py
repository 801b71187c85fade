"""The one place that configures logging."""

from __future__ import annotations

import logging

from rich.console import Console
from rich.logging import RichHandler


def configure_logging(level: str) -> None:
    """Log to stderr, so command output on stdout (JSON reports, keys) stays clean."""
    logging.basicConfig(
        level=level.upper(),
        format="%(name)s: %(message)s",
        handlers=[RichHandler(console=Console(stderr=True), show_path=False)],
        force=True,
    )
    for noisy in ("httpx", "httpx2", "chromadb", "sentence_transformers", "transformers", "urllib3", "procrastinate"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
