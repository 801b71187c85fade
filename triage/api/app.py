"""`create_app(settings)`: the Litestar application."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme

from triage import __version__, pipeline
from triage.api.actions import ACTION_ROUTES
from triage.api.auth import AccessControl, LoginRequired, provide_caller, role_guard
from triage.api.controllers import ROUTES
from triage.api.examples import EXAMPLE_ROUTES
from triage.api.jobs import open_jobs
from triage.api.pages import PAGES, login_redirect
from triage.api.problems import HANDLERS
from triage.config import Settings

log = logging.getLogger(__name__)
INTERRUPTED = "interrupted: the server stopped before the run finished"


def create_app(settings: Settings, services: pipeline.Services | None = None) -> Litestar:
    """The API; `services` may be passed in (tests share one embedding model), else opened at startup."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        opened = services if services is not None else await asyncio.to_thread(pipeline.open_services, settings)
        jobs = open_jobs(opened)
        # In-process jobs die with their process; shared-queue jobs are re-queued when their worker is gone.
        failed = 0 if jobs.shared else opened.sql.fail_unfinished_runs(INTERRUPTED)
        if failed:
            log.warning("marked %d interrupted runs failed", failed)
        # Load and fit everything the triage path uses now, so the first request is fast.
        await asyncio.to_thread(pipeline.warm_up, opened)
        await jobs.start()
        app.state.services = opened
        app.state.jobs = jobs
        queue = pipeline.TriageQueue(opened, settings.api.triage_batch) if settings.api.triage_batch else None
        app.state.triage_queue = queue
        try:
            yield
        finally:
            if queue is not None:
                queue.close()
            await jobs.stop()
            if not jobs.shared:  # single process: a run this server was working on can no longer finish
                opened.sql.fail_unfinished_runs(INTERRUPTED)
            if services is None:
                opened.close()

    def provide_services(state: State) -> pipeline.Services:
        found: pipeline.Services = state.services
        return found

    def provide_triage_queue(state: State) -> pipeline.TriageQueue | None:
        found: pipeline.TriageQueue | None = state.triage_queue
        return found

    return Litestar(
        route_handlers=[*ROUTES, *ACTION_ROUTES, *EXAMPLE_ROUTES, *PAGES],
        lifespan=[lifespan],
        guards=[role_guard],
        dependencies={
            "services": Provide(provide_services, sync_to_thread=False),
            "triage_queue": Provide(provide_triage_queue, sync_to_thread=False),
            "caller": Provide(provide_caller, sync_to_thread=False),
        },
        exception_handlers={**HANDLERS, LoginRequired: login_redirect},
        request_max_body_size=settings.api.max_upload_bytes,
        plugins=[AccessControl(settings.api)],  # audit log, rate limits per key, documented problems
        openapi_config=OpenAPIConfig(
            title="triage",
            version=__version__,
            path="/schema",
            render_plugins=[SwaggerRenderPlugin()],
            components=Components(
                security_schemes={
                    "ApiKey": SecurityScheme(type="apiKey", name="X-API-Key", security_scheme_in="header")
                }
            ),
            security=[{"ApiKey": []}],
        ),
        logging_config=None,  # logging is configured once, by the entry point
        debug=False,
    )


def app_from_env() -> Litestar:
    """For `uvicorn --factory triage.api.app:app_from_env` (and each process of `triage serve --workers N`)."""
    from triage.logging_setup import configure_logging

    settings = Settings()
    configure_logging(settings.log_level)  # a worker process does not run the CLI that configures it
    return create_app(settings)


__all__ = ["app_from_env", "create_app"]
