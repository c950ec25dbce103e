"""A Terraform state's history as the API shows it: versions, what a version changed, and
the request body of a restore. Times are UTC; ``timezone`` is the environment's zone, for
showing them."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from signalbox.api.models.bounds import StateSerial
from signalbox.services.tfstate import StateChange, VersionInfo

__all__ = [
    "RestoreCreate",
    "RestoreRead",
    "StateChangeRead",
    "VersionListRead",
    "VersionRead",
]


class RestoreCreate(BaseModel):
    serial: StateSerial = Field(description="The serial whose content becomes the newest version.")


class VersionRead(BaseModel):
    """One version of a state (its body is served by ``GET /tf/{environment}/{state}``)."""

    environment: str
    state: str = Field(description="The state's name in the environment, e.g. network.")
    serial: int
    lineage: str
    md5: str = Field(description="Hex MD5 of the clear body; empty for a deletion.")
    size: int = Field(description="Bytes of the clear body.")
    author: str
    author_is_ci: bool
    at: datetime
    deploy_id: int | None = Field(description="The deploy whose hold covered the write.")
    fencing_token: int | None
    encrypted: bool
    deleted: bool = Field(description="A DELETE: the state read as absent from here on.")
    restored_from: int | None = Field(description="The serial whose content was restored.")
    pruned: bool = Field(description="The body was dropped (state_retention); the row stays.")

    @classmethod
    def of(cls, version: VersionInfo) -> VersionRead:
        return cls(
            environment=version.key.environment,
            state=version.key.name,
            serial=version.serial,
            lineage=version.lineage,
            md5=version.md5,
            size=version.size,
            author=version.author,
            author_is_ci=version.author_is_ci,
            at=version.at,
            deploy_id=version.deploy_id,
            fencing_token=version.fencing_token,
            encrypted=version.encrypted,
            deleted=version.deleted,
            restored_from=version.restored_from,
            pruned=version.pruned,
        )


class VersionListRead(BaseModel):
    """Versions of one state, or of every state of the environment, newest first."""

    environment: str
    timezone: str
    versions: list[VersionRead]


class StateChangeRead(BaseModel):
    """The resource addresses a version added and removed since the version before it."""

    version: VersionRead
    previous: VersionRead | None
    added: list[str]
    removed: list[str]
    timezone: str
    note: str = Field(description="Why the change cannot be shown, when it cannot.")

    @classmethod
    def of(cls, change: StateChange) -> StateChangeRead:
        return cls(
            version=VersionRead.of(change.version),
            previous=VersionRead.of(change.previous) if change.previous else None,
            added=list(change.added),
            removed=list(change.removed),
            timezone=change.timezone,
            note=change.note,
        )


class RestoreRead(BaseModel):
    """The new version a restore wrote."""

    version: VersionRead
