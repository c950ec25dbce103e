"""Reading deploys: one, and the newest (what an environment holds now is its picture:
``services.status``)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Engine

from signalbox.services.deploys.answers import Deploy
from signalbox.storage.repositories.deploys import DeployRepository
from signalbox.storage.uow import UnitOfWork

__all__ = ["get_deploy", "list_deploys"]


def get_deploy(engine: Engine, *, deploy_id: int) -> Deploy:
    """Deploy ``deploy_id`` with its plan analysis; UnknownDeploy if there is none."""
    with UnitOfWork(engine, read_only=True) as uow:
        return Deploy.of(DeployRepository(uow.session).get(deploy_id))


def list_deploys(
    engine: Engine,
    *,
    environments: Sequence[str] | None,
    limit: int = 50,
    hotfix_for: int | None = None,
) -> list[Deploy]:
    """Newest first, without the analyses (ask for one deploy to see its analysis);
    ``hotfix_for``: only the hotfixes of that incident."""
    with UnitOfWork(engine, read_only=True) as uow:
        if environments is not None:
            for name in environments:
                uow.environments.get(name)
        rows = DeployRepository(uow.session).newest(
            environments=environments, limit=limit, hotfix_for=hotfix_for
        )
        return [Deploy.of(row, with_analysis=False) for row in rows]
