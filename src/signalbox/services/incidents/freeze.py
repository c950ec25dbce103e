"""What an incident does to its environment, inside the caller's unit of work (which has
locked the environment and written the incident's row):

- ``freeze``: a freezing incident opens (or is reopened). The live WORK hold of someone
  outside the incident's team is suspended (closed, ``suspended_by`` the incident, with
  ``hold.suspended``): a person's hold must not stop the fix, and must not be lost either.
  A DEPLOY hold is left alone: a running deploy is not killed, the hotfix waits for it.
  Then every waiting deploy that is not the incident's hotfix is refused, in this same
  transaction, through the gate's own decision (``core.gate.decide_gate`` says ``frozen``),
  so that each waiting gate exits at once and frees its runner.
- ``mark_at_risk``: the reservations the incident puts at risk (``core.incidents.at_risk``)
  that were not told yet get ``reservation.at-risk``, once each per incident.
- ``return_holds``: on resolve, each hold the incident suspended comes back as a new grant
  (a new fencing token: whatever the holder did before may be stale) when its lease has not
  run out and nobody else holds the environment; otherwise it ends: as lapsed when its lease
  ran out, or force-released by signalbox, saying who holds the environment now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from signalbox.core.events import (
    HoldForceReleased,
    HoldLapsed,
    HoldReturned,
    HoldSuspended,
    ReservationAtRisk,
)
from signalbox.core.gate import RefusalReason, Refused, decide_gate
from signalbox.core.incidents import IncidentView, at_risk
from signalbox.core.queue import WAITING_STATES
from signalbox.core.views import HoldKind, HoldView
from signalbox.services.deploys.outcomes import refuse
from signalbox.services.deploys.snapshot import load_snapshot
from signalbox.services.events import emit
from signalbox.services.holds import record_hold_event
from signalbox.services.incidents.reads import Effects
from signalbox.settings import Settings
from signalbox.storage.repositories import hold_view
from signalbox.storage.repositories.deploys import DeployRepository
from signalbox.storage.repositories.incidents import incident_view
from signalbox.storage.repositories.reservations import ReservationRepository, reservation_view
from signalbox.storage.tables import EnvironmentRow, HoldRow, IncidentRow
from signalbox.storage.uow import UnitOfWork

__all__ = ["Frozen", "Returned", "freeze", "mark_at_risk", "return_holds", "take_effect"]

SIGNALBOX = "signalbox"


@dataclass(frozen=True, slots=True)
class Frozen:
    """What ``freeze`` did: the owners of the holds suspended, the deploys refused."""

    suspended_holds: tuple[str, ...] = ()
    refused_deploys: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Returned:
    """What ``return_holds`` did: the owners whose holds came back, and whose lapsed."""

    returned: tuple[str, ...] = ()
    lapsed: tuple[str, ...] = ()


def freeze(
    uow: UnitOfWork,
    settings: Settings,
    incident: IncidentRow,
    env: EnvironmentRow,
    *,
    now: datetime,
) -> Frozen:
    """Suspend the holds of people outside ``incident``'s team and refuse the waiting deploys
    that are not its hotfix (the incident is open, freezing, and flushed)."""
    view = incident_view(incident)
    suspended = _suspend_hold(uow, view, now=now)
    snapshot = load_snapshot(uow, settings, env.name, timezone=env.timezone, now=now)
    rows = {row.id: row for row in DeployRepository(uow.session).active(env.name)}
    refused = []
    for deploy in snapshot.queue:
        row = rows.get(deploy.id)
        if row is None or row.state not in WAITING_STATES:
            continue
        decision = decide_gate(snapshot, deploy, now=now)
        if isinstance(decision, Refused) and decision.reason is RefusalReason.FROZEN:
            refuse(uow, row, decision, now=now)
            refused.append(row.id)
    return Frozen(suspended_holds=suspended, refused_deploys=tuple(refused))


def take_effect(
    uow: UnitOfWork,
    settings: Settings,
    incident: IncidentRow,
    env: EnvironmentRow,
    *,
    now: datetime,
) -> Effects:
    """What an incident that opens or is reopened does: it freezes the environment if it
    freezes (``freeze``), and tells the reservations it puts at risk (``mark_at_risk``)."""
    frozen = freeze(uow, settings, incident, env, now=now) if incident.freezes else Frozen()
    return Effects(
        refused_deploys=frozen.refused_deploys,
        suspended_holds=frozen.suspended_holds,
        at_risk=mark_at_risk(uow, incident, now=now),
    )


def _suspend_hold(uow: UnitOfWork, incident: IncidentView, *, now: datetime) -> tuple[str, ...]:
    row = uow.holds.current(incident.environment)
    if row is None:
        return ()
    hold = hold_view(row)
    if hold.kind is not HoldKind.WORK or hold.until <= now or hold.owner.name in incident.team:
        return ()
    uow.holds.close(row, at=now, by=SIGNALBOX, reason=f"suspended by incident {incident.id}")
    row.suspended_by = incident.id
    record_hold_event(uow, HoldSuspended, hold, actor=SIGNALBOX, now=now, incident_id=incident.id)
    return (hold.owner.name,)


def mark_at_risk(uow: UnitOfWork, incident: IncidentRow, *, now: datetime) -> tuple[int, ...]:
    """Tell the owners of the reservations ``incident`` newly puts at risk (once each)."""
    view = incident_view(incident)
    rows = ReservationRepository(uow.session).not_over(environments=[view.environment], now=now)
    told = set(incident.at_risk or ())
    marked = []
    for window in at_risk(view, [reservation_view(row) for row in rows], now=now):
        if window.id is None or str(window.id) in told:
            continue
        record = ReservationAtRisk(
            reservation_id=window.id,
            owner=window.owner,
            reason=window.reason,
            starts=window.starts,
            ends=window.ends,
            incident_id=view.id,
            title=view.title,
        )
        emit(uow, record, environment=view.environment, actor=SIGNALBOX, now=now)
        told.add(str(window.id))
        marked.append(window.id)
    if marked:  # a new list: the JSON column sees an assignment, not an in-place change
        incident.at_risk = [*(incident.at_risk or ()), *(str(ident) for ident in marked)]
    return tuple(marked)


def return_holds(
    uow: UnitOfWork, incident: IncidentRow, env: EnvironmentRow, *, now: datetime
) -> Returned:
    """Give back the holds ``incident`` suspended (see module doc)."""
    query = (
        select(HoldRow)
        .where(HoldRow.suspended_by == incident.id, HoldRow.suspension_ended_at.is_(None))
        .order_by(HoldRow.id)
    )
    returned, lapsed = [], []
    for row in uow.session.scalars(query):
        row.suspension_ended_at = now
        suspended = hold_view(row)
        if suspended.until > now and _free(uow, env, now=now):
            token = uow.environments.next_fencing_token(env)
            hold = HoldView(
                environment=suspended.environment,
                owner=suspended.owner,
                kind=suspended.kind,
                reason=suspended.reason,
                since=suspended.since,
                until=suspended.until,
                fencing_token=token,
            )
            uow.holds.grant(hold, lease_seconds=row.lease_seconds)
            record_hold_event(
                uow, HoldReturned, hold, actor=SIGNALBOX, now=now, incident_id=incident.id
            )
            returned.append(hold.owner.name)
        elif suspended.until > now:  # someone holds it now (a hotfix still running)
            holder = uow.holds.current(env.name)
            who = holder.owner if holder is not None else "someone else"
            why = (
                f"it could not come back after incident {incident.id}: {who} holds "
                f"{env.name} now; hold it again when they are done"
            )
            record_hold_event(
                uow, HoldForceReleased, suspended, actor=SIGNALBOX, now=now, release_reason=why
            )
            lapsed.append(suspended.owner.name)
        else:
            record_hold_event(uow, HoldLapsed, suspended, actor=SIGNALBOX, now=now)
            lapsed.append(suspended.owner.name)
    return Returned(tuple(returned), tuple(lapsed))


def _free(uow: UnitOfWork, env: EnvironmentRow, *, now: datetime) -> bool:
    """Nobody holds ``env`` now (a lapsed hold still open is closed as lapsed first)."""
    current = uow.holds.current(env.name)
    if current is None:
        return True
    if current.until > now:
        return False
    lapsed = hold_view(current)
    uow.holds.close(current, at=lapsed.until, by=SIGNALBOX, reason="lapsed")
    record_hold_event(uow, HoldLapsed, lapsed, actor=SIGNALBOX, now=now)
    uow.session.flush()
    return True
