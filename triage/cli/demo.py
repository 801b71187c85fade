"""`triage demo`: the README's first command after installation."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from triage import pipeline
from triage.config import PROJECT_ROOT, Settings
from triage.errors import TriageError
from triage.report.render import FORMATS

console = Console()
EXAMPLE = PROJECT_ROOT / "examples" / "survey.csv"


def demo(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    survey: Annotated[Path, typer.Option(exists=True, dir_okay=False, help="Survey file to load.")] = EXAMPLE,
    serve: Annotated[bool, typer.Option(help="Start the API server at the end.")] = True,
) -> None:
    """Load and analyse the example survey, write its report, create a local key, then serve the API."""
    from triage.cli.main import print_ingest, run_analysis

    settings = Settings()
    try:
        services = pipeline.open_services(settings)
        ingested = pipeline.ingest_bytes(services, survey.read_bytes(), survey.name, name="example-survey")
        print_ingest(ingested, limit=5)
        run_id = run_analysis(services, ingested.id)
        reports_dir = settings.data_dir / "reports"
        reports_dir.mkdir(parents=True, exist_ok=True)
        for fmt in FORMATS:
            (reports_dir / f"{run_id}.{fmt}").write_text(
                pipeline.render_report(services, run_id, fmt), encoding="utf-8"
            )
        key = services.sql.create_key("admin", "demo")
        key_file = settings.data_dir / "demo-admin.key"
        key_file.write_text(key + "\n", encoding="utf-8")
        key_file.chmod(0o600)
    except TriageError as exc:
        console.print(f"[red]error:[/red] {exc.detail}")
        raise typer.Exit(code=1) from exc
    base = f"http://{host}:{port}"
    data_dir = settings.data_dir.resolve()
    console.print(
        f"""
[bold green]Example survey analysed.[/bold green]
  report page        {base}/login?next=/reports/{run_id}   (sign in with the key below)
  report (Markdown)  {data_dir / "reports" / f"{run_id}.md"}   (also .json and .csv beside it)
  report (API)       curl -H "X-API-Key: $(cat {key_file.resolve()})" "{base}/v1/reports/{run_id}?format=md"
  API docs           {base}/schema   (Swagger UI: {base}/schema/swagger)
  local admin key    {key}   (saved in {key_file.resolve()})
  try triage         curl -H "X-API-Key: $(cat {key_file.resolve()})" -H 'Content-Type: application/json' \\
                       -d '{{"text": "Still waiting three weeks for my laptop"}}' {base}/v1/triage
"""
    )
    services.close()
    if serve:
        import uvicorn

        from triage.api.app import create_app

        console.print(f"serving on {base} (Ctrl+C to stop)")
        uvicorn.run(create_app(settings), host=host, port=port, log_level="warning")
