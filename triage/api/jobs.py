"""Background analysis jobs: in-process for the embedded default, a shared procrastinate queue on Postgres.

- `JobWorker` (SQLite): an asyncio queue in the one API process; a run left unfinished when the process
  stops is marked failed at the next start.
- `SharedJobQueue` (Postgres): runs are procrastinate jobs in the database; every API process and every
  `triage worker` takes jobs from it. A job is fetched by one worker only (row lock); workers send
  heartbeats, and a job whose worker stopped sending them (killed, machine gone) is put back on the queue
  and run again by another worker. A run succeeds once (`SqlStore.finish_run` is conditional).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
from typing import Any, Protocol

import procrastinate
from procrastinate import JobContext, RetryStrategy

from triage import pipeline
from triage.config import JobSettings
from triage.pipeline import Services

log = logging.getLogger(__name__)

ANALYZE_TASK = "triage.analyze"
ANALYSIS_QUEUE = "analysis"


class Jobs(Protocol):
    """Where `POST /v1/datasets/{id}/runs` puts a run, and what works on it."""

    shared: bool

    def submit(self, run_id: str) -> None: ...

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


def open_jobs(services: Services) -> Jobs:
    """The shared queue when the database is Postgres, else the in-process worker."""
    if services.sql.engine.dialect.name == "postgresql":
        return SharedJobQueue(services, worker=services.settings.jobs.run_in_api)
    return JobWorker(services)


class JobWorker:
    """An asyncio task consuming run ids; CPU stages run in threads inside `pipeline.analyze`."""

    shared = False

    def __init__(self, services: Services) -> None:
        self._services = services
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._task = asyncio.create_task(self._loop_runs(), name="triage-jobs")

    def submit(self, run_id: str) -> None:
        """Thread-safe: handlers that run in worker threads submit too."""
        if self._loop is None:
            raise RuntimeError("the job worker has not started")
        self._loop.call_soon_threadsafe(self._queue.put_nowait, run_id)

    async def _loop_runs(self) -> None:
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


def libpq_url(database_url: str) -> str:
    """The libpq form of a SQLAlchemy Postgres URL (`postgresql+psycopg://` -> `postgresql://`)."""
    scheme, sep, rest = database_url.partition("://")
    if not sep or not scheme.startswith(("postgresql", "postgres")):
        raise ValueError("the shared job queue needs a Postgres database URL")
    return f"postgresql://{rest}"


def job_app(database_url: str, pool_size: int = 4) -> procrastinate.App:
    """A procrastinate app on the triage database with the analysis task registered."""
    connector = procrastinate.PsycopgConnector(conninfo=libpq_url(database_url), min_size=1, max_size=pool_size)
    app = procrastinate.App(connector=connector)
    # A job cancelled by a worker's shutdown goes back on the queue; a failed analysis does not (it would
    # fail again: the run records why).
    retry = RetryStrategy(max_attempts=5, retry_exceptions=[asyncio.CancelledError])  # type: ignore[list-item]
    app.task(name=ANALYZE_TASK, queue=ANALYSIS_QUEUE, pass_context=True, retry=retry)(_analyze_job)
    return app


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


async def _analyze_job(context: JobContext, run_id: str) -> None:
    services: Services = context.additional_context["services"]
    status = await asyncio.to_thread(services.sql.run, run_id)
    if status is None:
        log.warning("job for unknown run %s dropped", run_id)
        return
    if status.status == "succeeded":  # its worker died after finishing, before the queue heard of it
        log.info("run %s had already succeeded", run_id)
        return
    attempt = (context.job.attempts or 0) + 1
    log.info("run %s taken by worker %s (attempt %d)", run_id, context.worker_name, attempt)
    await pipeline.analyze(services, run_id)


class SharedJobQueue:
    """Runs as procrastinate jobs in Postgres; with `worker=True` this process also works on them."""

    shared = True

    def __init__(self, services: Services, *, worker: bool = True) -> None:
        self._services = services
        self._settings: JobSettings = services.settings.jobs
        self._worker = worker
        self.app = job_app(services.settings.db_url)
        self._tasks: list[asyncio.Task[Any]] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        await self.app.open_async()
        if self._worker:
            self._tasks = [
                asyncio.create_task(self._run_worker(), name="triage-worker"),
                asyncio.create_task(self._requeue_stalled(), name="triage-stalled-jobs"),
            ]

    async def _run_worker(self) -> None:
        s = self._settings
        await self.app.run_worker_async(
            queues=[ANALYSIS_QUEUE],
            name=worker_name(),
            concurrency=s.concurrency,
            install_signal_handlers=False,
            additional_context={"services": self._services},
            update_heartbeat_interval=s.heartbeat_s,
            stalled_worker_timeout=s.stalled_after_s,
            shutdown_graceful_timeout=s.shutdown_timeout_s,
            fetch_job_polling_interval=s.poll_s,
        )

    async def _requeue_stalled(self) -> None:
        """Put the jobs of workers that stopped sending heartbeats back on the queue (procrastinate's recipe)."""
        manager = self.app.job_manager
        while True:
            await asyncio.sleep(self._settings.poll_s)
            try:
                stalled = await manager.get_stalled_jobs(
                    queue=ANALYSIS_QUEUE, seconds_since_heartbeat=self._settings.stalled_after_s
                )
                for job in stalled:
                    try:
                        await manager.retry_job(job)
                    except Exception:  # another worker re-queued it first
                        log.debug("job %s was re-queued elsewhere", job.id)
                        continue
                    log.warning("job %s (%s) lost its worker; queued again", job.id, job.task_kwargs.get("run_id"))
            except Exception:  # the database may be restarting: try again next round
                log.exception("could not check for stalled jobs")

    async def defer(self, run_id: str) -> int:
        task = self.app.tasks[ANALYZE_TASK]
        job_id: int = await task.configure(lock=f"run:{run_id}", queueing_lock=f"run:{run_id}").defer_async(
            run_id=run_id
        )
        log.info("run %s queued as job %d", run_id, job_id)
        return job_id

    def submit(self, run_id: str) -> None:
        """From a handler's worker thread: defer on the app's event loop and wait for the insert."""
        if self._loop is None:
            raise RuntimeError("the job queue has not started")
        asyncio.run_coroutine_threadsafe(self.defer(run_id), self._loop).result(timeout=30)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        await self.app.close_async()


async def run_worker(services: Services) -> None:
    """`triage worker`: work on the shared queue until cancelled (SIGINT/SIGTERM)."""
    if services.sql.engine.dialect.name != "postgresql":
        raise RuntimeError("`triage worker` needs TRIAGE_DATABASE_URL on Postgres (the shared job queue)")
    queue = SharedJobQueue(services, worker=True)
    await queue.start()
    main = asyncio.current_task()
    assert main is not None
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        # Cancelling stops fetching jobs; a running one gets `shutdown_timeout_s` to finish, else it is re-queued.
        loop.add_signal_handler(signum, main.cancel)
    try:
        await asyncio.gather(*queue._tasks)
    except asyncio.CancelledError:
        log.info("worker %s stopping", worker_name())
    finally:
        await queue.stop()
