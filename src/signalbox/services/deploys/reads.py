"""Reading deploys: one, the newest, and per-environment figures for `signalbox status`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from signalbox.core.reservations import next_reservation
from signalbox.core.views import ReservationView
from signalbox.services.deploys.answers import Deploy
from signalbox.services.reservations import list_reservations
from signalbox.settings import Settings
from signalbox.storage.repositories.deploys import DeployRepository
from signalbox.storage.uow import UnitOfWork

__all__ = ["DeployFigures", "deploy_figures", "get_deploy", "list_deploys"]


def get_deploy(engine: Engine, *, deploy_id: int) -> Deploy:
    """Deploy ``deploy_id`` with its plan analysis; UnknownDeploy if there is none."""
    with UnitOfWork(engine, read_only=True) as uow:
        return Deploy.of(DeployRepository(uow.session).get(deploy_id))


def list_deploys(
    engine: Engine, *, environments: Sequence[str] | None, limit: int = 50
) -> list[Deploy]:
    """Newest first, without the analyses (ask for one deploy to see its analysis)."""
    with UnitOfWork(engine, read_only=True) as uow:
        if environments is not None:
            for name in environments:
                uow.environments.get(name)
        rows = DeployRepository(uow.session).newest(environments=environments, limit=limit)
        return [Deploy.of(row, with_analysis=False) for row in rows]


@dataclass(frozen=True, slots=True)
class DeployFigures:
    """What `signalbox status` adds per environment."""

    environment: str
    queue_length: int
    next_reservation: ReservationView | None
    last_deploy: Deploy | None


def deploy_figures(
    engine: Engine, settings: Settings, *, environments: Sequence[str], now: datetime
) -> list[DeployFigures]:
    with UnitOfWork(engine, read_only=True) as uow:
        repository = DeployRepository(uow.session)
        queues = repository.active_counts()
        last = {
            name: Deploy.of(row, with_analysis=False)
            for name, row in repository.last_finished(environments).items()
        }
    windows = list_reservations(engine, settings, environments=list(environments), now=now)
    return [
        DeployFigures(
            environment=name,
            queue_length=queues.get(name, 0),
            next_reservation=next_reservation([w for w in windows if w.environment == name], now),
            last_deploy=last.get(name),
        )
        for name in environments
    ]
