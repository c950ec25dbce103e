"""Terraform states: the state rows, their versions and body segments, and their locks.

Segments are written and read with Core statements, one at a time, never through the ORM
identity map, so a 100 MB body is never held by the session.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.orm import Session

from signalbox.core.tfstate import LockInfo, TerraformLock
from signalbox.core.views import Principal
from signalbox.storage.engine import READ_ONLY
from signalbox.storage.tfstate_tables import (
    TfLockRow,
    TfStateChunkRow,
    TfStateRow,
    TfStateVersionRow,
)

__all__ = ["TfStateRepository", "read_segment", "terraform_lock"]


def terraform_lock(row: TfLockRow, state: TfStateRow) -> TerraformLock:
    info = row.info
    return TerraformLock(
        environment=state.environment,
        state=state.name,
        info=LockInfo(
            id=row.lock_id,
            operation=str(info.get("Operation", "")),
            info=str(info.get("Info", "")),
            who=str(info.get("Who", "")),
            version=str(info.get("Version", "")),
            created=str(info.get("Created", "")),
            path=str(info.get("Path", "")),
        ),
        owner=Principal(row.owner, row.owner_is_ci),
        created=row.created_at,
    )


def read_segment(engine: Engine, version_id: int, seq: int) -> bytes:
    """One stored segment, in its own short read (versions never change once written)."""
    query = select(TfStateChunkRow.data).where(
        TfStateChunkRow.version_id == version_id, TfStateChunkRow.seq == seq
    )
    with engine.execution_options(**{READ_ONLY: True}).connect() as connection:
        data = connection.execute(query).scalar_one()
        connection.rollback()
    return bytes(data)


class TfStateRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def state(self, environment: str, name: str) -> TfStateRow | None:
        query = select(TfStateRow).where(
            TfStateRow.environment == environment, TfStateRow.name == name
        )
        return self.session.scalars(query).one_or_none()

    def create_state(self, environment: str, name: str, *, now: datetime) -> TfStateRow:
        row = TfStateRow(environment=environment, name=name, created_at=now)
        self.session.add(row)
        self.session.flush()
        return row

    def states(self, environment: str) -> list[TfStateRow]:
        query = (
            select(TfStateRow)
            .where(TfStateRow.environment == environment)
            .order_by(TfStateRow.name)
        )
        return list(self.session.scalars(query))

    # Locks ------------------------------------------------------------------------------

    def lock(self, state: TfStateRow) -> TfLockRow | None:
        return self.session.get(TfLockRow, state.id)

    def put_lock(
        self, state: TfStateRow, info: LockInfo, *, owner: Principal, now: datetime
    ) -> TfLockRow:
        row = TfLockRow(
            state_id=state.id,
            lock_id=info.id,
            info={
                "ID": info.id,
                "Operation": info.operation,
                "Info": info.info,
                "Who": info.who,
                "Version": info.version,
                "Created": info.created,
                "Path": info.path,
            },
            owner=owner.name,
            owner_is_ci=owner.is_ci,
            created_at=now,
        )
        self.session.add(row)
        self.session.flush()
        return row

    def remove_lock(self, state: TfStateRow) -> None:
        self.session.execute(delete(TfLockRow).where(TfLockRow.state_id == state.id))

    # Versions ---------------------------------------------------------------------------

    def head(self, state: TfStateRow) -> TfStateVersionRow | None:
        """The newest version (it may be a deletion)."""
        query = (
            select(TfStateVersionRow)
            .where(TfStateVersionRow.state_id == state.id)
            .order_by(TfStateVersionRow.id.desc())
            .limit(1)
        )
        return self.session.scalars(query).one_or_none()

    def versions(self, state: TfStateRow, *, limit: int = 100) -> list[TfStateVersionRow]:
        """Newest first."""
        query = (
            select(TfStateVersionRow)
            .where(TfStateVersionRow.state_id == state.id)
            .order_by(TfStateVersionRow.id.desc())
            .limit(limit)
        )
        return list(self.session.scalars(query))

    def by_serial(self, state: TfStateRow, serial: int) -> TfStateVersionRow | None:
        """The newest stored (not deleted) version with ``serial``."""
        query = (
            select(TfStateVersionRow)
            .where(
                TfStateVersionRow.state_id == state.id,
                TfStateVersionRow.serial == serial,
                TfStateVersionRow.deleted.is_(False),
            )
            .order_by(TfStateVersionRow.id.desc())
            .limit(1)
        )
        return self.session.scalars(query).one_or_none()

    def before(self, version: TfStateVersionRow) -> TfStateVersionRow | None:
        """The version written just before ``version`` (deletions included)."""
        query = (
            select(TfStateVersionRow)
            .where(
                TfStateVersionRow.state_id == version.state_id,
                TfStateVersionRow.id < version.id,
            )
            .order_by(TfStateVersionRow.id.desc())
            .limit(1)
        )
        return self.session.scalars(query).one_or_none()

    def add_version(self, row: TfStateVersionRow) -> TfStateVersionRow:
        self.session.add(row)
        self.session.flush()
        return row

    def add_segment(self, version_id: int, seq: int, data: bytes) -> None:
        self.session.execute(
            insert(TfStateChunkRow), [{"version_id": version_id, "seq": seq, "data": data}]
        )

    def segment(self, version_id: int, seq: int) -> bytes:
        query = select(TfStateChunkRow.data).where(
            TfStateChunkRow.version_id == version_id, TfStateChunkRow.seq == seq
        )
        return bytes(self.session.execute(query).scalar_one())

    def replace_segment(self, version_id: int, seq: int, data: bytes) -> None:
        self.session.execute(
            update(TfStateChunkRow)
            .where(TfStateChunkRow.version_id == version_id, TfStateChunkRow.seq == seq)
            .values(data=data)
        )

    def prune(self, state: TfStateRow, *, keep: int, now: datetime) -> list[int]:
        """Drop the bodies of all but the newest ``keep`` (at least 1) versions; returns
        the serials pruned. The rows stay: who wrote what, and when, is history."""
        newest = (
            select(TfStateVersionRow.id)
            .where(TfStateVersionRow.state_id == state.id)
            .order_by(TfStateVersionRow.id.desc())
            .limit(max(1, keep))
        )
        query = select(TfStateVersionRow).where(
            TfStateVersionRow.state_id == state.id,
            TfStateVersionRow.pruned_at.is_(None),
            TfStateVersionRow.id.not_in(newest.scalar_subquery()),
        )
        pruned = list(self.session.scalars(query))
        for row in pruned:
            self.session.execute(
                delete(TfStateChunkRow).where(TfStateChunkRow.version_id == row.id)
            )
            row.pruned_at = now
        self.session.flush()
        return [row.serial for row in pruned]

    def to_reencrypt(self, primary_key_id: str, *, limit: int) -> list[TfStateVersionRow]:
        """Stored bodies not sealed under ``primary_key_id`` (clear ones included)."""
        query = (
            select(TfStateVersionRow)
            .where(
                TfStateVersionRow.pruned_at.is_(None),
                TfStateVersionRow.deleted.is_(False),
                (TfStateVersionRow.key_id != primary_key_id) | TfStateVersionRow.key_id.is_(None),
            )
            .order_by(TfStateVersionRow.id)
            .limit(limit)
        )
        return list(self.session.scalars(query))
