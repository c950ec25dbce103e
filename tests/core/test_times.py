from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from signalbox.core.errors import ConfigError, InvalidInput, InvalidTime
from signalbox.core.times import (
    format_local,
    format_utc,
    load_zone,
    parse_when,
    require_utc,
    to_zone,
)

BERLIN = "Europe/Berlin"
# 26 Nov 2026 is a Thursday; Berlin is on CET (UTC+1).
NOW = datetime(2026, 11, 26, 13, 44, tzinfo=UTC)


def test_clock_time_is_today_in_the_zone() -> None:
    assert parse_when("15:30", now=NOW, tz=BERLIN) == datetime(2026, 11, 26, 14, 30, tzinfo=UTC)


def test_clock_time_today_uses_the_local_date_not_the_utc_date() -> None:
    late_utc = datetime(2026, 11, 26, 23, 30, tzinfo=UTC)  # already 27 Nov in Berlin
    assert parse_when("09:00", now=late_utc, tz=BERLIN) == datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def test_clock_time_in_the_past_is_still_today() -> None:
    assert parse_when("08:00", now=NOW, tz=BERLIN) == datetime(2026, 11, 26, 7, 0, tzinfo=UTC)


def test_clock_time_with_seconds_and_single_digit_hour() -> None:
    assert parse_when("9:05:30", now=NOW, tz="UTC") == datetime(2026, 11, 26, 9, 5, 30, tzinfo=UTC)


@pytest.mark.parametrize("text", ["2026-11-26 15:30", "2026-11-26T15:30", " 2026-11-26T15:30:00 "])
def test_local_date_and_time(text: str) -> None:
    assert parse_when(text, now=NOW, tz=BERLIN) == datetime(2026, 11, 26, 14, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-26T15:30:00+01:00",
        "2026-11-26T14:30Z",
        "2026-11-26 09:30-05:00",
        "2026-11-26T14:30z",
    ],
)
def test_iso_with_offset_ignores_the_zone(text: str) -> None:
    assert parse_when(text, now=NOW, tz="Asia/Tokyo") == datetime(2026, 11, 26, 14, 30, tzinfo=UTC)


def test_summer_time_offset_is_used_in_summer() -> None:
    assert parse_when("2026-07-01 15:30", now=NOW, tz=BERLIN) == datetime(
        2026, 7, 1, 13, 30, tzinfo=UTC
    )


@pytest.mark.parametrize(
    "text",
    ["25:99", "24:00", "12:60", "tomorrow", "", "15.30", "2026-13-01 10:00", "2026-02-30T10:00"],
)
def test_bad_times_are_refused_with_the_accepted_forms(text: str) -> None:
    with pytest.raises(InvalidTime) as caught:
        parse_when(text, now=NOW, tz=BERLIN)
    assert repr(text) in caught.value.message
    assert "15:30 (today)" in caught.value.hint
    assert "2026-11-26T15:30" in caught.value.hint
    assert caught.value.code == "invalid-time"


def test_a_time_skipped_by_the_spring_change_is_refused() -> None:
    with pytest.raises(InvalidTime) as caught:
        parse_when("2026-03-29 02:30", now=NOW, tz=BERLIN)
    assert "does not exist in Europe/Berlin" in caught.value.message
    assert "2026-03-29 03:30" in caught.value.hint


def test_an_ambiguous_autumn_time_is_the_first_occurrence() -> None:
    # 02:30 happens twice on 25 Oct 2026 in Berlin: first at CEST (UTC+2).
    assert parse_when("2026-10-25 02:30", now=NOW, tz=BERLIN) == datetime(
        2026, 10, 25, 0, 30, tzinfo=UTC
    )


@pytest.mark.parametrize(
    "zone", ["Europe/Berln", "", "../etc/passwd", "/etc/localtime", "Mars/Base"]
)
def test_unknown_time_zone_is_a_config_error_with_a_hint(zone: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_when("15:30", now=NOW, tz=zone)
    assert "not a known time zone" in caught.value.message
    assert "Europe/Berlin" in caught.value.hint
    assert caught.value.details["field"] == "timezone"


def test_load_zone_returns_the_zone() -> None:
    assert load_zone("America/New_York").key == "America/New_York"


def test_naive_now_is_refused() -> None:
    with pytest.raises(InvalidInput):
        parse_when("15:30", now=datetime(2026, 11, 26, 13, 0), tz=BERLIN)
    with pytest.raises(InvalidInput):
        require_utc(datetime(2026, 1, 1))


def test_to_zone() -> None:
    local = to_zone(datetime(2026, 11, 26, 14, 30, tzinfo=UTC), BERLIN)
    assert (local.hour, local.minute, local.tzname()) == (15, 30, "CET")


def test_format_local_today_is_the_clock_time_and_zone() -> None:
    assert format_local(datetime(2026, 11, 26, 14, 30, tzinfo=UTC), BERLIN, now=NOW) == "15:30 CET"


def test_format_local_another_day_has_weekday_day_and_month() -> None:
    when = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
    assert format_local(when, BERLIN, now=NOW) == "Fri 27 Nov 16:00 CET"


def test_format_local_another_year_has_the_year() -> None:
    when = datetime(2027, 1, 4, 8, 0, tzinfo=UTC)
    assert format_local(when, BERLIN, now=NOW) == "Mon 4 Jan 2027 09:00 CET"


def test_format_local_summer_abbreviation() -> None:
    when = datetime(2026, 7, 3, 14, 0, tzinfo=UTC)
    assert format_local(when, BERLIN, now=NOW) == "Fri 3 Jul 16:00 CEST"


def test_format_utc() -> None:
    berlin_time = datetime(2026, 11, 26, 14, 0, tzinfo=timezone(timedelta(hours=1)))
    assert format_utc(berlin_time) == "2026-11-26T13:00Z"
    assert format_utc(datetime(2026, 11, 26, 13, 0, 5, tzinfo=UTC)) == "2026-11-26T13:00:05Z"


zones = st.sampled_from(["UTC", BERLIN, "America/New_York", "Asia/Kolkata", "Australia/Sydney"])
instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)
)


@given(instant=instants, zone=zones)
def test_iso_with_offset_round_trips(instant: datetime, zone: str) -> None:
    instant = instant.replace(microsecond=0)
    assert parse_when(instant.isoformat(), now=NOW, tz=zone) == instant


@given(instant=instants, zone=zones)
def test_local_rendering_parses_back_to_the_same_minute(instant: datetime, zone: str) -> None:
    instant = instant.replace(second=0, microsecond=0)
    local = to_zone(instant, zone)
    parsed = parse_when(f"{local:%Y-%m-%d %H:%M}", now=NOW, tz=zone)
    # Equal unless the local time is the second of two identical wall times (autumn change).
    assert parsed == instant or (local.fold == 1 and parsed < instant)


@given(now=instants, zone=zones, hour=st.integers(0, 23), minute=st.integers(0, 59))
def test_clock_time_lands_on_the_local_date_of_now(
    now: datetime, zone: str, hour: int, minute: int
) -> None:
    try:
        parsed = parse_when(f"{hour:02d}:{minute:02d}", now=now, tz=zone)
    except InvalidTime:
        return  # skipped by a daylight-saving change: tested above
    local = to_zone(parsed, zone)
    assert local.date() == to_zone(now, zone).date()
    assert (local.hour, local.minute) == (hour, minute)
