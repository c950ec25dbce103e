from __future__ import annotations

from datetime import timedelta
from statistics import median

import pytest
from hypothesis import given
from hypothesis import strategies as st

from signalbox.core.deploy_stats import DEFAULT_HISTORY, expected_duration
from signalbox.core.errors import ConfigError

CONFIGURED = timedelta(minutes=17)


def minutes(*values: float) -> list[timedelta]:
    return [timedelta(minutes=v) for v in values]


def test_configured_value_without_history() -> None:
    assert expected_duration([], CONFIGURED) == CONFIGURED


def test_median_of_an_odd_count() -> None:
    assert expected_duration(minutes(12, 40, 15), CONFIGURED) == timedelta(minutes=15)


def test_median_of_an_even_count_is_the_mean_of_the_middle_two() -> None:
    assert expected_duration(minutes(10, 12, 14, 60), CONFIGURED) == timedelta(minutes=13)


def test_only_the_last_ten_count_by_default() -> None:
    history = minutes(*([90] * 5), *([16] * 10))
    assert DEFAULT_HISTORY == 10
    assert expected_duration(history, CONFIGURED) == timedelta(minutes=16)
    assert expected_duration(history, CONFIGURED, history=15) == timedelta(minutes=16)
    assert expected_duration(minutes(90, 90, 16), CONFIGURED, history=2) == timedelta(minutes=53)


def test_non_positive_durations_are_ignored() -> None:
    assert expected_duration(minutes(0, -3), CONFIGURED) == CONFIGURED
    assert expected_duration(minutes(0, 20), CONFIGURED) == timedelta(minutes=20)


def test_rounded_to_whole_seconds() -> None:
    result = expected_duration([timedelta(seconds=10), timedelta(seconds=11)], CONFIGURED)
    assert result == timedelta(seconds=10)  # 10.5 rounds to even


@pytest.mark.parametrize("configured", [timedelta(0), timedelta(minutes=-1)])
def test_configured_value_must_be_positive(configured: timedelta) -> None:
    with pytest.raises(ConfigError) as caught:
        expected_duration([], configured)
    assert caught.value.details["field"] == "expected_deploy_duration"
    assert "17m" in caught.value.hint


def test_history_must_be_positive() -> None:
    with pytest.raises(ConfigError):
        expected_duration(minutes(1), CONFIGURED, history=0)


@given(st.lists(st.integers(1, 10_000), min_size=1, max_size=30))
def test_is_the_median_of_the_last_ten(seconds: list[int]) -> None:
    durations = [timedelta(seconds=s) for s in seconds]
    expected = round(median(seconds[-10:]))
    result = expected_duration(durations, CONFIGURED)
    assert abs(result.total_seconds() - expected) <= 1
    assert min(seconds[-10:]) <= result.total_seconds() <= max(seconds[-10:])
