"""The jobs the entry points run: ingest, analyse, report, triage one comment.

Layer 4: wires steps and adapters together; entry points (api, cli) import only this package.
"""

from triage.pipeline.analysis import analyze, start_run
from triage.pipeline.ingest import ingest_bytes, ingest_rows
from triage.pipeline.reports import accept_action, get_report, render_report
from triage.pipeline.services import Services, base_theme_model, open_services, run_model
from triage.pipeline.single import TriageQueue, triage_text, triage_texts, warm_up

__all__ = [
    "Services",
    "TriageQueue",
    "accept_action",
    "analyze",
    "base_theme_model",
    "get_report",
    "ingest_bytes",
    "ingest_rows",
    "open_services",
    "render_report",
    "run_model",
    "start_run",
    "triage_text",
    "triage_texts",
    "warm_up",
]
