"""The out-of-band rule: a person's state write while nobody holds the environment.

Terraform run from a laptop (a token without ``--ci``) changes a state while the environment
is free: signalbox places a work hold for that person, for a configured time, so the next CI
apply meets it. The forgotten lock becomes impossible to forget. A CI token's write, or a
write by the person who already holds the environment, places nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from signalbox.core.tfstate.decisions import live_hold
from signalbox.core.tfstate.refusals import clock
from signalbox.core.views import HoldView, Principal

__all__ = ["AutomaticHold", "automatic_hold", "automatic_hold_message"]


@dataclass(frozen=True, slots=True)
class AutomaticHold:
    """The work hold to place (the service asks ``core.holds.decide_hold`` to grant it)."""

    environment: str
    owner: Principal
    reason: str
    duration: timedelta


def automatic_hold(
    *,
    environment: str,
    state: str,
    writer: Principal,
    hold: HoldView | None,
    duration: timedelta,
    now: datetime,
) -> AutomaticHold | None:
    """The hold an accepted write places, or None (CI writer, or the environment is held)."""
    if writer.is_ci or duration <= timedelta(0) or live_hold(hold, now) is not None:
        return None
    reason = f"changed the {state} state from a workstation (automatic hold)"
    return AutomaticHold(environment=environment, owner=writer, reason=reason, duration=duration)


def automatic_hold_message(
    environment: str, owner: str, until: datetime, *, now: datetime, tz: tzinfo
) -> str:
    """The event text, e.g. "platform-eng changed dev's state from a workstation; dev is
    held for platform-eng until 17:05"."""
    return (
        f"{owner} changed {environment}'s state from a workstation; {environment} is held "
        f"for {owner} until {clock(until, now=now, tz=tz)}"
    )
