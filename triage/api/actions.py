"""Closing the loop: accept a suggested action, give it an owner, status and due date, follow it."""

from __future__ import annotations

import datetime as dt

from litestar import get, patch, post
from pydantic import BaseModel, ConfigDict, Field

from triage import pipeline
from triage.api.auth import READ_ALL, check_owner
from triage.errors import InvalidInput, NotFound
from triage.pipeline import Services
from triage.store.sql import KeyInfo
from triage.types import ActionStatus, TrackedAction

ROLES = ("manager", *READ_ALL)


class AcceptAction(BaseModel):
    model_config = ConfigDict(extra="forbid")

    run_id: str = Field(min_length=1, max_length=32)
    provider: str = Field(min_length=1, max_length=200)
    theme_id: str = Field(min_length=1, max_length=100)
    action_index: int = Field(ge=0, le=2, description="Which of the theme's suggested actions (0-based).")
    owner: str = Field(min_length=1, max_length=200)
    due_date: dt.date | None = None


class ActionUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})  # nothing to change is a 400

    status: ActionStatus | None = None
    owner: str | None = Field(None, min_length=1, max_length=200)
    due_date: dt.date | None = None


@post("/v1/actions", opt={"roles": ROLES}, status_code=201, sync_to_thread=True)
def accept_action(data: AcceptAction, services: Services, caller: KeyInfo) -> TrackedAction:
    """Accept one suggested action of a finished run; the next runs show how its theme moved."""
    if services.sql.run(data.run_id) is None:
        raise NotFound(f"run {data.run_id} not found")
    check_owner(caller, services.sql.run_owner(data.run_id), f"run {data.run_id}")
    return pipeline.accept_action(services, **data.model_dump(), created_by=caller.id)


@get("/v1/actions", opt={"roles": ROLES}, sync_to_thread=True)
def list_actions(
    services: Services, caller: KeyInfo, provider: str | None = None, status: ActionStatus | None = None
) -> list[TrackedAction]:
    """Accepted actions (managers see the ones they accepted)."""
    found = services.sql.actions(provider=provider, status=status)
    if caller.role == "manager":
        mine = {a.id for a in found if services.sql.action_owner(a.id) == caller.id}
        found = [a for a in found if a.id in mine]
    return found


@patch("/v1/actions/{action_id:int}", opt={"roles": ROLES}, sync_to_thread=True)
def update_action(action_id: int, data: ActionUpdate, services: Services, caller: KeyInfo) -> TrackedAction:
    """Change an accepted action's status, owner or due date."""
    if not services.sql.actions(action_id=action_id):
        raise NotFound(f"action {action_id} not found")
    check_owner(caller, services.sql.action_owner(action_id), f"action {action_id}")
    fields = data.model_dump(exclude_unset=True)
    if not fields:
        raise InvalidInput("nothing to change: send status, owner or due_date", field="body")
    if "due_date" in fields and fields["due_date"] is not None:
        fields["due_date"] = fields["due_date"].isoformat()
    services.sql.update_action(action_id, **fields)
    return services.sql.actions(action_id=action_id)[0]


ACTION_ROUTES = [accept_action, list_actions, update_action]
