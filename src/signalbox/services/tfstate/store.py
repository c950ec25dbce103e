"""What every Terraform state use case shares: the store, the facts, opening a state.

The state use cases (``locks``, ``bodies``, ``history``) each run in one unit of work with
the environment row locked: read what is stored, ask ``core.tfstate``, write the decision
and its event, commit. A refusal is returned as a value and written as an event too, so the
timeline shows who was stopped. Bodies move one segment at a time, never whole.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine

from signalbox.core.durations import parse_duration
from signalbox.core.errors import InvalidInput
from signalbox.core.tfstate import EnvironmentFacts, Refusal
from signalbox.core.views import Principal
from signalbox.services.clock import zone
from signalbox.services.events import record_event
from signalbox.services.reservations import freeze_windows_between
from signalbox.settings import Settings
from signalbox.storage.repositories import hold_view
from signalbox.storage.repositories.reservations import ReservationRepository, reservation_view
from signalbox.storage.repositories.tfstate import TfStateRepository
from signalbox.storage.tables import EnvironmentRow
from signalbox.storage.tfstate_tables import TfStateRow, TfStateVersionRow
from signalbox.storage.uow import UnitOfWork
from signalbox.tfstate.crypto import Envelope, StateKeyring, seal

__all__ = [
    "StateStore",
    "StoredState",
    "envelope_of",
    "load_facts",
    "open_state",
    "record_refusal",
    "state_storage_notice",
    "store_body",
    "validate_state_name",
]

_STATE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


@dataclass(frozen=True)
class StateStore:
    """What the state use cases need: the database, the settings and the keys."""

    engine: Engine
    settings: Settings
    keyring: StateKeyring

    @classmethod
    def from_settings(cls, engine: Engine, settings: Settings) -> StateStore:
        return cls(engine, settings, StateKeyring.from_setting(settings.state_keys))

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
    body: Iterator[bytes]


def validate_state_name(name: str) -> str:
    if not _STATE_NAME.match(name or ""):
        raise InvalidInput(
            f"{name!r} is not a state name.",
            hint="Use letters, digits, '.', '_' and '-' (up to 128), e.g. network or app.",
        )
    return name


def load_facts(
    uow: UnitOfWork, settings: Settings, env: EnvironmentRow, now: datetime
) -> EnvironmentFacts:
    hold_row = uow.holds.current(env.name)
    booked = ReservationRepository(uow.session).not_over(environments=[env.name], now=now)
    freezes = freeze_windows_between(settings, env.name, now, now + timedelta(seconds=1))
    return EnvironmentFacts(
        name=env.name,
        hold=hold_view(hold_row) if hold_row is not None else None,
        reservations=(*(reservation_view(row) for row in booked), *freezes),
        timezone=zone(env.timezone),
    )


def open_state(
    uow: UnitOfWork, environment: str, name: str, *, now: datetime
) -> tuple[EnvironmentRow, TfStateRepository, TfStateRow]:
    env = uow.lock_environment(environment)
    repo = TfStateRepository(uow.session)
    state = repo.state(environment, validate_state_name(name))
    return env, repo, state or repo.create_state(environment, name, now=now)


def envelope_of(version: TfStateVersionRow) -> Envelope:
    return Envelope(version.key_id, bytes(version.stream_id))


def record_refusal(
    uow: UnitOfWork,
    refusal: Refusal,
    *,
    who: Principal,
    what: str,
    path: str,
    environment: str,
    now: datetime,
) -> Refusal:
    record_event(
        uow,
        environment=environment,
        actor=who.name,
        kind=f"state.{what}-refused",
        message=f"{who.name}'s {what} of {path} was refused: {refusal.message}",
        now=now,
        data={"state": path, "cause": str(refusal.cause), "whom": refusal.whom},
    )
    return refusal


def store_body(
    repo: TfStateRepository,
    keyring: StateKeyring,
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


def state_storage_notice(settings: Settings) -> tuple[int, str]:
    """What the server says at start about states at rest: (logging level, message).
    Raises ConfigError when ``state_keys`` cannot be used, so a bad key stops the start."""
    import logging

    keyring = StateKeyring.from_setting(settings.state_keys)
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
