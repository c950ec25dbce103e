"""Postmortems and follow-up actions.

``GET /api/incidents/{id}/postmortem`` drafts the postmortem from the event log (``format``
``json``, the default, or ``markdown``, answered as ``text/markdown``); reading it needs read
access to the incident's environment. Adding and updating actions needs ``open-incident``
there (developers and admins), as opening the incident does.
"""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from fastapi import APIRouter, Depends, Query, Response

from signalbox.api.auth import current_caller
from signalbox.api.context import Server, server
from signalbox.api.models.bounds import RowId, read_duration
from signalbox.api.models.postmortems import (
    ActionCreate,
    ActionListRead,
    ActionRead,
    ActionSet,
    PostmortemRead,
)
from signalbox.core.postmortem_markdown import render_markdown
from signalbox.core.roles import Action
from signalbox.services.incidents import actions
from signalbox.services.incidents.postmortem import draft_postmortem
from signalbox.services.tokens import Caller

router = APIRouter(prefix="/api", tags=["postmortems"])

_MARKDOWN: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The draft as JSON (the default) or, with ``format=markdown``, as "
        "GitHub-flavoured Markdown.",
        "content": {"text/markdown": {"schema": {"type": "string"}}},
    }
}


@router.get(
    "/incidents/{incident_id}/postmortem", response_model=PostmortemRead, responses=_MARKDOWN
)
def postmortem(
    incident_id: RowId,
    since: str = Query("6h", description="How far before the opening to look: 6h, 1d."),
    format: Literal["json", "markdown"] = Query("json", description="json or markdown."),
    caller: Caller = Depends(current_caller),
    context: Server = Depends(server),
) -> Response:
    """The incident's postmortem, drafted from what happened: summary, impact, the changes
    before the break, the timeline, the updates as posted, and the follow-up actions."""
    caller.require(Action.READ, actions.incident_environment(context.engine, incident_id))
    window = read_duration(since, field="since")
    drafted = draft_postmortem(
        context.state_store, incident_id=incident_id, now=context.now(), since=window
    )
    if format == "markdown":
        return Response(render_markdown(drafted), media_type="text/markdown; charset=utf-8")
    return Response(msgspec.json.encode(drafted), media_type="application/json")


@router.post("/incidents/{incident_id}/actions", status_code=201, response_model=ActionRead)
def add_action(
    incident_id: RowId,
    body: ActionCreate,
    caller: Caller = Depends(current_caller),
    context: Server = Depends(server),
) -> ActionRead:
    """Add a follow-up action (status ``proposed``) to the incident."""
    caller.require(Action.OPEN_INCIDENT, actions.incident_environment(context.engine, incident_id))
    added = actions.add_action(
        context.engine,
        incident_id=incident_id,
        text=body.text,
        owner=body.owner,
        due=body.due,
        by=caller.principal,
        now=context.now(),
    )
    return ActionRead.of(added)


@router.post("/actions/{action_id}", response_model=ActionRead)
def set_action(
    action_id: RowId,
    body: ActionSet,
    caller: Caller = Depends(current_caller),
    context: Server = Depends(server),
) -> ActionRead:
    """Set a follow-up action's status, with an optional note."""
    caller.require(Action.OPEN_INCIDENT, actions.action_environment(context.engine, action_id))
    updated = actions.set_action(
        context.engine,
        action_id=action_id,
        status=body.status,
        note=body.note,
        by=caller.principal,
        now=context.now(),
    )
    return ActionRead.of(updated)


@router.get("/actions", response_model=ActionListRead)
def list_actions(
    open: bool = Query(False, description="Only actions not done and not dropped."),
    incident: RowId | None = Query(None, description="Only this incident's actions."),
    caller: Caller = Depends(current_caller),
    context: Server = Depends(server),
) -> ActionListRead:
    """Follow-up actions of the incidents of the environments the caller may read."""
    if incident is not None:
        caller.require(Action.READ, actions.incident_environment(context.engine, incident))
    found = actions.list_actions(
        context.engine,
        now=context.now(),
        environments=context.readable(caller),
        incident_id=incident,
        open_only=open,
    )
    return ActionListRead(actions=[ActionRead.of(action) for action in found])
