"""The hold rule: who may hold an environment, in one place, as pure functions.

``decide_hold(current, request, last_token=, now=)``:
- the same owner (same kind, same deploy) with a live hold renews it: same fencing token,
  a new ``until``;
- another live owner: ``Denied`` naming the holder, the reason, since and until;
- free or lapsed (``until <= now``): ``Granted`` with ``fencing_token = last_token + 1``, so
  tokens never repeat and never go back, whatever lapsed or was released in between.

A refusal is a value (``Denied``), not an exception. Renewing or releasing a hold you do not
hold is a mistake of the caller and raises (``NotHolder``, ``StaleFencingToken``).
Times in messages are UTC ISO; services re-render them in the environment's time zone.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from signalbox.core.durations import format_duration
from signalbox.core.errors import InvalidInput, NotHolder, StaleFencingToken
from signalbox.core.reasons import MAX_REASON_CHARS, check_reason
from signalbox.core.times import format_for
from signalbox.core.views import HoldKind, HoldView, Principal

__all__ = [
    "MAX_HOLD",
    "MAX_REASON_CHARS",
    "Denied",
    "Granted",
    "HoldRequest",
    "decide_hold",
    "decide_release",
    "decide_renew",
    "describe_holder",
    "is_live",
    "validate_request",
]

MAX_HOLD = timedelta(days=14)


@dataclass(frozen=True, slots=True)
class HoldRequest:
    environment: str
    owner: Principal
    kind: HoldKind
    reason: str
    duration: timedelta
    deploy_id: int | None = None


@dataclass(frozen=True, slots=True)
class Granted:
    """The hold now in force; ``renewed`` when it was the caller's own live hold."""

    hold: HoldView
    renewed: bool
    lapsed: HoldView | None = None  # the previous, lapsed hold this grant replaces


@dataclass(frozen=True, slots=True)
class Denied:
    """Someone else holds the environment; ``reason`` is a full sentence naming them."""

    holder: HoldView
    reason: str


def is_live(hold: HoldView | None, now: datetime) -> bool:
    return hold is not None and hold.until > now


def describe_holder(
    hold: HoldView, *, timezone: str | None = None, now: datetime | None = None
) -> str:
    """``dev is held by platform-eng since ... until ...: renaming cognito pool.``, the times
    in the environment's ``timezone`` as of ``now`` (UTC ISO without them)."""
    what = "a deploy by " if hold.kind is HoldKind.DEPLOY else ""
    by = f"{what}{hold.owner.name}"
    zone = timezone if now is not None else None
    at = now or hold.since
    return (
        f"{hold.environment} is held by {by} since {format_for(hold.since, zone, now=at)} "
        f"until {format_for(hold.until, zone, now=at)}: {hold.reason}."
    )


def validate_request(request: HoldRequest) -> None:
    """A hold needs a reason (people must know why) and a sensible lease."""
    check_reason(
        request.reason,
        missing="A hold needs a reason, so that others know why.",
        hint='Add --reason "what you are doing".',
    )
    if request.duration <= timedelta(0) or request.duration > MAX_HOLD:
        raise InvalidInput(
            f"A hold lasts more than 0s and at most {format_duration(MAX_HOLD)}, "
            f"not {format_duration(request.duration)}.",
            hint="Use --for with a duration such as 30m or 4h, and renew when you need more.",
            field="duration",
        )


def _same_claim(hold: HoldView, request: HoldRequest) -> bool:
    return (
        hold.owner.name == request.owner.name
        and hold.kind is request.kind
        and hold.deploy_id == request.deploy_id
    )


def decide_hold(
    current: HoldView | None, request: HoldRequest, *, last_token: int, now: datetime
) -> Granted | Denied:
    """Grant, renew or deny ``request`` given the environment's ``current`` hold."""
    validate_request(request)
    if current is not None and is_live(current, now):
        if _same_claim(current, request):
            renewed = replace(current, until=now + request.duration, reason=request.reason)
            return Granted(hold=renewed, renewed=True)
        return Denied(holder=current, reason=describe_holder(current))
    hold = HoldView(
        environment=request.environment,
        owner=request.owner,
        kind=request.kind,
        reason=request.reason,
        since=now,
        until=now + request.duration,
        fencing_token=last_token + 1,
        deploy_id=request.deploy_id,
    )
    return Granted(hold=hold, renewed=False, lapsed=current)


def _check_holder(
    current: HoldView | None,
    owner: Principal,
    environment: str,
    fencing_token: int | None,
    now: datetime,
    timezone: str | None = None,
) -> HoldView:
    if current is None:
        raise NotHolder(
            f"{environment} is not held.",
            hint=f"Hold it: signalbox hold {environment} --reason TEXT.",
            environment=environment,
        )
    if current.owner.name != owner.name:
        raise NotHolder(
            f"You do not hold {environment}: "
            f"{describe_holder(current, timezone=timezone, now=now)}",
            hint=f"Ask {current.owner.name}, or an admin can force-release it.",
            environment=environment,
            holder=current.owner.name,
        )
    if not is_live(current, now):
        raise NotHolder(
            f"Your hold on {environment} lapsed at {format_for(current.until, timezone, now=now)}.",
            hint=f"Hold it again: signalbox hold {environment} --reason TEXT.",
            environment=environment,
        )
    if fencing_token is not None and fencing_token != current.fencing_token:
        raise StaleFencingToken(
            f"Fencing token {fencing_token} is not the current one for {environment} "
            f"(it is {current.fencing_token}): your hold was lost and granted again since.",
            hint="Stop writing with the old token; hold the environment again.",
            environment=environment,
            current=current.fencing_token,
            given=fencing_token,
        )
    return current


def decide_renew(
    current: HoldView | None,
    *,
    owner: Principal,
    environment: str,
    duration: timedelta,
    now: datetime,
    fencing_token: int | None = None,
    timezone: str | None = None,
) -> HoldView:
    """The renewed hold (same token, ``until = now + duration``); raises if not the holder
    (times in the message in the environment's ``timezone``)."""
    hold = _check_holder(current, owner, environment, fencing_token, now, timezone)
    validate_request(HoldRequest(environment, owner, hold.kind, hold.reason, duration))
    return replace(hold, until=now + duration)


def decide_release(
    current: HoldView | None,
    *,
    owner: Principal,
    environment: str,
    now: datetime,
    fencing_token: int | None = None,
    timezone: str | None = None,
) -> HoldView:
    """The hold that ``owner`` may release now; raises NotHolder/StaleFencingToken if not
    (times in the message in the environment's ``timezone``)."""
    return _check_holder(current, owner, environment, fencing_token, now, timezone)
