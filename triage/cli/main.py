"""`triage`: ingest, analyse, report, serve, keys, demo."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from triage import pipeline
from triage.cli.demo import demo
from triage.config import Settings
from triage.errors import TriageError
from triage.ingest.readers import RawRow, detect_format, read_file
from triage.logging_setup import configure_logging
from triage.report.render import FORMATS, describe_usage
from triage.store.sql import SqlStore
from triage.types import IngestReport

app = typer.Typer(help="Internal feedback -> themes, evidence and suggested actions.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.command(help="Set up, load and analyse the example survey, then serve the API.")(demo)
console = Console()
err = Console(stderr=True)


@app.callback()
def _main() -> None:
    configure_logging(Settings().log_level)


def _services() -> pipeline.Services:
    return pipeline.open_services(Settings())


def _fail(exc: TriageError) -> typer.Exit:
    err.print(f"[red]error:[/red] {exc.detail}")
    return typer.Exit(code=1)


def print_ingest(report: IngestReport, limit: int = 20) -> None:
    console.print(
        f"dataset [bold]{report.name}[/bold] ({report.id}): {report.accepted} accepted, "
        f"{report.duplicates} duplicates, {len(report.rejected)} rejected"
    )
    for bad in report.rejected[:limit]:
        console.print(f"  row {bad.row}: {bad.reason}")
    if len(report.rejected) > limit:
        console.print(f"  ... and {len(report.rejected) - limit} more rejected rows")


@app.command()
def ingest(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV, JSONL or XLSX survey file.")],
    dataset: Annotated[str | None, typer.Option(help="Dataset name (default: the file name).")] = None,
) -> None:
    """Validate, redact, de-duplicate and store a survey file."""
    try:
        services = _services()
        rows = read_file(file.read_bytes(), detect_format(file.name))
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err) as bar:
            task = bar.add_task("reading rows", total=None)

            def counted(source: Iterator[RawRow]) -> Iterator[RawRow]:
                for row in source:
                    bar.advance(task)
                    yield row

            report = pipeline.ingest_rows(services, counted(rows), dataset or file.stem)
    except TriageError as exc:
        raise _fail(exc) from exc
    print_ingest(report)


def run_analysis(services: pipeline.Services, dataset_id: str) -> str:
    """Start and run an analysis with a progress bar; returns the run id."""
    run_id = pipeline.start_run(services, dataset_id)
    columns = (TextColumn("{task.description:<10}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"))
    with Progress(*columns, TimeElapsedColumn(), console=err) as bar:
        task = bar.add_task("analysing", total=1.0)
        asyncio.run(
            pipeline.analyze(
                services, run_id, on_progress=lambda v, stage: bar.update(task, completed=v, description=stage)
            )
        )
    return run_id


@app.command()
def analyze(dataset: Annotated[str, typer.Argument(help="Dataset id or name.")]) -> None:
    """Assign themes, cluster subjects, discover new themes and summarise; prints the run id."""
    try:
        services = _services()
        info = services.sql.dataset(dataset) or services.sql.dataset_by_name(dataset)
        if info is None:
            raise TriageError(f"no dataset with id or name {dataset!r}")
        run_id = run_analysis(services, info.id)
        report = pipeline.get_report(services, run_id)
    except TriageError as exc:
        raise _fail(exc) from exc
    table = Table("provider", "comments", "top themes", "withheld")
    for p in report.providers:
        top = ", ".join(f"{t.name} ({t.count})" for t in p.themes[:3])
        table.add_row(p.provider, str(p.comments), top, str(p.withheld.count))
    console.print(table)
    if report.usage is not None:
        console.print(describe_usage(report.usage), markup=False, highlight=False)
    console.print(f"run [bold]{run_id}[/bold]: `triage report {run_id} --format md`")


@app.command()
def report(
    run: Annotated[str, typer.Argument(help="Run id.")],
    format: Annotated[str, typer.Option("--format", "-f", help="md, json or csv.")] = "md",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to this file.")] = None,
) -> None:
    """Print or write the report of a finished run."""
    if format not in FORMATS:
        err.print(f"[red]error:[/red] --format must be one of {', '.join(FORMATS)}")
        raise typer.Exit(code=2)
    try:
        text = pipeline.render_report(_services(), run, format)
    except TriageError as exc:
        raise _fail(exc) from exc
    if output:
        output.write_text(text, encoding="utf-8")
        err.print(f"wrote {output}")
    else:
        print(text)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, help="API processes (more than 1 needs Postgres: TRIAGE_DATABASE_URL).")
    ] = 1,
) -> None:
    """Serve the API (OpenAPI at /schema)."""
    import uvicorn

    from triage.api.app import create_app

    settings = Settings()
    if workers == 1:
        uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")
        return
    if not settings.db_url.startswith("postgres"):
        # Each process would keep its own job queue and fail the others' runs when it restarts.
        err.print("[red]error:[/red] --workers above 1 needs TRIAGE_DATABASE_URL on Postgres (the shared job queue)")
        raise typer.Exit(code=2)
    SqlStore(settings.db_url).close()  # migrate once before the processes start
    uvicorn.run(
        "triage.api.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        # uvicorn kills a worker that misses its 5 s ping; one loading the model on a busy machine can.
        timeout_worker_healthcheck=120,
    )


@app.command()
def worker() -> None:
    """Work on analysis jobs from the shared queue (Postgres) until stopped; API processes do too by default."""
    from triage.api.jobs import run_worker

    settings = Settings()
    if not settings.db_url.startswith("postgres"):
        err.print("[red]error:[/red] `triage worker` needs TRIAGE_DATABASE_URL on Postgres (the shared job queue)")
        raise typer.Exit(code=2)

    async def work() -> None:
        services = await asyncio.to_thread(pipeline.open_services, settings)
        try:
            await run_worker(services)
        finally:
            services.close()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(work())


class RoleChoice(StrEnum):
    manager = "manager"
    hr = "hr"
    integrator = "integrator"
    admin = "admin"


@keys_app.command("create")
def keys_create(
    role: Annotated[RoleChoice, typer.Option(help="What the key may do.")],
    name: Annotated[str, typer.Option(help="Who or what uses the key.")] = "cli",
) -> None:
    """Create an API key and print it (once: only its hash is stored)."""
    settings = Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    key = SqlStore(settings.db_url).create_key(role.value, name)
    print(key)


@keys_app.command("revoke")
def keys_revoke(
    prefix: Annotated[str, typer.Argument(help="The key's first 12 characters, or its id from `triage keys list`.")],
) -> None:
    """Revoke a key by its prefix or id; it is refused from the next request on."""
    if not SqlStore(Settings().db_url).revoke_key(prefix):
        err.print("[red]error:[/red] no active key with that prefix or id")
        raise typer.Exit(code=1)
    console.print("revoked")


@keys_app.command("list")
def keys_list() -> None:
    """Every key: id, prefix, role, name, created, last used (to the minute), revoked. Never the key itself."""
    table = Table("id", "prefix", "role", "name", "created", "last used", "revoked")
    for k in SqlStore(Settings().db_url).list_keys():
        when = [t.strftime("%Y-%m-%d %H:%M") if t else "-" for t in (k.created_at, k.last_used_at, k.revoked_at)]
        table.add_row(str(k.id), k.prefix, k.role, k.name, *when)
    console.print(table)
