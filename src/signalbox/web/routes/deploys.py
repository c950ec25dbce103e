"""A deploy and its approval: what a person opens from the gate's "needs approval" link.

GET  /deploys/{id}           who asked, what (commit, branch, pipeline), where it is in its
                             life, the plan's verdict and its findings grouped
                             (``core.plan.groups``), the ``moved`` blocks to add, and the
                             approval: given by whom, denied by whom and why, or awaited
                             from whom. Needs read on the deploy's environment.
POST /deploys/{id}/approve   an approver approves the plan; its waiting gate goes
POST /deploys/{id}/deny      an approver denies it, with a reason; its gate stops

The buttons are shown to whoever may decide: an approver of the environment (or, for a
hotfix, the commander of its open incident), not the deploy's requester unless
``allow_self_approval``, while the deploy waits for an approval. Every POST is checked again
as the API checks it (``api/routes/deploys.py``: the same grant test, the same services), and
wakes the environment's waiting gates the same way (``api.longpoll.wake``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from signalbox.api.context import Server, server
from signalbox.api.longpoll import wake
from signalbox.core.errors import SignalboxError
from signalbox.core.plan.groups import FindingGroup, group_findings
from signalbox.core.reasons import MAX_REASON_CHARS, check_reason
from signalbox.core.roles import Action
from signalbox.core.status import plan_summary
from signalbox.core.views import DeployState
from signalbox.services import deploys
from signalbox.services.deploys.approval_state import DeployFacts, deploy_facts
from signalbox.settings import Settings
from signalbox.web.render import page
from signalbox.web.security import Posted, Viewer, posted, signed_in

__all__ = ["DONE", "VERDICTS", "may_decide", "router"]

router = APIRouter(include_in_schema=False)

DONE = {
    "approved": "You approved this deploy. Its gate goes as soon as nothing else stops it.",
    "denied": "You denied this deploy. Its gate stops and tells the requester your reason.",
}
"""The notice after a decision (``?done=``), from this fixed table: the query is never shown."""

VERDICTS = {
    "routine": ("Routine", "Nothing in this plan needs an approval."),
    "needs-approval": (
        "Needs approval",
        "This plan changes something that is hard to undo; an approver must allow it.",
    ),
    "blocked": (
        "Blocked",
        "The environment's policy blocks this plan, and no approval can let it through.",
    ),
    "none": ("No plan", "The deploy came without a plan, so nobody knows what it changes."),
}
"""Each plan verdict in words (its colour on the page only repeats them)."""

SEVERITIES = {"critical": "Critical", "high": "High", "medium": "Medium", "low": "Low"}


def may_decide(viewer: Viewer, facts: DeployFacts, settings: Settings) -> bool:
    """Whether the page offers ``viewer`` Approve and Deny: the deploy waits for an
    approval, the viewer may give it (an approver, or the hotfix's commander) and did not
    ask for the deploy (unless ``allow_self_approval``). The server checks again on POST."""
    deploy = facts.deploy
    if not facts.awaiting or viewer.public:
        return False
    allowed = viewer.may(Action.APPROVE, deploy.environment) or (
        facts.commander == viewer.name and viewer.may(Action.READ, deploy.environment)
    )
    own = viewer.name in {deploy.requester, deploy.actor}
    return allowed and (not own or settings.allow_self_approval)


def _web_link(url: str) -> str:
    """``url`` when it is an http(s) link (a pipeline's run), else empty: never a
    ``javascript:`` or other scheme in an href."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    return url if parts.scheme in ("http", "https") and parts.netloc else ""


def _plans(analysis: dict[str, Any] | None) -> list[dict[str, Any]]:
    """Each plan of the stored analysis with its findings grouped (and its source and
    drift count, for a deploy that sent several plans)."""
    if not analysis:
        return []
    shown = []
    for plan in analysis.get("plans") or ():
        groups: list[FindingGroup] = group_findings(plan.get("findings") or ())
        shown.append(
            {
                "source": str(plan.get("source") or ""),
                "verdict": str(plan.get("verdict") or ""),
                "errored": bool(plan.get("errored")),
                "complete": plan.get("complete", True) is not False,
                "groups": groups,
                "findings": sum(len(group.items) for group in groups),
            }
        )
    return shown


def _counts(counts: Mapping[str, int]) -> str:
    """What the plan does by action, in words: ``1 to create, 2 to delete`` (or ``no
    changes``); the findings below name the addresses, in order."""
    said = ", ".join(f"{count} to {action}" for action, count in counts.items() if count)
    return said or "no changes"


def _status_words(deploy: deploys.Deploy) -> str:
    """The deploy's state in a sentence."""
    state = deploy.state
    if state == DeployState.QUEUED:
        return "Queued: waiting for its turn."
    if state == DeployState.AWAITING_APPROVAL:
        return "Awaiting approval."
    if state == DeployState.RUNNING:
        return "Running."
    if state == DeployState.SUCCEEDED:
        return "Succeeded."
    if state == DeployState.FAILED:
        lapsed = deploy.outcome == "lease-lapsed"
        return "Failed: its runner stopped reporting." if lapsed else "Failed."
    if state == DeployState.SUPERSEDED and deploy.superseded_by is not None:
        return f"Superseded by deploy {deploy.superseded_by}."
    return state.replace("-", " ").capitalize() + "."


async def _deploy_page(
    request: Request,
    viewer: Viewer,
    context: Server,
    deploy_id: int,
    *,
    done: str = "",
    problem: SignalboxError | None = None,
    deny_reason: str = "",
    approve_reason: str = "",
) -> HTMLResponse:
    facts = await run_in_threadpool(
        deploy_facts, context.engine, context.settings, deploy_id, now=context.now()
    )
    deploy = facts.deploy
    viewer.caller.require(Action.READ, deploy.environment)
    verdict = VERDICTS.get(deploy.plan_verdict, (deploy.plan_verdict, ""))
    summary = plan_summary(deploy.plan_verdict, deploy.analysis)
    return page(
        request,
        "deploy.html",
        viewer=viewer,
        title=f"deploy {deploy.id} to {deploy.environment}",
        deploy=deploy,
        facts=facts,
        tz=context.timezone(deploy.environment),
        run_url=_web_link(deploy.run_url),
        state_words=_status_words(deploy),
        verdict_label=verdict[0],
        verdict_words=verdict[1],
        counts=_counts(summary.counts) if summary is not None else "",
        plans=_plans(deploy.analysis),
        severities=SEVERITIES,
        may_decide=may_decide(viewer, facts, context.settings),
        notice=DONE.get(done, ""),
        problem=problem,
        deny_reason=deny_reason,
        approve_reason=approve_reason,
        max_reason=MAX_REASON_CHARS,
    )


@router.get("/deploys/{deploy_id}", response_class=HTMLResponse)
async def deploy_page(
    deploy_id: int,
    request: Request,
    done: str = "",
    viewer: Viewer = Depends(signed_in),
    context: Server = Depends(server),
) -> HTMLResponse:
    return await _deploy_page(request, viewer, context, deploy_id, done=done)


async def _decide(
    request: Request, deploy_id: int, form: Posted, context: Server, *, approve: bool
) -> Response:
    """Approve or deny as ``POST /api/deploys/{id}/approve|deny`` does: the same grant test,
    the same service, the same wake-up of the environment's waiting gates."""
    caller = form.viewer.caller
    reason = form.text("reason")
    deploy = await run_in_threadpool(deploys.get_deploy, context.engine, deploy_id=deploy_id)
    caller.require(Action.READ, deploy.environment)  # not even the page: the error page
    try:
        approver_role = deploys.decides_as_approver(caller, deploy)
        if not approve:
            check_reason(
                reason,
                missing="A denial needs a reason; the requester will read it.",
                hint="Write why in the reason field, then deny again.",
            )
        await run_in_threadpool(
            deploys.approve_deploy if approve else deploys.deny_deploy,
            context.engine,
            context.settings,
            now=context.now(),
            deploy_id=deploy_id,
            approver=caller.principal,
            reason=reason,
            approver_role=approver_role,
        )
    except SignalboxError as error:
        kept = {"approve_reason": reason} if approve else {"deny_reason": reason}
        return await _deploy_page(
            request,
            form.viewer,
            context,
            deploy_id,
            problem=error,
            **kept,
        )
    wake(request, deploy.environment)
    done = "approved" if approve else "denied"
    return RedirectResponse(f"/deploys/{deploy_id}?done={done}", status_code=303)


@router.post("/deploys/{deploy_id}/approve")
async def approve(
    deploy_id: int,
    request: Request,
    form: Posted = Depends(posted),
    context: Server = Depends(server),
) -> Response:
    return await _decide(request, deploy_id, form, context, approve=True)


@router.post("/deploys/{deploy_id}/deny")
async def deny(
    deploy_id: int,
    request: Request,
    form: Posted = Depends(posted),
    context: Server = Depends(server),
) -> Response:
    return await _decide(request, deploy_id, form, context, approve=False)
