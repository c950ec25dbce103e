"""Reservations: times in the environment's zone; bad windows store nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from tests.services.deploy_helpers import COO, ENGINEER

from signalbox.core.errors import Forbidden, InvalidTime, InvalidTransition, InvalidWindow
from signalbox.services.events import list_events
from signalbox.services.reservations import (
    ReservationCreate,
    cancel_reservation,
    create_reservation,
    list_reservations,
)
from signalbox.settings import EnvironmentConfig, Settings


def reserve(
    engine,
    settings,
    clock,
    starts="15:30",
    ends="16:30",
    reason="investor demo",
    env="dev",
    who=COO,
):
    return create_reservation(
        engine, settings, ReservationCreate(env, starts, ends, reason), owner=who, now=clock.now()
    )


def test_local_times_are_read_in_the_environment_zone(engine, settings, clock):
    demo = reserve(engine, settings, clock)
    assert demo.starts == datetime(2026, 11, 26, 14, 30, tzinfo=UTC)  # 15:30 CET
    assert demo.ends == datetime(2026, 11, 26, 15, 30, tzinfo=UTC)
    [event] = [e for e in list_events(engine, environment="dev") if e.kind == "reservation.created"]
    assert event.actor == "coo" and "15:30" in event.message and "investor demo" in event.message


@pytest.mark.parametrize(
    ("starts", "ends", "error"),
    [
        ("16:30", "15:30", InvalidWindow),
        ("09:00", "10:00", InvalidWindow),
        ("25:99", "16:00", InvalidTime),
        ("soon", "16:00", InvalidTime),
    ],
)
def test_a_window_that_cannot_be_booked_stores_nothing(
    engine, settings, clock, starts, ends, error
):
    with pytest.raises(error):
        reserve(engine, settings, clock, starts=starts, ends=ends)
    assert list_reservations(engine, settings, environments=["dev"], now=clock.now()) == []
    assert "reservation.created" not in [e.kind for e in list_events(engine)]


def test_list_and_cancel_only_by_the_owner_or_an_admin(engine, settings, clock):
    demo = reserve(engine, settings, clock)
    assert [
        r.id for r in list_reservations(engine, settings, environments=None, now=clock.now())
    ] == [demo.id]
    with pytest.raises(Forbidden):
        cancel_reservation(engine, demo.id, by=ENGINEER, may_cancel_any=False, now=clock.now())
    cancel_reservation(engine, demo.id, by=COO, may_cancel_any=False, now=clock.now())
    assert list_reservations(engine, settings, environments=["dev"], now=clock.now()) == []
    with pytest.raises(InvalidTransition):
        cancel_reservation(engine, demo.id, by=COO, may_cancel_any=False, now=clock.now())


def test_freeze_windows_from_the_config_are_listed_with_the_reservations(database, clock):
    from signalbox.services.environments import sync_environments

    settings = Settings(
        environments={
            "prod": EnvironmentConfig(
                "prod",
                timezone="Europe/Berlin",
                freeze_windows=(
                    {"cron": "0 16 * * FRI", "duration": "64h", "reason": "weekend freeze"},
                ),
            )
        }
    )
    sync_environments(database, settings, now=clock.now())
    windows = list_reservations(database, settings, environments=["prod"], now=clock.now())
    assert windows and windows[0].kind == "freeze" and windows[0].reason == "weekend freeze"
    assert windows[0].starts == datetime(2026, 11, 27, 15, 0, tzinfo=UTC)  # Fri 16:00 CET
