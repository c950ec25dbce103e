"""The one duration grammar: what it reads, what it refuses and why, and how it prints."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from signalbox.core.durations import MAX_DURATION, UNITS, format_duration, parse_duration
from signalbox.core.errors import InvalidDuration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("30m", 1800),
        ("4h", 14400),
        ("1h30m", 5400),
        ("90m", 5400),
        ("2d", 172800),
        ("1d12h", 129600),
        ("45s", 45),
        ("1d2h3m4s", 93784),
        (" 1h 30m ", 5400),
    ],
)
def test_durations_people_type_are_read(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("1h1h", "Write each unit once (h appears more than once)"),
        ("30m30m", "Write each unit once (m appears more than once)"),
        ("30m1h", "Write the units largest first (d, h, m, s)"),
        ("1s1d", "Write the units largest first (d, h, m, s)"),
        ("90", "Write a number and a unit"),
        ("1x", "Write a number and a unit"),
        ("", "Write a number and a unit"),
        ("h", "Write a number and a unit"),
    ],
)
def test_repeated_or_misordered_units_are_refused_saying_why(text: str, why: str) -> None:
    with pytest.raises(InvalidDuration) as refused:
        parse_duration(text)
    assert refused.value.message == f"{text!r} is not a duration."
    assert refused.value.hint.startswith(why)


def test_zero_is_not_a_duration() -> None:
    with pytest.raises(InvalidDuration, match="not a positive duration"):
        parse_duration("0m")


@pytest.mark.parametrize("text", ["3651d", "1000000000000000000000s", "9" * 5000 + "s"])
def test_a_duration_beyond_the_longest_is_refused_not_overflowed(text: str) -> None:
    with pytest.raises(InvalidDuration) as refused:
        parse_duration(text)
    assert "longer than the longest duration signalbox reads, 3650d" in refused.value.message


@pytest.mark.parametrize(
    ("value", "printed"),
    [
        (timedelta(days=15), "15d"),
        (timedelta(minutes=90), "1h30m"),
        (timedelta(hours=36), "1d12h"),
        (timedelta(seconds=45), "45s"),
        (timedelta(0), "0s"),
        (timedelta(seconds=-5), "0s"),
    ],
)
def test_durations_are_printed_as_they_are_typed(value: timedelta, printed: str) -> None:
    assert format_duration(value) == printed


lengths = st.integers(min_value=1, max_value=int(MAX_DURATION.total_seconds()))


@given(seconds=lengths)
def test_what_is_printed_reads_back_as_the_same_duration(seconds: int) -> None:
    value = timedelta(seconds=seconds)
    assert parse_duration(format_duration(value)) == value


ORDER = list(UNITS)
texts = st.one_of(
    st.text(alphabet="0123456789dhms ", max_size=14),
    st.lists(
        st.tuples(st.integers(min_value=0, max_value=999), st.sampled_from(ORDER)), max_size=5
    ).map(lambda parts: "".join(f"{n}{unit}" for n, unit in parts)),
)


@given(text=texts)
def test_whatever_is_accepted_names_each_unit_once_largest_first(text: str) -> None:
    try:
        value = parse_duration(text)
    except InvalidDuration:
        return
    units = re.findall(r"[dhms]", text)
    assert len(units) == len(set(units))
    assert units == sorted(units, key=ORDER.index)
    assert timedelta(0) < value <= MAX_DURATION
