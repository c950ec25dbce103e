"""The incident pages: the incidents a viewer may read, one incident with its timeline and
its postmortem draft, and the forms that post to it.

GET  /incidents                        open incidents first, then the recent resolved ones
GET  /incidents/{n}                    one incident: where it stands, the reservations at
                                       risk, its hotfix deploys, the timeline, the
                                       postmortem draft and its follow-up actions
GET  /incidents/{n}/postmortem.md      the draft as Markdown (the CLI's renderer)
POST /incidents/{n}/update             a status, an ETA, a note (hand-over, responders)
POST /incidents/{n}/resolve            resolve it
POST /incidents/{n}/reopen             open a resolved one again
POST /incidents/{n}/actions            add a follow-up action
POST /incidents/{n}/actions/{id}       set a follow-up action's status

Reading needs ``read`` on the incident's environment, every change ``open-incident``
there (developers and admins), exactly as ``api.routes.incidents`` and
``api.routes.postmortems`` check it; a hand-over or naming responders is further the
commander's or an admin's, which the service decides. The forms call the same services
as the API, and every POST is checked again whatever the page offered.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from signalbox.api.context import Server, server
from signalbox.api.longpoll import wake
from signalbox.core.durations import parse_duration
from signalbox.core.errors import SignalboxError
from signalbox.core.incidents import OPEN_STATUSES, ActionStatus
from signalbox.core.postmortem import DEFAULT_SINCE
from signalbox.core.postmortem_markdown import render_markdown
from signalbox.core.roles import Action
from signalbox.services import incidents
from signalbox.services.deploys.reads import list_deploys
from signalbox.services.incidents import actions
from signalbox.services.incidents.postmortem import draft_postmortem
from signalbox.services.status import environment_pictures
from signalbox.web.render import page
from signalbox.web.security import Posted, Viewer, posted, signed_in

__all__ = ["NOTICES", "RECENT_RESOLVED", "router"]

router = APIRouter(include_in_schema=False)

RECENT_RESOLVED = 30
"""How many resolved incidents the list shows below the open ones."""

MAX_HOTFIXES = 100
"""The most hotfix deploys an incident's page lists (the newest)."""

NOTICES: dict[str, str] = {
    "updated": "Your update is posted.",
    "resolved": "The incident is resolved: its environment is no longer frozen by it.",
    "reopened": "The incident is open again (investigating).",
    "action-added": "The follow-up action is added.",
    "action-set": "The follow-up action is updated.",
}
"""The notice of each ``?done=`` flag (the query's text is never shown)."""

_NAMES = re.compile(r"[\s,]+")


def _incident_page_values(context: Server, viewer: Viewer, incident_id: int) -> dict[str, Any]:
    """Everything the incident page shows, read in a worker thread; UnknownIncident (404)
    or Forbidden (403, without ``read`` on its environment) as the API answers."""
    found = incidents.get_incident(context.engine, incident_id)
    view = found.view
    environment = view.environment
    viewer.caller.require(Action.READ, environment)
    now = context.now()
    at_risk: tuple[Any, ...] = ()
    if view.is_open and environment in context.settings.environments:
        (picture,) = environment_pictures(
            context.engine, context.settings, names=[environment], now=now, cache=context.pictures
        )
        if picture.incident is not None and picture.incident.id == view.id:
            at_risk = picture.at_risk
    hotfixes = list_deploys(
        context.engine, environments=[environment], limit=MAX_HOTFIXES, hotfix_for=view.id
    )
    postmortem = draft_postmortem(context.state_store, incident_id=view.id, now=now)
    may_post = viewer.may(Action.OPEN_INCIDENT, environment)
    may_lead = may_post and (
        viewer.name == view.commander or viewer.may(Action.FORCE_RELEASE, environment)
    )
    return {
        "incident": found,
        "view": view,
        "tz": found.timezone,
        "at_risk": at_risk,
        "hotfixes": sorted(hotfixes, key=lambda deploy: deploy.id),
        "postmortem": postmortem,
        "may_post": may_post,
        "may_lead": may_lead,
        "statuses": [str(status) for status in OPEN_STATUSES],
        "action_statuses": [str(status) for status in ActionStatus],
    }


async def _incident_page(
    request: Request,
    context: Server,
    viewer: Viewer,
    incident_id: int,
    *,
    done: str = "",
    problem: SignalboxError | None = None,
    problem_in: str = "",
    entered: dict[str, str] | None = None,
) -> HTMLResponse:
    """The incident page; with ``problem``, the form ``problem_in`` shows it (its input
    ``entered`` kept) and the answer has the error's status."""
    values = await run_in_threadpool(_incident_page_values, context, viewer, incident_id)
    view = values["view"]
    return page(
        request,
        "incident.html",
        viewer=viewer,
        title=f"incident {view.id} on {view.environment}",
        notice=NOTICES.get(done, "") if problem is None else "",
        problem=problem,
        problem_in=problem_in,
        entered=entered or {},
        **values,
    )


def _listing(context: Server, viewer: Viewer) -> dict[str, Any]:
    """The incidents of the environments ``viewer`` may read: open, then recent resolved."""
    names = context.readable(viewer.caller)
    every = incidents.list_incidents(context.engine, environments=names, include_resolved=True)
    opened = [found for found in every if found.view.is_open]
    resolved = [found for found in every if not found.view.is_open]
    resolved.sort(key=lambda found: found.view.resolved_at or found.view.updated_at, reverse=True)
    return {
        "open_incidents": opened,
        "resolved_incidents": resolved[:RECENT_RESOLVED],
        "more_resolved": max(0, len(resolved) - RECENT_RESOLVED),
        "may_open": [name for name in names if viewer.may(Action.OPEN_INCIDENT, name)],
    }


@router.get("/incidents", response_class=HTMLResponse)
async def incident_list(
    request: Request, viewer: Viewer = Depends(signed_in), context: Server = Depends(server)
) -> HTMLResponse:
    values = await run_in_threadpool(_listing, context, viewer)
    return page(request, "incidents.html", viewer=viewer, title="Incidents", **values)


@router.get("/incidents/{incident_id}", response_class=HTMLResponse)
async def incident_page(
    request: Request,
    incident_id: int,
    done: str = "",
    viewer: Viewer = Depends(signed_in),
    context: Server = Depends(server),
) -> HTMLResponse:
    return await _incident_page(request, context, viewer, incident_id, done=done)


@router.get("/incidents/{incident_id}/postmortem.md")
async def postmortem_markdown(
    incident_id: int,
    since: str = Query("", description="How far before the opening to look: 6h, 1d."),
    viewer: Viewer = Depends(signed_in),
    context: Server = Depends(server),
) -> Response:
    """The draft as the CLI and ``GET /api/incidents/{n}/postmortem?format=markdown`` give
    it: the same service, the same renderer, the same grant (``read``)."""

    def drafted() -> str:
        environment = actions.incident_environment(context.engine, incident_id)
        viewer.caller.require(Action.READ, environment)
        window = parse_duration(since) if since else DEFAULT_SINCE
        found = draft_postmortem(
            context.state_store, incident_id=incident_id, now=context.now(), since=window
        )
        return render_markdown(found)

    text = await run_in_threadpool(drafted)
    filename = f"postmortem-incident-{incident_id}.md"
    return Response(
        text,
        media_type="text/markdown; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


def _changer_of(context: Server, viewer: Viewer, incident_id: int) -> str:
    """The incident's environment, once ``viewer`` may change incidents there (the API's
    ``_environment_of``: ``open-incident``); UnknownIncident or Forbidden otherwise."""
    environment = incidents.incident_environment(context.engine, incident_id)
    viewer.caller.require(Action.OPEN_INCIDENT, environment)
    return environment


def _done(incident_id: int, flag: str, anchor: str) -> RedirectResponse:
    return RedirectResponse(f"/incidents/{incident_id}?done={flag}#{anchor}", status_code=303)


async def _apply(
    request: Request,
    context: Server,
    viewer: Viewer,
    incident_id: int,
    change: Callable[[], object],
    *,
    form_name: str,
    entered: dict[str, str],
    wakes: str | None = None,
) -> HTMLResponse | None:
    """Run ``change`` (a service call) in a worker thread. Refused (a ``SignalboxError``):
    the incident page again, the form ``form_name`` saying why with ``entered`` kept, and
    the error's status; nothing changed. Done: wakes the gates waiting on ``wakes`` (an
    incident's changes decide what its environment's gates may do) and returns None."""
    try:
        await run_in_threadpool(change)
    except SignalboxError as error:
        return await _incident_page(
            request,
            context,
            viewer,
            incident_id,
            problem=error,
            problem_in=form_name,
            entered=entered,
        )
    if wakes is not None:
        wake(request, wakes)
    return None


@router.post("/incidents/{incident_id}/update")
async def post_update(
    request: Request,
    incident_id: int,
    form: Posted = Depends(posted),
    context: Server = Depends(server),
) -> Response:
    viewer = form.viewer
    environment = await run_in_threadpool(_changer_of, context, viewer, incident_id)
    entered = {
        name: form.text(name) for name in ("status", "eta", "note", "commander", "responders")
    }
    named = [name for name in _NAMES.split(entered["responders"]) if name]

    def update() -> None:
        incidents.update_incident(
            context.engine,
            incident_id=incident_id,
            caller=viewer.caller.principal,
            caller_is_admin=viewer.caller.may(Action.FORCE_RELEASE, environment),
            now=context.now(),
            status=entered["status"] or None,
            eta=entered["eta"] or None,
            note=entered["note"],
            commander=entered["commander"] or None,
            responders=named,
        )

    refused = await _apply(
        request,
        context,
        viewer,
        incident_id,
        update,
        form_name="update",
        entered=entered,
        wakes=environment,
    )
    return refused or _done(incident_id, "updated", "timeline")


async def _resolve_or_reopen(
    request: Request, incident_id: int, form: Posted, context: Server, *, reopen: bool
) -> Response:
    """Resolve the incident, or open a resolved one again, with the form's optional note."""
    viewer = form.viewer
    environment = await run_in_threadpool(_changer_of, context, viewer, incident_id)
    name = "reopen" if reopen else "resolve"
    caller, note = viewer.caller.principal, form.text("note")
    entered = {f"{name}_note": note}

    def change() -> None:
        if reopen:
            incidents.reopen_incident(
                context.engine,
                context.settings,
                incident_id=incident_id,
                caller=caller,
                now=context.now(),
                note=note,
            )
        else:
            incidents.resolve_incident(
                context.engine, incident_id=incident_id, caller=caller, now=context.now(), note=note
            )

    refused = await _apply(
        request,
        context,
        viewer,
        incident_id,
        change,
        form_name=name,
        entered=entered,
        wakes=environment,
    )
    return refused or _done(incident_id, "reopened" if reopen else "resolved", "timeline")


@router.post("/incidents/{incident_id}/resolve")
async def resolve(
    request: Request,
    incident_id: int,
    form: Posted = Depends(posted),
    context: Server = Depends(server),
) -> Response:
    return await _resolve_or_reopen(request, incident_id, form, context, reopen=False)


@router.post("/incidents/{incident_id}/reopen")
async def reopen(
    request: Request,
    incident_id: int,
    form: Posted = Depends(posted),
    context: Server = Depends(server),
) -> Response:
    return await _resolve_or_reopen(request, incident_id, form, context, reopen=True)


@router.post("/incidents/{incident_id}/actions")
async def add_action(
    request: Request,
    incident_id: int,
    form: Posted = Depends(posted),
    context: Server = Depends(server),
) -> Response:
    """Add a follow-up action: ``open-incident`` on the environment, as the API's."""
    viewer = form.viewer
    await run_in_threadpool(_changer_of, context, viewer, incident_id)
    entered = {name: form.text(name) for name in ("action_text", "action_owner", "action_due")}

    def added() -> None:
        actions.add_action(
            context.engine,
            incident_id=incident_id,
            text=entered["action_text"],
            owner=entered["action_owner"],
            due=entered["action_due"] or None,
            by=viewer.caller.principal,
            now=context.now(),
        )

    refused = await _apply(
        request, context, viewer, incident_id, added, form_name="action", entered=entered
    )
    return refused or _done(incident_id, "action-added", "actions")


@router.post("/incidents/{incident_id}/actions/{action_id}")
async def set_action(
    request: Request,
    incident_id: int,
    action_id: int,
    form: Posted = Depends(posted),
    context: Server = Depends(server),
) -> Response:
    """Set a follow-up action's status: ``open-incident`` on its incident's environment."""
    viewer = form.viewer

    def environment_of_action() -> str:
        environment = actions.action_environment(context.engine, action_id)
        viewer.caller.require(Action.OPEN_INCIDENT, environment)
        return environment

    await run_in_threadpool(environment_of_action)
    entered = {"action_id": str(action_id), "action_status": form.text("status")}

    def changed() -> int:
        return actions.set_action(
            context.engine,
            action_id=action_id,
            status=entered["action_status"],
            by=viewer.caller.principal,
            now=context.now(),
        ).view.incident_id

    try:
        owner = await run_in_threadpool(changed)
    except SignalboxError as error:
        return await _incident_page(
            request,
            context,
            viewer,
            incident_id,
            problem=error,
            problem_in=f"action-{action_id}",
            entered=entered,
        )
    return _done(owner, "action-set", "actions")
