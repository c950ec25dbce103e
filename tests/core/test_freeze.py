from __future__ import annotations

import re
import tomllib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signalbox.core.errors import ConfigError
from signalbox.core.freeze import (
    DEFAULT_FREEZE_OWNER,
    FreezeWindow,
    materialise,
    parse_freeze_window,
    parse_freeze_windows,
)
from signalbox.core.times import to_zone

BERLIN = "Europe/Berlin"
WEEKEND = FreezeWindow(
    cron="0 16 * * FRI",
    duration=timedelta(hours=64),
    timezone=BERLIN,
    reason="weekend freeze",
)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def config(**overrides: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "cron": "0 16 * * FRI",
        "duration": "64h",
        "timezone": BERLIN,
        "reason": "weekend freeze",
    }
    entry.update(overrides)
    return {key: value for key, value in entry.items() if value is not None}


class TestParse:
    def test_the_documented_example(self) -> None:
        window = parse_freeze_window(config(), where="environments.prod.freeze[0]")
        assert window == WEEKEND
        assert window.owner == DEFAULT_FREEZE_OWNER

    def test_owner_and_whitespace(self) -> None:
        window = parse_freeze_window(
            config(cron=" 0  16 * *   FRI ", owner=" release-managers "), where="f"
        )
        assert (window.cron, window.owner) == ("0 16 * * FRI", "release-managers")

    def test_timezone_defaults_to_the_environment_zone(self) -> None:
        window = parse_freeze_window(config(timezone=None), where="f", default_timezone="UTC")
        assert window.timezone == "UTC"

    def test_a_list(self) -> None:
        windows = parse_freeze_windows([config(), config(cron="0 8 24 12 *")], where="f")
        assert [w.cron for w in windows] == ["0 16 * * FRI", "0 8 24 12 *"]

    @pytest.mark.parametrize(
        ("overrides", "field", "words"),
        [
            ({"cron": "0 16 * FRI"}, "f[0].cron", "not a 5-field cron expression"),
            ({"cron": "0 0 16 * * FRI"}, "f[0].cron", "not a 5-field cron expression"),
            ({"cron": "0 25 * * FRI"}, "f[0].cron", "cron cannot read"),
            ({"cron": "0 16 * * FRY"}, "f[0].cron", "cron cannot read"),
            ({"cron": "0 16 31 2 *"}, "f[0].cron", "cron cannot read"),
            ({"cron": 5}, "f[0].cron", "not a 5-field cron expression"),
            ({"duration": "64"}, "f[0].duration", "not a duration"),
            ({"duration": 64}, "f[0].duration", "not a duration"),
            ({"timezone": "Europe/Berln"}, "f[0].timezone", "not a known time zone"),
            ({"timezone": None}, "f[0].timezone", "is missing"),
            ({"reason": " "}, "f[0].reason", "non-empty text"),
            ({"reason": None}, "f[0].reason", "is missing"),
            ({"cron": None}, "f[0].cron", "is missing"),
            ({"owner": ""}, "f[0].owner", "non-empty text"),
            ({"durations": "1h"}, "f[0].durations", "not a freeze window setting"),
        ],
    )
    def test_errors_name_the_bad_field(
        self, overrides: dict[str, Any], field: str, words: str
    ) -> None:
        with pytest.raises(ConfigError) as caught:
            parse_freeze_windows([config(**overrides)], where="f")
        assert caught.value.details["field"] == field
        assert caught.value.message.startswith(field)
        assert words in caught.value.message
        assert caught.value.hint

    def test_cron_errors_explain_the_five_fields(self) -> None:
        with pytest.raises(ConfigError) as caught:
            parse_freeze_window(config(cron="every friday"), where="f")
        assert "minute hour day-of-month month day-of-week" in caught.value.hint

    def test_not_a_list_or_not_a_table(self) -> None:
        with pytest.raises(ConfigError) as caught:
            parse_freeze_windows(config(), where="environments.prod.freeze")
        assert caught.value.details["field"] == "environments.prod.freeze"
        with pytest.raises(ConfigError) as caught:
            parse_freeze_windows(["0 16 * * FRI"], where="f")
        assert caught.value.details["field"] == "f[0]"


class TestMaterialise:
    def test_a_winter_weekend(self) -> None:
        views = materialise([WEEKEND], "prod", utc(2026, 11, 24), utc(2026, 11, 30))
        assert len(views) == 1
        view = views[0]
        assert (view.starts, view.ends) == (utc(2026, 11, 27, 15), utc(2026, 11, 30, 7))
        assert (view.id, view.kind, view.environment) == (None, "freeze", "prod")
        assert (view.owner, view.reason) == (DEFAULT_FREEZE_OWNER, "weekend freeze")

    def test_16_00_local_on_both_sides_of_the_spring_change(self) -> None:
        # Clocks go forward on Sunday 29 March 2026 in Berlin.
        views = materialise([WEEKEND], "prod", utc(2026, 3, 24), utc(2026, 4, 6))
        starts = [to_zone(v.starts, BERLIN) for v in views]
        ends = [to_zone(v.ends, BERLIN) for v in views]
        assert [(s.day, s.hour, s.tzname()) for s in starts] == [(27, 16, "CET"), (3, 16, "CEST")]
        # Monday 08:00 local: the weekend that spans the change is an hour shorter in UTC.
        assert [(e.day, e.hour) for e in ends] == [(30, 8), (6, 8)]
        assert views[0].ends - views[0].starts == timedelta(hours=63)
        assert views[1].ends - views[1].starts == timedelta(hours=64)

    def test_16_00_local_across_the_autumn_change(self) -> None:
        views = materialise([WEEKEND], "prod", utc(2026, 10, 20), utc(2026, 11, 2))
        assert [v.starts for v in views] == [utc(2026, 10, 23, 14), utc(2026, 10, 30, 15)]
        assert views[0].ends == utc(2026, 10, 26, 7)  # Mon 08:00 CET, 65h later

    def test_a_window_already_running_at_the_start_of_the_range(self) -> None:
        views = materialise([WEEKEND], "prod", utc(2026, 11, 29, 12), utc(2026, 11, 29, 13))
        assert [(v.starts, v.ends) for v in views] == [
            (utc(2026, 11, 27, 15), utc(2026, 11, 30, 7))
        ]

    def test_ranges_touching_the_edges(self) -> None:
        assert materialise([WEEKEND], "prod", utc(2026, 11, 30, 7), utc(2026, 12, 4, 15)) == []
        assert len(materialise([WEEKEND], "prod", utc(2026, 12, 4, 14), utc(2026, 12, 4, 16)))

    def test_a_start_in_the_skipped_hour_is_shifted_by_that_hour(self) -> None:
        nightly = FreezeWindow("30 2 * * *", timedelta(minutes=30), BERLIN, "backup")
        views = materialise([nightly], "prod", utc(2026, 3, 28, 12), utc(2026, 3, 29, 12))
        assert [to_zone(v.starts, BERLIN).strftime("%H:%M %Z") for v in views] == ["03:30 CEST"]

    def test_overlapping_occurrences_are_each_kept(self) -> None:
        every_hour = FreezeWindow("0 * * * *", timedelta(minutes=90), "UTC", "busy")
        views = materialise([every_hour], "dev", utc(2026, 1, 1, 10), utc(2026, 1, 1, 12))
        assert [(v.starts.hour, v.ends.hour, v.ends.minute) for v in views] == [
            (9, 10, 30),
            (10, 11, 30),
            (11, 12, 30),
        ]

    def test_the_previous_weekend_still_running_on_monday_morning(self) -> None:
        views = materialise([WEEKEND], "prod", utc(2026, 11, 23), utc(2026, 11, 23, 1))
        assert [v.starts for v in views] == [utc(2026, 11, 20, 15)]

    def test_several_windows_are_sorted(self) -> None:
        christmas = FreezeWindow("0 0 24 12 *", timedelta(days=3), BERLIN, "christmas", "cto")
        views = materialise([christmas, WEEKEND], "prod", utc(2026, 12, 20), utc(2026, 12, 28))
        assert [v.reason for v in views] == ["weekend freeze", "christmas", "weekend freeze"]
        assert views[1].owner == "cto"


@settings(max_examples=60, deadline=None)
@given(
    first=st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2030, 1, 1)),
    days=st.integers(1, 40),
    zone=st.sampled_from([BERLIN, "America/New_York", "Australia/Sydney", "UTC"]),
)
def test_every_friday_16_00_local_is_covered_exactly(first: datetime, days: int, zone: str) -> None:
    window = FreezeWindow("0 16 * * FRI", timedelta(hours=64), zone, "weekend freeze")
    start = first.replace(tzinfo=UTC)
    end = start + timedelta(days=days)
    views = materialise([window], "prod", start, end)
    for view in views:
        local_start, local_end = to_zone(view.starts, zone), to_zone(view.ends, zone)
        assert (local_start.strftime("%a"), local_start.hour, local_start.minute) == ("Fri", 16, 0)
        assert (local_end.strftime("%a"), local_end.hour) == ("Mon", 8)
        assert view.starts < end and view.ends > start
    # Every instant of the range that is Fri 16:00 .. Mon 08:00 local is inside a window.
    probe = start
    while probe < end:
        local = to_zone(probe, zone)
        weekday, hour = local.weekday(), local.hour
        in_freeze = (
            (weekday == 4 and hour >= 16) or weekday in (5, 6) or (weekday == 0 and hour < 8)
        )
        covered = any(v.starts <= probe < v.ends for v in views)
        assert covered is in_freeze, probe
        probe += timedelta(hours=3, minutes=7)


def test_the_documented_configuration_is_valid() -> None:
    rules = Path(__file__).resolve().parents[2] / "docs" / "rules.md"
    block = re.search(r"```toml\n(.*?)```", rules.read_text(encoding="utf-8"), re.S)
    assert block is not None
    document = tomllib.loads(block.group(1))
    windows = parse_freeze_windows(
        document["environments"]["prod"]["freeze"],
        where="environments.prod.freeze",
        default_timezone=BERLIN,
    )
    assert [w.reason for w in windows] == ["weekend freeze", "end-of-year freeze"]
    assert windows[0] == replace(WEEKEND, owner="release-managers")
