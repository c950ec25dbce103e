"""The out-of-band rule: a person's state write while nobody holds the environment.

Terraform run from a laptop (a token without ``--ci``) changes a state while the environment
is free: signalbox places a work hold for that person, for a configured time, so the next CI
apply meets it. The forgotten lock becomes impossible to forget. A CI token's write, or a
write by the person who already holds the environment, places nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from signalbox.core.tfstate.decisions import live_hold
from signalbox.core.tfstate.model import StateKey
from signalbox.core.views import HoldView, Principal

__all__ = ["AutomaticHold", "automatic_hold"]


@dataclass(frozen=True, slots=True)
class AutomaticHold:
    """The work hold to place (the service asks ``core.holds.decide_hold`` to grant it)."""

    environment: str
    owner: Principal
    reason: str
    duration: timedelta


def automatic_hold(
    *,
    key: StateKey,
    writer: Principal,
    hold: HoldView | None,
    duration: timedelta,
    now: datetime,
) -> AutomaticHold | None:
    """The hold an accepted write of ``key`` places, or None (CI writer, or the environment
    is held)."""
    if writer.is_ci or duration <= timedelta(0) or live_hold(hold, now) is not None:
        return None
    reason = f"changed the {key.name} state from a workstation (automatic hold)"
    return AutomaticHold(
        environment=key.environment, owner=writer, reason=reason, duration=duration
    )
