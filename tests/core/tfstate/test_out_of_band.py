from __future__ import annotations

from datetime import timedelta

from tests.core.tfstate.builders import CI, ENGINEER, KEY, NOW, hold

from signalbox.core.tfstate import AutomaticHold, automatic_hold

TWO_HOURS = timedelta(hours=2)


def place(writer=ENGINEER, current=None, duration=TWO_HOURS):  # type: ignore[no-untyped-def]
    return automatic_hold(key=KEY, writer=writer, hold=current, duration=duration, now=NOW)


def test_a_persons_write_on_a_free_environment_places_a_work_hold() -> None:
    placed = place()
    assert isinstance(placed, AutomaticHold)
    assert (placed.environment, placed.owner, placed.duration) == ("dev", ENGINEER, TWO_HOURS)
    assert "network" in placed.reason and "workstation" in placed.reason


def test_a_ci_write_places_nothing() -> None:
    assert place(writer=CI) is None


def test_nothing_is_placed_while_the_environment_is_held() -> None:
    assert place(current=hold(ENGINEER)) is None
    assert place(current=hold(CI)) is None


def test_a_lapsed_hold_counts_as_free() -> None:
    assert place(current=hold(CI, until=NOW - timedelta(seconds=1))) is not None


def test_a_zero_duration_turns_the_rule_off() -> None:
    assert place(duration=timedelta(0)) is None
