"""Reports of finished runs, and the actions accepted from them."""

from __future__ import annotations

import datetime as dt

from triage.errors import Conflict, InvalidInput, NotFound
from triage.pipeline.services import Services
from triage.report.audit import audited
from triage.report.render import render
from triage.types import (
    Report,
    TrackedAction,
)


def get_report(services: Services, run_id: str) -> Report:
    status = services.sql.run(run_id)
    if status is None:
        raise NotFound(f"run {run_id} not found")
    if status.status != "succeeded":
        raise Conflict(f"run {run_id} is {status.status}; its report is not ready")
    data = services.sql.run_report(run_id)
    assert data is not None
    return audited(Report.model_validate(data))  # a report stored before the output audit existed gets it now


def accept_action(
    services: Services,
    *,
    run_id: str,
    provider: str,
    theme_id: str,
    action_index: int,
    owner: str,
    due_date: dt.date | None,
    created_by: int | None,
) -> TrackedAction:
    """Accept one suggested action of a report, with an owner and due date, to follow it across runs."""
    report = get_report(services, run_id)
    section = next((p for p in report.providers if p.provider == provider), None)
    theme = next((t for t in section.themes if t.id == theme_id), None) if section else None
    if theme is None:
        raise NotFound(f"run {run_id} shows no theme {theme_id!r} for provider {provider!r}")
    if not 0 <= action_index < len(theme.actions):
        raise InvalidInput(f"action_index must be 0..{len(theme.actions) - 1}", field="action_index")
    action_id = services.sql.add_action(
        {
            "run_id": run_id,
            "provider": provider,
            "theme_id": theme_id,
            "text": theme.actions[action_index].text,
            "share_then": theme.share,
            "owner": owner,
            "due_date": due_date.isoformat() if due_date else None,
            "created_by": created_by,
        }
    )
    return services.sql.actions(action_id=action_id)[0]


def render_report(services: Services, run_id: str, fmt: str) -> str:
    return render(get_report(services, run_id), fmt)
