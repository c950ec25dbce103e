"""Notifications: how the targets fare and which messages failed (anyone, for the
environments they may read), and, for admins, sending again and a test message.

    GET  /api/notifications?failed=true&target=NAME&limit=50&before=ID
    POST /api/notifications/{delivery_id}/retry          (admin:*)
    POST /api/notifications/targets/{name}/retry         (admin:*)
    POST /api/notify/{name}/test                         (admin:*)

Targets are named, never shown by URL: the server holds the URLs and sends the test itself.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from starlette.concurrency import run_in_threadpool

from signalbox.api.auth import current_caller
from signalbox.api.context import Server, server
from signalbox.api.models.bounds import RowId
from signalbox.api.models.notifications import (
    DeliveryRead,
    NotificationsRead,
    RetriedRead,
    TargetRead,
    TargetRetriedRead,
    TestSentRead,
)
from signalbox.core.roles import ANY_ENVIRONMENT, Action
from signalbox.services.notify import admin
from signalbox.services.notify.targets import Sent
from signalbox.services.tokens import Caller

__all__ = ["router"]

router = APIRouter(tags=["notifications"])

MAX_PAGES = 10
"""How many pages of deliveries one listing reads at most to fill ``limit`` with ones the
caller may see (the rest come with ``next_before``)."""


def notifications_admin(caller: Caller = Depends(current_caller)) -> Caller:
    """The caller, if it may manage notifications (``admin:*``); Forbidden (403) naming the
    grant if not."""
    caller.require(Action.MANAGE_NOTIFICATIONS, None)
    return caller


def _visible(status: admin.TargetStatus, caller: Caller, everything: bool) -> bool:
    """A target is shown to whoever may read one of its environments (a configured target
    of every environment: to everyone); one no longer configured, to readers of ``*``."""
    if not status.configured:
        return everything
    if status.environments is None:
        return True
    return everything or any(caller.may(Action.READ, name) for name in status.environments)


def _gave_up(status: admin.TargetStatus) -> bool:
    return status.health is not None and status.health.given_up > 0


def _zone(context: Server, environment: str | None) -> str:
    return context.timezone(environment) if environment else "UTC"


def _poke(context: Server) -> None:
    if context.notifier is not None:
        context.notifier.poke()


@router.get("/api/notifications", response_model=NotificationsRead)
def notifications(
    failed: bool = Query(False, description="Only failing targets and failed deliveries."),
    target: str | None = Query(None, description="Only this target."),
    limit: int = Query(50, ge=1, le=admin.MAX_LISTED),
    before: RowId | None = Query(None, description="Only deliveries older than this id."),
    caller: Caller = Depends(current_caller),
    context: Server = Depends(server),
) -> NotificationsRead:
    """The targets (how each fares: open and given-up deliveries, whether its queue is
    failing and why) and the deliveries, newest first, of the events of environments the
    caller may read (global events need read on ``*``)."""
    everything = caller.may(Action.READ, ANY_ENVIRONMENT)

    def readable(environment: str | None) -> bool:
        return everything if environment is None else caller.may(Action.READ, environment)

    statuses = admin.target_statuses(context.engine, context.targets)
    if target is not None and target not in {status.name for status in statuses}:
        admin.require_target(context.targets, target)  # UnknownTarget naming the configured
    shown = [
        status
        for status in statuses
        if (target is None or status.name == target)
        and (not failed or status.failing or _gave_up(status))
        and _visible(status, caller, everything)
    ]
    deliveries: list[DeliveryRead] = []
    cursor, exhausted = before, False
    for _page in range(MAX_PAGES):
        page = admin.list_deliveries(
            context.engine, failed_only=failed, target=target, limit=limit, before_id=cursor
        )
        for found in page:
            cursor = found.delivery.id
            if readable(found.event.environment):
                deliveries.append(DeliveryRead.of(found, _zone(context, found.event.environment)))
                if len(deliveries) == limit:
                    break
        if len(deliveries) == limit:
            break
        if len(page) < limit:
            exhausted = True
            break
    return NotificationsRead(
        timezone=context.settings.timezone,
        targets=[TargetRead.of(status) for status in shown],
        deliveries=deliveries,
        next_before=None if exhausted else cursor,
    )


@router.post("/api/notifications/targets/{name}/retry", response_model=TargetRetriedRead)
def retry_target(
    name: str,
    caller: Caller = Depends(notifications_admin),
    context: Server = Depends(server),
) -> TargetRetriedRead:
    """Queue every failed and given-up delivery of target ``name`` again, due now."""
    requeued = admin.retry_target(context.engine, context.targets, name, now=context.now())
    _poke(context)
    return TargetRetriedRead(target=name, requeued=requeued)


@router.post("/api/notifications/{delivery_id}/retry", response_model=RetriedRead)
def retry_delivery(
    delivery_id: RowId,
    caller: Caller = Depends(notifications_admin),
    context: Server = Depends(server),
) -> RetriedRead:
    """Send delivery ``delivery_id`` again (whatever its state, unless it is being sent
    now: 409 ``delivery-sending``), due now, its attempts counted afresh."""
    again = admin.retry_delivery(context.engine, delivery_id, now=context.now())
    _poke(context)
    return RetriedRead(delivery=DeliveryRead.of(again, _zone(context, again.event.environment)))


@router.post("/api/notify/{name}/test", response_model=TestSentRead)
async def test_target(
    name: str,
    caller: Caller = Depends(notifications_admin),
    context: Server = Depends(server),
) -> TestSentRead:
    """Send a test message through target ``name`` now and answer what Apprise said
    (``sent`` false when the target did not take it); 404 ``unknown-target`` naming the
    configured targets."""
    admin.require_target(context.targets, name)

    def send() -> Sent:
        return admin.send_test(
            context.targets,
            name,
            base_url=context.settings.base_url,
            actor=caller.principal.name,
        )

    sent = await run_in_threadpool(send)
    return TestSentRead(target=name, sent=sent.ok, answer=sent.answer)
