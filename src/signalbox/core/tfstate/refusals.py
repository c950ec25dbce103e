"""The words of a refusal, built once for Terraform's output and for people.

Terraform 1.0.3 prints only ``ID=<id>`` from the 423 body, Terraform 1.15.5 prints the whole
lock info. So the refusal's lock body carries a short explanation in ``ID``, e.g.
``held by platform-eng: renaming cognito pool (until 17:00) - signalbox release dev``, and
the full sentence in ``Info``. Times are shown in the environment's time zone.
"""

from __future__ import annotations

from datetime import datetime, tzinfo

from signalbox.core.tfstate.lockinfo import LockInfo
from signalbox.core.tfstate.model import Refusal, RefusalCause, StateKey, TerraformLock
from signalbox.core.views import HoldKind, HoldView, Principal, ReservationView

__all__ = [
    "clock",
    "frozen_refusal",
    "held_refusal",
    "locked_refusal",
    "not_locked_refusal",
    "reserved_refusal",
]

SIGNALBOX_VERSION_TAG = "signalbox"


def clock(moment: datetime, *, now: datetime, tz: tzinfo) -> str:
    """``17:00`` on the same local day as ``now``, else ``Nov 27 17:00``."""
    local, today = moment.astimezone(tz), now.astimezone(tz)
    if local.date() == today.date():
        return local.strftime("%H:%M")
    return local.strftime("%b %d %H:%M")


def _zone(moment: datetime, tz: tzinfo) -> str:
    return moment.astimezone(tz).strftime("%Z")


def _signalbox_lock(
    short: str, sentence: str, *, operation: str, who: str, key: StateKey, created: str = ""
) -> LockInfo:
    """The lock JSON of a refusal signalbox itself stands behind (hold, window, freeze):
    ``short`` in ID (all Terraform 1.0.3 prints), the whole ``sentence`` in Info."""
    return LockInfo(
        id=short,
        operation=operation,
        info=sentence,
        who=who,
        version=SIGNALBOX_VERSION_TAG,
        created=created,
        path=key.label,
    )


def held_refusal(hold: HoldView, *, key: StateKey, now: datetime, tz: tzinfo) -> Refusal:
    """The environment is held by someone else (a work hold, or another CI job's deploy)."""
    env, owner = hold.environment, hold.owner.name
    until = clock(hold.until, now=now, tz=tz)
    what = f"deploy {hold.deploy_id}" if hold.kind is HoldKind.DEPLOY and hold.deploy_id else ""
    reason = hold.reason or what or "no reason given"
    short = f"held by {owner}: {reason} (until {until}) - signalbox release {env}"
    sentence = (
        f"{env} is held by {owner} since {clock(hold.since, now=now, tz=tz)} until {until} "
        f"{_zone(hold.until, tz)}: {reason}. Ask {owner}, or wait for `signalbox release {env}`."
    )
    operation = f"signalbox {hold.kind.value} hold"
    created = hold.since.isoformat()
    body = _signalbox_lock(
        short, sentence, operation=operation, who=owner, key=key, created=created
    )
    return Refusal(RefusalCause.HELD, sentence, whom=owner, until=hold.until, lock_body=body)


def locked_refusal(lock: TerraformLock, *, key: StateKey, now: datetime, tz: tzinfo) -> Refusal:
    """Another Terraform run holds the state's lock."""
    owner, info = lock.owner.name, lock.info
    since = clock(lock.created, now=now, tz=tz)
    operation = info.operation or "a Terraform operation"
    short = (
        f"locked by {owner}: {operation} since {since} (lock {info.id}) - "
        f"terraform force-unlock by {owner} or an admin"
    )
    sentence = (
        f"{key.label} is locked by {owner} ({info.who or 'unknown host'}) for {operation} since "
        f"{since} {_zone(lock.created, tz)}. Wait for it to finish; if it died, {owner} or an "
        f"admin can run `terraform force-unlock {info.id}`."
    )
    body = LockInfo(
        id=short,
        operation=info.operation,
        info=sentence,
        who=info.who or owner,
        version=info.version,
        created=info.created,
        path=info.path or key.label,
    )
    return Refusal(RefusalCause.LOCKED, sentence, whom=owner, lock_body=body)


def reserved_refusal(
    window: ReservationView, *, key: StateKey, now: datetime, tz: tzinfo
) -> Refusal:
    """An apply inside a reservation or freeze window; plans still run."""
    env, owner = window.environment, window.owner
    starts, ends = clock(window.starts, now=now, tz=tz), clock(window.ends, now=now, tz=tz)
    kind = "frozen for" if window.kind == "freeze" else f"reserved by {owner} for"
    short = f"{kind} {window.reason} ({starts}-{ends}) - apply after {ends}"
    sentence = (
        f"{env} is {kind} {window.reason!s} from {starts} to {ends} {_zone(window.ends, tz)}: "
        f"applies wait until it ends (plans still run). Ask {owner} if it cannot wait."
    )
    operation, created = f"signalbox {window.kind}", window.starts.isoformat()
    body = _signalbox_lock(
        short, sentence, operation=operation, who=owner, key=key, created=created
    )
    return Refusal(RefusalCause.RESERVED, sentence, whom=owner, until=window.ends, lock_body=body)


def frozen_refusal(reason: str, *, key: StateKey) -> Refusal:
    """An apply while an incident freezes the environment, by someone who does not hold it."""
    environment, why = key.environment, reason or "an open incident"
    short = f"frozen: {why} - only the incident's hotfix deploy may apply"
    sentence = (
        f"{environment} is frozen by {why}: only the hotfix deploy that holds {environment} "
        f"may apply. Follow the incident, or deploy through `signalbox gate --hotfix`."
    )
    body = _signalbox_lock(short, sentence, operation="signalbox freeze", who="signalbox", key=key)
    return Refusal(RefusalCause.FROZEN, sentence, lock_body=body)


def not_locked_refusal(
    hold: HoldView | None, requester: Principal, *, key: StateKey, now: datetime, tz: tzinfo
) -> Refusal:
    """``terraform force-unlock`` of a state no Terraform run has locked: say what is true.
    With a live ``hold`` on the environment, name it and the command that ends it (a hold is
    not a Terraform lock); without one, there is nothing to unlock."""
    env = key.environment
    if hold is None:
        return Refusal(
            RefusalCause.NOT_LOCKED,
            f"{key.label} is not locked by Terraform and {env} is not held: there is nothing "
            "to unlock, and nothing was changed.",
        )
    owner = hold.owner.name
    reason = hold.reason or "no reason given"
    if owner == requester.name:
        way_out = f"End your hold with `signalbox release {env}`."
    else:
        way_out = (
            f"Ask {owner}, or an admin can end the hold with "
            f'`signalbox force-release {env} --reason "..."`.'
        )
    until = f"{clock(hold.until, now=now, tz=tz)} {_zone(hold.until, tz)}"
    sentence = (
        f"{env} is held by {owner} ({reason}, until {until}), not locked by Terraform: "
        f"`terraform force-unlock` cannot end a hold, and nothing was changed. {way_out}"
    )
    return Refusal(RefusalCause.HELD, sentence, whom=owner, until=hold.until)
