"""Error messages about an environment tell times in its zone, as every other message does
(issue 8: `reserve dev --from 23:00 --to 22:00` answered in UTC `Z`).

The clock starts at 2026-11-26 12:00 UTC = 13:00 in Europe/Berlin (dev's zone).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from tests.services.deploy_helpers import COO, ENGINEER

from signalbox.core.errors import InvalidWindow, NotHolder
from signalbox.services.holds import acquire_hold, release_hold, renew_hold
from signalbox.services.reservations import ReservationCreate, create_reservation


def reserve(engine, settings, clock, starts: str, ends: str):
    request = ReservationCreate("dev", starts, ends, "investor demo")
    return create_reservation(engine, settings, request, owner=COO, now=clock.now())


def test_a_window_ending_before_it_starts_is_told_in_berlin_time(engine, settings, clock):
    with pytest.raises(InvalidWindow) as caught:
        reserve(engine, settings, clock, "23:00", "22:00")
    assert caught.value.message == (
        "The window ends (22:00 CET) before or when it starts (23:00 CET)."
    )


def test_a_window_already_over_is_told_in_berlin_time(engine, settings, clock):
    with pytest.raises(InvalidWindow) as caught:
        reserve(engine, settings, clock, "09:00", "10:00")
    assert caught.value.message == "The window ended already (10:00 CET; it is now 13:00 CET)."


def test_a_lapsed_hold_is_told_in_berlin_time(engine, settings, clock):
    acquire_hold(
        engine,
        environment="dev",
        principal=ENGINEER,
        reason="renaming cognito pool",
        duration=timedelta(minutes=30),
        now=clock.now(),
    )
    clock.advance(timedelta(hours=1))
    for act in (release_hold, renew_hold):
        with pytest.raises(NotHolder) as caught:
            act(engine, environment="dev", principal=ENGINEER, now=clock.now())
        assert caught.value.message == "Your hold on dev lapsed at 13:30 CET."
