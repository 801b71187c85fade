"""JobWorker: runs queued analyses one at a time in the API process, off the request path."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from triage import pipeline
from triage.pipeline import Services

log = logging.getLogger(__name__)


class JobWorker:
    """An asyncio task consuming run ids; CPU stages run in threads inside `pipeline.analyze`."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="triage-jobs")

    def submit(self, run_id: str) -> None:
        self._queue.put_nowait(run_id)

    async def _loop(self) -> None:
        while True:
            run_id = await self._queue.get()
            try:
                await pipeline.analyze(self._services, run_id)
            except Exception:  # analyze marked the run failed and logged why
                log.warning("run %s failed", run_id)
            finally:
                self._queue.task_done()

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
