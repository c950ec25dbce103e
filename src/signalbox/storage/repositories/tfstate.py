"""Terraform states: the state rows, their versions and body blobs, and their locks.

Segments are written and read with Core statements, a few at a time, never through the ORM
identity map, so a 100 MB body is never held by the session. The module functions that take
an ``engine`` run their own short transactions: they stage a body's segments while it
streams in, before the write is decided (see ``tfstate_tables``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from datetime import datetime

from sqlalchemy import Connection, Engine, delete, insert, select, update
from sqlalchemy.orm import Session

from signalbox.core.tfstate import LockInfo, StateKey, TerraformLock
from signalbox.core.views import Principal
from signalbox.storage.engine import READ_ONLY, is_sqlite
from signalbox.storage.state_crypto import StoredSegment, segment_checksum
from signalbox.storage.tfstate_tables import (
    TfLockRow,
    TfStateBlobRow,
    TfStateChunkRow,
    TfStateRow,
    TfStateVersionRow,
)

__all__ = [
    "TfStateRepository",
    "checkpoint",
    "create_blob",
    "drop_blob",
    "put_segments",
    "read_segments",
    "state_key",
    "terraform_lock",
]


def state_key(state: TfStateRow) -> StateKey:
    return StateKey(state.environment, state.name)


def terraform_lock(row: TfLockRow, state: TfStateRow) -> TerraformLock:
    info = row.info
    return TerraformLock(
        key=state_key(state),
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


def read_segments(engine: Engine, blob_id: int, start: int, count: int) -> list[StoredSegment]:
    """Segments ``start .. start+count-1`` of a blob with their checksums, in one short read
    (blobs never change once a version points at them, except when key rotation re-seals
    them in place)."""
    chunk = TfStateChunkRow
    query = (
        select(chunk.seq, chunk.data, chunk.checksum)
        .where(chunk.blob_id == blob_id, chunk.seq >= start, chunk.seq < start + count)
        .order_by(chunk.seq)
    )
    with engine.execution_options(**{READ_ONLY: True}).connect() as connection:
        found = [
            StoredSegment(seq, bytes(data), checksum)
            for seq, data, checksum in connection.execute(query)
        ]
        connection.rollback()
    return found


def create_blob(engine: Engine, *, now: datetime) -> int:
    """A new, not yet used blob (its own transaction)."""
    with engine.begin() as connection:
        result = connection.execute(insert(TfStateBlobRow).values(created_at=now, done=False))
        return int(result.inserted_primary_key[0])  # type: ignore[index]


def put_segments(
    engine: Engine,
    blob_id: int,
    segments: Sequence[tuple[int, bytes | memoryview]],
    *,
    durable: bool = True,
) -> None:
    """Store a few segments (seq, data) of a blob being staged, each with its checksum, in
    one short transaction (run it in a worker thread: the checksums let the GIL go).

    ``durable`` False: the commit does not wait for the disk (SQLite: ``synchronous =
    NORMAL`` for this transaction; PostgreSQL: ``synchronous_commit = off``). A durable
    commit (the last segments of a body, and one every few MiB before them) makes the
    earlier ones durable with it: both databases write their log in order, and its sync
    covers every record before it. A crash before the last one loses at most segments of a
    blob that no version points at, which housekeeping drops
    (``state_staging.drop_orphaned_blobs``). None of these commits checkpoints SQLite's log
    (a checkpoint syncs the log before copying it): the route does once it has answered
    (``checkpoint``)."""
    rows = [_chunk(blob_id, seq, data) for seq, data in segments]
    with engine.connect() as connection:
        if is_sqlite(engine):
            with _sqlite_staging_commit(connection, durable=durable), connection.begin():
                connection.execute(insert(TfStateChunkRow), rows)
        else:
            with connection.begin():
                if not durable:
                    connection.exec_driver_sql("SET LOCAL synchronous_commit = off")
                connection.execute(insert(TfStateChunkRow), rows)


def _chunk(blob_id: int, seq: int, data: bytes | memoryview) -> dict[str, object]:
    """The row of a segment, with its checksum (``state_crypto.segment_checksum``)."""
    checksum = segment_checksum(blob_id, seq, data)
    return {"blob_id": blob_id, "seq": seq, "data": data, "checksum": checksum}


@contextlib.contextmanager
def _sqlite_staging_commit(connection: Connection, *, durable: bool) -> Iterator[None]:
    """This SQLite connection commits without checkpointing (and, unless ``durable``,
    without syncing) until the block ends; then its settings are put back (a connection
    that cannot is discarded)."""
    raw = connection.connection.dbapi_connection
    assert raw is not None
    synchronous = raw.execute("PRAGMA synchronous").fetchone()[0]
    checkpoint = raw.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
    try:
        if not durable:
            raw.execute("PRAGMA synchronous = NORMAL")
        raw.execute("PRAGMA wal_autocheckpoint = 0")
        yield
    finally:
        try:
            raw.execute(f"PRAGMA synchronous = {int(synchronous)}")
            raw.execute(f"PRAGMA wal_autocheckpoint = {int(checkpoint)}")
        except Exception:
            connection.invalidate()
            raise


def checkpoint(engine: Engine) -> None:
    """SQLite: copy what the write-ahead log holds into the database file, without waiting
    for readers or writers (``PRAGMA wal_checkpoint(PASSIVE)``), so that the next large
    write starts on a short log. Run after a state write has been answered (the staged
    segments do not checkpoint, see ``put_segments``). Nothing to do on PostgreSQL."""
    if not is_sqlite(engine):
        return
    with engine.connect() as connection:
        raw = connection.connection.dbapi_connection
        assert raw is not None
        raw.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()


def drop_blob(engine: Engine, blob_id: int) -> None:
    """Forget a blob that will not become a version (its own transaction)."""
    with engine.begin() as connection:
        connection.execute(delete(TfStateChunkRow).where(TfStateChunkRow.blob_id == blob_id))
        connection.execute(delete(TfStateBlobRow).where(TfStateBlobRow.id == blob_id))


class TfStateRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def state(self, key: StateKey) -> TfStateRow | None:
        query = select(TfStateRow).where(
            TfStateRow.environment == key.environment, TfStateRow.name == key.name
        )
        return self.session.scalars(query).one_or_none()

    def create_state(self, key: StateKey, *, now: datetime) -> TfStateRow:
        row = TfStateRow(environment=key.environment, name=key.name, created_at=now)
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

    def add_blob(self, *, now: datetime) -> int:
        blob = TfStateBlobRow(created_at=now, done=False)
        self.session.add(blob)
        self.session.flush()
        return blob.id

    def add_segment(self, blob_id: int, seq: int, data: bytes) -> None:
        self.session.execute(insert(TfStateChunkRow), [_chunk(blob_id, seq, data)])

    def segment(self, blob_id: int, seq: int) -> StoredSegment:
        query = select(TfStateChunkRow.data, TfStateChunkRow.checksum).where(
            TfStateChunkRow.blob_id == blob_id, TfStateChunkRow.seq == seq
        )
        data, checksum = self.session.execute(query).one()
        return StoredSegment(seq, bytes(data), checksum)

    def replace_segment(self, blob_id: int, seq: int, data: bytes) -> None:
        """Re-seal a segment in place (key rotation), with its new checksum."""
        self.session.execute(
            update(TfStateChunkRow)
            .where(TfStateChunkRow.blob_id == blob_id, TfStateChunkRow.seq == seq)
            .values(data=data, checksum=segment_checksum(blob_id, seq, data))
        )

    def finish_blob(self, blob_id: int) -> None:
        self.session.execute(
            update(TfStateBlobRow).where(TfStateBlobRow.id == blob_id).values(done=True)
        )

    def delete_blob(self, blob_id: int) -> None:
        self.session.execute(delete(TfStateChunkRow).where(TfStateChunkRow.blob_id == blob_id))
        self.session.execute(delete(TfStateBlobRow).where(TfStateBlobRow.id == blob_id))

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
            blob_id, row.blob_id, row.pruned_at = row.blob_id, None, now
            self.session.flush()
            if blob_id is not None:
                self.delete_blob(blob_id)
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
