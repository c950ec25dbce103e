from __future__ import annotations

import math
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from signalbox.core.deploy_stats import (
    DEFAULT_HISTORY,
    DeployEstimate,
    estimate_duration,
    expected_duration,
    percentile,
    remember_success,
)
from signalbox.core.durations import format_duration
from signalbox.core.errors import ConfigError

CONFIGURED = timedelta(minutes=17)


def minutes(*values: float) -> list[timedelta]:
    return [timedelta(minutes=v) for v in values]


def test_configured_value_without_history() -> None:
    estimate = estimate_duration([], CONFIGURED)
    assert estimate == DeployEstimate(CONFIGURED, CONFIGURED, None, 0)
    assert estimate.explain() == (
        "17m: the configured expected_deploy, with no successful deploy to learn from yet"
    )


def test_one_instant_deploy_does_not_shrink_the_estimate() -> None:
    """The issue's case: one 0-second (or 1-second) approved deploy made the median 0 s and
    let a 17-minute pipeline into a demo window."""
    assert expected_duration([timedelta(seconds=0)], CONFIGURED) == CONFIGURED
    assert expected_duration([timedelta(seconds=1)], CONFIGURED) == CONFIGURED
    assert expected_duration(minutes(4, 4, 4, 4, 0.1), CONFIGURED) == CONFIGURED


def test_says_which_figure_it_used_and_why() -> None:
    fast = estimate_duration(minutes(*([4] * 20)), CONFIGURED)
    assert fast.duration == CONFIGURED and not fast.from_history
    assert fast.explain() == (
        "17m: the configured expected_deploy, larger than the p90 of the last 20 deploys, 4m"
    )
    slow = estimate_duration(minutes(20, 25, 30), CONFIGURED)
    assert slow.duration == timedelta(minutes=30) and slow.from_history
    assert slow.explain() == (
        "30m: the p90 of the last 3 deploys, larger than the configured expected_deploy, 17m"
    )
    one = estimate_duration(minutes(17), CONFIGURED)
    assert (
        one.explain()
        == "17m: the configured expected_deploy, the same as the p90 of the last deploy, 17m"
    )


def test_a_slow_pipeline_is_judged_by_its_p90() -> None:
    # nine quick runs and one that took 40 minutes: the p90 of ten is the ninth smallest
    history = minutes(*([20] * 9), 40)
    assert expected_duration(history, CONFIGURED) == timedelta(minutes=20)
    assert expected_duration([*history, *minutes(40)], CONFIGURED) == timedelta(minutes=40)


def test_only_the_last_twenty_count_by_default() -> None:
    history = minutes(*([90] * 5), *([20] * 20))
    assert DEFAULT_HISTORY == 20
    assert expected_duration(history, CONFIGURED) == timedelta(minutes=20)
    assert expected_duration(history, CONFIGURED, history=25) == timedelta(minutes=90)
    assert len(remember_success([60.0] * 20, 1.0)) == 20


def test_non_positive_durations_are_ignored() -> None:
    assert expected_duration(minutes(0, -3), CONFIGURED) == CONFIGURED
    assert expected_duration(minutes(0, 20), CONFIGURED) == timedelta(minutes=20)


def test_rounded_to_whole_seconds() -> None:
    result = expected_duration([timedelta(seconds=1100.6)], CONFIGURED)
    assert result == timedelta(seconds=1101)


def test_percentile_is_by_nearest_rank() -> None:
    values = [timedelta(seconds=s) for s in range(1, 11)]
    assert percentile(values) == timedelta(seconds=9)
    assert percentile(values[:1]) == timedelta(seconds=1)
    with pytest.raises(ValueError):
        percentile([])


@pytest.mark.parametrize("configured", [timedelta(0), timedelta(minutes=-1)])
def test_configured_value_must_be_positive(configured: timedelta) -> None:
    with pytest.raises(ConfigError) as caught:
        expected_duration([], configured)
    assert caught.value.details["field"] == "expected_deploy_duration"
    assert "17m" in caught.value.hint


def test_history_must_be_positive() -> None:
    with pytest.raises(ConfigError):
        expected_duration(minutes(1), CONFIGURED, history=0)


@given(
    st.lists(st.integers(-5, 10_000), max_size=40),
    st.integers(1, 5_000),
)
def test_never_below_the_configured_figure_nor_the_p90(seconds: list[int], configured: int) -> None:
    """Whatever the history, the estimate is the larger of the configured figure and the
    p90 of the last twenty positive durations: at least as long as nine in ten of them."""
    durations = [timedelta(seconds=s) for s in seconds]
    estimate = estimate_duration(durations, timedelta(seconds=configured))
    result = estimate.duration.total_seconds()
    usable = sorted(s for s in seconds[-DEFAULT_HISTORY:] if s > 0)
    assert result >= configured
    if usable:
        at_most = sum(1 for s in usable if s <= result)
        assert at_most >= math.ceil(0.9 * len(usable))
        assert result == max(configured, usable[math.ceil(0.9 * len(usable)) - 1])
        assert estimate.count == len(usable)
    else:
        assert result == configured and estimate.observed is None
    assert estimate.explain().startswith(f"{format_duration(estimate.duration)}: ")
