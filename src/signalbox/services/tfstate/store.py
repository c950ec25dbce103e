"""What every Terraform state use case shares: the store, the facts, opening a state.

The state use cases (``locks``, ``bodies``, ``history``) each run in one unit of work with
the environment row locked: read what is stored, ask ``core.tfstate``, write the decision
and its event, commit. A refusal is returned as a value and written as an event too, so the
timeline shows who was stopped. Bodies move one segment at a time, never whole.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from signalbox.core.durations import parse_duration
from signalbox.core.errors import StateIntegrityError
from signalbox.core.events import (
    StateDeleteRefused,
    StateIntegrityFailed,
    StateLockRefused,
    StateRefusalEvent,
    StateUnlockRefused,
    StateWriteRefused,
)
from signalbox.core.incidents import IncidentView
from signalbox.core.tfstate import EnvironmentFacts, Refusal, StateKey, validate_state_name
from signalbox.core.views import HoldKind, HoldView, Principal, ReservationView
from signalbox.services.clock import zone
from signalbox.services.events import emit
from signalbox.services.reservations import freeze_windows_between
from signalbox.settings import Settings
from signalbox.storage.repositories import hold_view
from signalbox.storage.repositories.incidents import IncidentRepository, incident_view
from signalbox.storage.repositories.reservations import ReservationRepository, reservation_view
from signalbox.storage.repositories.tfstate import TfStateRepository
from signalbox.storage.state_crypto import (
    Envelope,
    Keyring,
    StoredSegment,
    seal,
    unseal_checked,
)
from signalbox.storage.tables import DeployRow, EnvironmentRow
from signalbox.storage.tfstate_tables import TfStateRow, TfStateVersionRow
from signalbox.storage.uow import UnitOfWork

__all__ = [
    "REFUSAL_EVENTS",
    "StateStore",
    "StoredState",
    "checked_body",
    "envelope_of",
    "integrity_recorded",
    "load_facts",
    "open_state",
    "record_integrity_failure",
    "record_refusal",
    "state_storage_notice",
    "store_body",
    "version_body",
]

REFUSAL_EVENTS: dict[str, type[StateRefusalEvent]] = {
    "lock": StateLockRefused,
    "write": StateWriteRefused,
    "delete": StateDeleteRefused,
    "unlock": StateUnlockRefused,
}
"""The event a refused request of each kind writes."""


@dataclass(frozen=True)
class StateStore:
    """What the state use cases need: the database, the settings and the keys."""

    engine: Engine
    settings: Settings
    keyring: Keyring

    @classmethod
    def from_settings(cls, engine: Engine, settings: Settings) -> StateStore:
        return cls(engine, settings, Keyring.from_setting(settings.state_keys))

    @property
    def auto_hold(self) -> timedelta:
        text = self.settings.state_auto_hold.strip().lower()
        return timedelta(0) if text in {"", "off", "0"} else parse_duration(text)


@dataclass(frozen=True)
class StoredState:
    """The newest body of a state: its serial, MD5 (of the clear body), size, and bytes."""

    serial: int
    md5: bytes
    size: int
    body: Iterator[bytes | memoryview]


def load_facts(
    uow: UnitOfWork, settings: Settings, env: EnvironmentRow, now: datetime
) -> EnvironmentFacts:
    """What the state decisions need of ``env``: its hold, the windows in force, and the
    freeze of its open incident (``frozen_reason`` names it). The deploy hold of the open
    incident's hotfix is not stopped by reservations: the incident put them at risk, and the
    gate let the hotfix go into them."""
    hold_row = uow.holds.current(env.name)
    hold = hold_view(hold_row) if hold_row is not None else None
    incident_row = IncidentRepository(uow.session).open_in(env.name)
    incident = incident_view(incident_row) if incident_row is not None else None
    if _hotfix_hold(uow, hold, incident):
        reservations: tuple[ReservationView, ...] = ()
    else:
        booked = ReservationRepository(uow.session).not_over(environments=[env.name], now=now)
        freezes = freeze_windows_between(settings, env.name, now, now + timedelta(seconds=1))
        reservations = (*(reservation_view(row) for row in booked), *freezes)
    frozen = incident is not None and incident.is_freezing
    return EnvironmentFacts(
        name=env.name,
        hold=hold,
        reservations=reservations,
        timezone=zone(env.timezone),
        frozen=frozen,
        frozen_reason=_frozen_reason(incident) if incident is not None and frozen else "",
    )


def _hotfix_hold(uow: UnitOfWork, hold: HoldView | None, incident: IncidentView | None) -> bool:
    """``hold`` is the deploy hold of a hotfix of the open ``incident``."""
    if hold is None or incident is None or hold.kind is not HoldKind.DEPLOY:
        return False
    if hold.deploy_id is None:
        return False
    deploy = uow.session.get(DeployRow, hold.deploy_id)
    return deploy is not None and deploy.incident_id == incident.id


def _frozen_reason(incident: IncidentView) -> str:
    """``incident 3 ("users cannot log in", sev1, led by alice)``: what the refusal names."""
    return (
        f'incident {incident.id} ("{incident.title}", {incident.severity}, led by '
        f"{incident.commander})"
    )


def open_state(
    uow: UnitOfWork, key: StateKey, *, now: datetime
) -> tuple[EnvironmentRow, TfStateRepository, TfStateRow]:
    """The environment (its row locked), the repository and the state ``key`` (created when
    it is new)."""
    validate_state_name(key.name)
    env = uow.lock_environment(key.environment)
    repo = TfStateRepository(uow.session)
    return env, repo, repo.state(key) or repo.create_state(key, now=now)


def envelope_of(version: TfStateVersionRow) -> Envelope:
    return Envelope(version.key_id, bytes(version.stream_id))


def checked_body(
    keyring: Keyring,
    key: StateKey,
    serial: int,
    envelope: Envelope,
    segments: Iterator[StoredSegment],
    *,
    blob_id: int,
    md5: bytes,
    size: int,
) -> Iterator[bytes]:
    """The clear body of serial ``serial`` of the state ``key`` from its stored ``segments``
    (those of blob ``blob_id``), each checked as it is read (its place, and its checksum or
    its tag) and, at its end, the stored ``size`` (and the stored ``md5`` when the segments
    have no checksums: stored before migration 0009); a damaged body raises
    StateIntegrityError naming the state, the serial and what to do (record it with
    ``record_integrity_failure`` once the transaction is over)."""
    try:
        yield from unseal_checked(keyring, envelope, segments, blob_id=blob_id, md5=md5, size=size)
    except StateIntegrityError as error:
        raise damaged_state(key, serial, str(error.details.get("problem", error.message))) from None


def version_body(
    keyring: Keyring, key: StateKey, version: TfStateVersionRow, segments: Iterator[StoredSegment]
) -> Iterator[bytes]:
    """``checked_body`` of a stored version (read within its transaction)."""
    assert version.blob_id is not None, "a version with a body has a blob"
    md5, size = bytes.fromhex(version.md5), version.size
    envelope = envelope_of(version)
    return checked_body(
        keyring,
        key,
        version.serial,
        envelope,
        segments,
        blob_id=version.blob_id,
        md5=md5,
        size=size,
    )


def damaged_state(key: StateKey, serial: int, problem: str) -> StateIntegrityError:
    """The error of a damaged stored body: what is wrong and what to do."""
    return StateIntegrityError(
        f"The stored body of {key.label} serial {serial} is damaged: it {problem}. It was "
        "changed or cut outside signalbox, so it is not served.",
        hint=f"See its versions with `signalbox state versions {key.environment} {key.name}` "
        f"and restore an earlier one with `signalbox state restore {key.environment} "
        f"{key.name} --serial N` (under your hold); then check who can write to the database.",
        environment=key.environment,
        state=key.name,
        serial=serial,
        problem=problem,
    )


@contextlib.contextmanager
def integrity_recorded(store: StateStore, *, now: datetime | None) -> Iterator[None]:
    """Run a read of stored bodies; a StateIntegrityError it raises is recorded
    (``record_integrity_failure``, after the read's transaction is over) and raised again."""
    try:
        yield
    except StateIntegrityError as error:
        record_integrity_failure(store, error, now=now)
        raise


def record_integrity_failure(
    store: StateStore, error: StateIntegrityError, *, now: datetime | None
) -> None:
    """Write the ``state.integrity-failed`` event of ``error`` (from ``checked_body``), in
    its own transaction: run it after the one that read the body is over. ``now`` None is
    the system clock (callers that have no injected clock)."""
    details = error.details
    environment, state, serial = (
        details.get("environment"),
        details.get("state"),
        details.get("serial"),
    )
    if (
        not isinstance(environment, str)
        or not isinstance(state, str)
        or not isinstance(serial, int)
    ):
        return  # not a body read through checked_body: nothing to name
    problem = str(error.details.get("problem", ""))
    event = StateIntegrityFailed(state=state, serial=serial, problem=problem)
    with UnitOfWork(store.engine) as uow:
        emit(uow, event, environment=environment, actor="signalbox", now=now or datetime.now(UTC))


def record_refusal(
    uow: UnitOfWork,
    refusal: Refusal,
    *,
    who: Principal,
    what: str,
    key: StateKey,
    now: datetime,
) -> Refusal:
    """Write the event of a refused ``what`` (``lock``, ``write``, ``delete``, ``unlock``)
    and return the refusal."""
    event = REFUSAL_EVENTS[what](
        state=key.name, cause=str(refusal.cause), refusal=refusal.message, whom=refusal.whom
    )
    emit(uow, event, environment=key.environment, actor=who.name, now=now)
    return refusal


def store_body(
    repo: TfStateRepository,
    keyring: Keyring,
    version: TfStateVersionRow,
    chunks: Iterator[bytes],
) -> None:
    """Seal ``chunks`` under the primary key (or clear) into a new blob of ``version``, in
    the caller's transaction (a restore; Terraform's writes are staged, see ``bodies``)."""
    envelope, segments = seal(keyring, chunks)
    version.key_id, version.stream_id = envelope.key_id, envelope.stream_id
    blob_id = repo.add_blob(now=version.at)
    count = 0
    for seq, segment in enumerate(segments):
        repo.add_segment(blob_id, seq, segment)
        count += 1
    version.segments, version.blob_id = count, blob_id
    repo.finish_blob(blob_id)
    repo.add_version(version)


def state_storage_notice(keyring: Keyring) -> tuple[int, str]:
    """What the server says at start about states at rest with ``keyring`` (the one its
    ``StateStore`` read from ``state_keys``): (logging level, message)."""
    import logging

    if keyring.primary is None:
        return logging.WARNING, (
            "Terraform states are stored in clear: set state_keys to encrypt them at rest "
            "(see docs/tfstate.md)."
        )
    ids = ", ".join(key.id for key in keyring.keys)
    return logging.INFO, (
        f"Terraform states are encrypted at rest with key {keyring.primary.id} "
        f"(keys that decrypt: {ids})."
    )
