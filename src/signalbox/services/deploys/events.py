"""The events of a deploy's use cases: the catalogue's records (``core.events``) filled from
the deploy's row, emitted with ``services.events.emit``."""

from __future__ import annotations

from typing import TypedDict

from signalbox.core.events import (
    DeployDenied,
    DeployEvent,
    DeployExpired,
    DeployRefused,
    DeploySuperseded,
)
from signalbox.core.gate import Refused
from signalbox.core.views import DeployState
from signalbox.storage.tables import DeployRow

__all__ = ["DeployFields", "deploy_fields", "refusal_event"]


class DeployFields(TypedDict):
    """``DeployEvent``'s fields: what every deploy event carries (never plan values)."""

    deploy_id: int
    branch: str
    commit: str
    actor: str
    requester: str
    run_url: str
    plan_verdict: str
    state: str
    hotfix_for: int | None


def deploy_fields(row: DeployRow) -> DeployFields:
    """``row`` as it is now, for a deploy event's common fields."""
    return DeployFields(
        deploy_id=row.id,
        branch=row.branch,
        commit=row.commit,
        actor=row.actor,
        requester=row.requester,
        run_url=row.run_url,
        plan_verdict=row.plan_verdict,
        state=str(row.state),
        hotfix_for=row.incident_id,
    )


def refusal_event(row: DeployRow, refused: Refused) -> DeployEvent:
    """The event that tells how ``refused`` ended ``row`` (whose state is already the
    refusal's): ``deploy.denied``, ``deploy.expired``, ``deploy.superseded`` or, for the
    environment's refusals (held, reserved, frozen, blocked), ``deploy.refused``."""
    fields = deploy_fields(row)
    if row.state == DeployState.SUPERSEDED:
        return DeploySuperseded(**fields, superseded_by=row.superseded_by)
    reason, whom, until = str(refused.reason), refused.whom, refused.until
    if row.state == DeployState.DENIED:
        return DeployDenied(**fields, reason=reason, whom=whom, until=until)
    if row.state == DeployState.EXPIRED:
        return DeployExpired(**fields, reason=reason, whom=whom, until=until)
    return DeployRefused(**fields, reason=reason, whom=whom, until=until)
