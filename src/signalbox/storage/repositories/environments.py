"""Environments: the row that every decision about an environment locks first."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from signalbox.core.deploy_stats import remember_success
from signalbox.core.errors import unknown_environment
from signalbox.core.views import DeployState
from signalbox.storage.tables import DeployRow, EnvironmentRow

__all__ = ["EnvironmentRepository"]

# Built once: every hold request runs these, and building a statement (and its cache key)
# each time cost about as much as executing it.
_BY_NAME = select(EnvironmentRow).where(EnvironmentRow.name == bindparam("name"))
_BY_NAME_LOCKED = _BY_NAME.with_for_update().execution_options(populate_existing=True)


class EnvironmentRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def names(self) -> list[str]:
        query = select(EnvironmentRow.name).where(EnvironmentRow.configured).order_by("name")
        return list(self.session.scalars(query))

    def all(self) -> list[EnvironmentRow]:
        query = select(EnvironmentRow).where(EnvironmentRow.configured).order_by("name")
        return list(self.session.scalars(query))

    def locked(self, name: str) -> EnvironmentRow:
        """The row of ``name`` that this transaction already locked (no query: the session
        holds it since ``get(name, for_update=True)``)."""
        row = self.session.get(EnvironmentRow, name)
        assert row is not None, f"{name} was not locked in this transaction"
        return row

    @staticmethod
    def keep_deploy_figures(row: EnvironmentRow, deploy: DeployRow) -> None:
        """Keep ``row``'s deploy figures with ``deploy``, which just ran to an end: the last
        deploy, and the durations of the last successful ones."""
        row.last_deploy_id = max(row.last_deploy_id or 0, deploy.id)
        if deploy.state == DeployState.SUCCEEDED and deploy.duration_seconds is not None:
            recent = list(row.recent_deploy_seconds or ())
            row.recent_deploy_seconds = remember_success(recent, deploy.duration_seconds)

    def get(self, name: str, *, for_update: bool = False) -> EnvironmentRow:
        """The configured environment ``name``; UnknownEnvironment (with the known ones) if not.

        ``for_update`` locks the row until the transaction ends (PostgreSQL ``FOR UPDATE``;
        SQLite's write transactions are already serialised by ``BEGIN IMMEDIATE``).
        """
        # for_update also refreshes a row this session loaded before it was locked
        query = _BY_NAME_LOCKED if for_update else _BY_NAME
        row = self.session.scalars(query, {"name": name}).one_or_none()
        if row is None or not row.configured:
            raise unknown_environment(name, self.names())
        return row

    def sync(self, zones: dict[str, str], *, now: datetime) -> list[str]:
        """Make exactly ``zones`` (name -> time zone) the configured environments; returns
        the names added.

        Environments removed from the configuration keep their rows (history refers to them)
        but are no longer configured.
        """
        rows = {row.name: row for row in self.session.scalars(select(EnvironmentRow))}
        added = []
        for name, zone in zones.items():
            if name in rows:
                rows[name].configured = True
                rows[name].timezone = zone
                continue
            row = EnvironmentRow(
                name=name,
                last_fencing_token=0,
                version=0,
                configured=True,
                timezone=zone,
                created_at=now,
            )
            self.session.add(row)
            added.append(name)
        for name, row in rows.items():
            if name not in zones:
                row.configured = False
        self.session.flush()
        return added

    @staticmethod
    def next_fencing_token(row: EnvironmentRow) -> int:
        """Advance the environment's fencing counter; the caller holds the row lock."""
        row.last_fencing_token += 1
        return row.last_fencing_token
