"""What a deploy's use cases write besides the deploy itself: its events and the
environment version their answers carry."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from signalbox.services.events import record_event
from signalbox.storage.tables import DeployRow
from signalbox.storage.uow import UnitOfWork

__all__ = ["deploy_event_data", "environment_version", "record_deploy_event"]


def environment_version(uow: UnitOfWork, row: DeployRow) -> int:
    """The environment's change counter after this transaction's writes."""
    uow.session.flush()
    return uow.environments.get(row.environment).version


def record_deploy_event(
    uow: UnitOfWork,
    row: DeployRow,
    kind: str,
    *,
    actor: str,
    message: str,
    now: datetime,
    **extra: object,
) -> None:
    """The ``kind`` event (deploy.started, ...) about ``row``: its fields, then ``extra``."""
    record_event(
        uow,
        environment=row.environment,
        actor=actor,
        kind=kind,
        message=message,
        now=now,
        data={**deploy_event_data(row), **extra},
        deploy_id=row.id,
    )


def deploy_event_data(row: DeployRow) -> dict[str, Any]:
    """What every deploy event carries (never plan values)."""
    return {
        "deploy_id": row.id,
        "branch": row.branch,
        "commit": row.commit,
        "actor": row.actor,
        "requester": row.requester,
        "run_url": row.run_url,
        "plan_verdict": row.plan_verdict,
        "state": str(row.state),
    }
