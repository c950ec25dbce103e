"""Tables of the Terraform state backend, on the same ``Base`` as the server's.

A state is one (environment, name), a ``core.tfstate.StateKey``. Every accepted write is a
version, never changed afterwards; its body is stored as segments (``tf_state_chunks``, 1 MiB
each, sealed with AES-256-GCM when a key is configured), so a 100 MB state is written and
read one segment at a time. Retention prunes the bodies of old versions but keeps their rows
(who, when, serial). A state has at most one Terraform lock (``tf_locks``).

A body is a blob (``tf_state_blobs``): its segments are written while the request body
streams in, each in its own short transaction, before the write is decided; an accepted
write then only inserts its version row pointing at the blob, a refused one drops the blob.
A blob that never became a version is dropped: the upload staging it moves its ``alive_at``
forward while the request runs (``state_staging.HEARTBEAT``), and the server's housekeeping
drops the blobs whose upload stopped proving it is alive long ago (``state_staging.ORPHANED``:
the server crashed or was killed mid-upload), then gives the space back.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from signalbox.storage.tables import Base

__all__ = ["TfLockRow", "TfStateBlobRow", "TfStateChunkRow", "TfStateRow", "TfStateVersionRow"]


class TfStateRow(Base):
    """One Terraform state of an environment (``/tf/{environment}/{name}``)."""

    __tablename__ = "tf_states"
    __table_args__ = (UniqueConstraint("environment", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    environment: Mapped[str] = mapped_column(ForeignKey("environments.name"))
    name: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime]


class TfStateVersionRow(Base):
    """One accepted write (or a DELETE: ``deleted``, no body). ``md5`` is of the clear body."""

    __tablename__ = "tf_state_versions"
    __table_args__ = (Index("ix_tf_state_versions_state_id", "state_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    state_id: Mapped[int] = mapped_column(ForeignKey("tf_states.id"))
    serial: Mapped[int] = mapped_column(BigInteger)
    lineage: Mapped[str] = mapped_column(String(128))
    md5: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(BigInteger)
    author: Mapped[str] = mapped_column(String(128))
    author_is_ci: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime]
    deploy_id: Mapped[int | None] = mapped_column(Integer)
    fencing_token: Mapped[int | None] = mapped_column(Integer)
    key_id: Mapped[str | None] = mapped_column(String(64))
    stream_id: Mapped[bytes] = mapped_column(LargeBinary(16))
    segments: Mapped[int] = mapped_column(Integer)
    blob_id: Mapped[int | None] = mapped_column(ForeignKey("tf_state_blobs.id"))
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    restored_from: Mapped[int | None] = mapped_column(BigInteger)
    pruned_at: Mapped[datetime | None]


class TfStateBlobRow(Base):
    """A stored body; ``done`` once a version points at it. ``alive_at``: the last heartbeat
    of the upload staging it (None before the first one: ``created_at`` counts)."""

    __tablename__ = "tf_state_blobs"
    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime]
    done: Mapped[bool] = mapped_column(Boolean, default=False)
    alive_at: Mapped[datetime | None]


class TfStateChunkRow(Base):
    """One stored segment of a body, in order (``seq`` from 0). ``checksum``: the CRC-32 of
    the stored bytes, bound to the blob and ``seq`` (``repositories.tfstate.segment_checksum``),
    written with the segment; None for segments stored before migration 0009 (their body is
    checked by its MD5 instead)."""

    __tablename__ = "tf_state_chunks"
    blob_id: Mapped[int] = mapped_column(ForeignKey("tf_state_blobs.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    checksum: Mapped[int | None] = mapped_column(BigInteger)


class TfLockRow(Base):
    """The Terraform lock of a state: its 7-field JSON and the principal that took it."""

    __tablename__ = "tf_locks"
    state_id: Mapped[int] = mapped_column(ForeignKey("tf_states.id"), primary_key=True)
    lock_id: Mapped[str] = mapped_column(Text)
    info: Mapped[dict[str, Any]]
    owner: Mapped[str] = mapped_column(String(128))
    owner_is_ci: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime]
