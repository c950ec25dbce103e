from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from signalbox.core.errors import InvalidWindow
from signalbox.core.reservations import (
    MAX_RESERVATION_LENGTH,
    active_at,
    first_conflict,
    next_free_start,
    next_reservation,
    overlaps,
    validate_window,
)
from signalbox.core.views import ReservationView

T0 = datetime(2026, 11, 26, 14, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def window(start: float, end: float, ident: int = 1, owner: str = "coo") -> ReservationView:
    return ReservationView(
        id=ident,
        environment="dev",
        owner=owner,
        reason="investor demo",
        starts=at(start),
        ends=at(end),
    )


DEMO = window(90, 150)  # 15:30-16:30


class TestValidateWindow:
    def test_a_future_window_is_accepted(self) -> None:
        validate_window(at(90), at(150), at(0))

    def test_a_running_window_that_started_earlier_is_accepted(self) -> None:
        validate_window(at(-10), at(50), at(0))

    @pytest.mark.parametrize("end", [80, 90])
    def test_ending_before_or_when_starting_is_refused(self, end: float) -> None:
        with pytest.raises(InvalidWindow) as caught:
            validate_window(at(90), at(end), at(0))
        assert "before or when it starts" in caught.value.message
        assert "2026-11-26T15:30Z" in caught.value.message
        assert "--from 15:30 --to 16:30" in caught.value.hint
        assert caught.value.code == "invalid-window"

    @pytest.mark.parametrize("end", [-5, 0])
    def test_a_window_already_over_is_refused(self, end: float) -> None:
        with pytest.raises(InvalidWindow) as caught:
            validate_window(at(-60), at(end), at(0))
        assert "ended already" in caught.value.message
        assert "time zone" in caught.value.hint

    def test_a_window_too_long_is_refused(self) -> None:
        too_long = MAX_RESERVATION_LENGTH + timedelta(minutes=1)
        with pytest.raises(InvalidWindow) as caught:
            validate_window(at(0), at(0) + too_long, at(0))
        assert "14d" in caught.value.message
        assert "freeze window" in caught.value.hint
        validate_window(at(0), at(0) + MAX_RESERVATION_LENGTH, at(0))

    def test_times_are_told_in_the_environment_zone(self) -> None:
        with pytest.raises(InvalidWindow) as caught:
            validate_window(at(90), at(80), at(0), timezone="Europe/Berlin")
        assert caught.value.message == (
            "The window ends (16:20 CET) before or when it starts (16:30 CET)."
        )
        with pytest.raises(InvalidWindow) as caught:
            validate_window(at(-1500), at(-1440), at(0), timezone="America/New_York")
        assert caught.value.message == (
            "The window ended already (Wed 25 Nov 09:00 EST; it is now 09:00 EST)."
        )

    def test_the_maximum_length_is_a_parameter(self) -> None:
        with pytest.raises(InvalidWindow):
            validate_window(at(0), at(61), at(0), max_length=timedelta(hours=1))


class TestOverlaps:
    @pytest.mark.parametrize(
        ("start", "end", "expected"),
        [
            (73, 90, False),  # ends exactly when the demo starts
            (74, 91, True),  # still running one minute into the demo
            (100, 110, True),  # inside
            (60, 200, True),  # around
            (150, 167, False),  # starts exactly when the demo ends
            (149, 166, True),
        ],
    )
    def test_half_open_windows(self, start: float, end: float, expected: bool) -> None:
        assert overlaps(DEMO, at(start), at(end)) is expected


def test_active_at() -> None:
    later = window(120, 200, ident=2)
    assert active_at([DEMO, later], at(89)) is None
    assert active_at([DEMO, later], at(90)) == DEMO
    assert active_at([later, DEMO], at(130)) == DEMO  # earliest start wins
    assert active_at([DEMO, later], at(160)) == later
    assert active_at([DEMO, later], at(200)) is None


def test_next_reservation_is_the_current_or_the_next_one() -> None:
    later = window(300, 400, ident=2)
    assert next_reservation([later, DEMO], at(0)) == DEMO
    assert next_reservation([later, DEMO], at(100)) == DEMO
    assert next_reservation([later, DEMO], at(150)) == later
    assert next_reservation([later, DEMO], at(400)) is None
    assert next_reservation([], at(0)) is None


def test_first_conflict_is_the_earliest_overlapping_window() -> None:
    freeze = window(100, 500, ident=None, owner="admin")  # type: ignore[arg-type]
    assert first_conflict([freeze, DEMO], at(80), at(97)) == DEMO
    assert first_conflict([freeze, DEMO], at(60), at(73)) is None


def test_next_free_start_skips_chained_windows() -> None:
    freeze = window(160, 220, ident=2)
    duration = timedelta(minutes=17)
    assert next_free_start([DEMO, freeze], at(0), duration) == at(0)
    assert next_free_start([DEMO, freeze], at(80), duration) == at(220)
    assert next_free_start([DEMO, window(166, 220, ident=3)], at(80), duration) == at(220)
    assert next_free_start([DEMO, window(167, 220, ident=3)], at(80), duration) == at(150)


windows_strategy = st.lists(
    st.tuples(st.integers(-300, 600), st.integers(1, 240)).map(
        lambda pair: window(pair[0], pair[0] + pair[1])
    ),
    max_size=6,
)


@given(
    windows=windows_strategy,
    after=st.integers(-300, 600),
    minutes=st.integers(0, 120),
)
def test_next_free_start_is_free_and_earliest(
    windows: list[ReservationView], after: int, minutes: int
) -> None:
    duration = timedelta(minutes=minutes)
    free = next_free_start(windows, at(after), duration)
    assert free >= at(after)
    assert first_conflict(windows, free, free + duration) is None
    # No earlier whole minute at or after `after` is free.
    step = at(after)
    while step < free:
        assert first_conflict(windows, step, step + duration) is not None
        step += timedelta(minutes=1)
