"""The one place that configures logging."""

from __future__ import annotations

import logging

from rich.logging import RichHandler


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(), format="%(name)s: %(message)s", handlers=[RichHandler(show_path=False)], force=True
    )
    for noisy in ("httpx", "httpx2", "chromadb", "sentence_transformers", "transformers", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
