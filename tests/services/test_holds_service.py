"""Holds through the database: every change stored with its event, nothing on refusal."""

from __future__ import annotations

from datetime import timedelta

import pytest

from signalbox.core.errors import (
    InvalidInput,
    NotHolder,
    StaleFencingToken,
    UnknownEnvironment,
)
from signalbox.core.holds import Denied, Granted
from signalbox.core.views import Principal
from signalbox.services.events import list_events
from signalbox.services.holds import (
    acquire_hold,
    current_hold,
    denial_error,
    expire_lapsed,
    force_release,
    release_hold,
    renew_hold,
)

ENGINEER = Principal("platform-eng", is_ci=False)
CI = Principal("ci-dev", is_ci=True)
ADMIN = Principal("root", is_ci=False)
FOUR_HOURS = timedelta(hours=4)


def hold(
    engine, clock, who=ENGINEER, *, env="dev", reason="renaming cognito pool", duration=FOUR_HOURS
):
    return acquire_hold(
        engine, environment=env, principal=who, reason=reason, duration=duration, now=clock.now()
    )


def kinds(engine, env="dev"):
    return [event.kind for event in list_events(engine, environment=env)]


def test_grant_then_refusal_names_the_holder_in_the_environment_zone(engine, clock):
    granted = hold(engine, clock)
    assert isinstance(granted, Granted) and granted.hold.fencing_token == 1
    clock.advance(timedelta(minutes=104))
    refused = hold(engine, clock, CI, reason="deploy")
    assert isinstance(refused, Denied)
    error = denial_error(refused, "Europe/Berlin", now=clock.now())
    assert error.message == (
        "dev is held by platform-eng since 13:00 CET until 17:00 CET: renaming cognito pool."
    )
    assert error.hint == "Ask platform-eng, or wait for `signalbox release dev`."
    assert error.details["holder"] == "platform-eng"
    assert kinds(engine) == ["hold.granted", "environment.added"]


def test_renew_keeps_the_token_and_writes_an_event(engine, clock):
    hold(engine, clock)
    clock.advance(timedelta(hours=3))
    renewed = renew_hold(
        engine, environment="dev", principal=ENGINEER, now=clock.now(), fencing_token=1
    )
    assert renewed.fencing_token == 1 and renewed.until == clock.now() + FOUR_HOURS
    with pytest.raises(StaleFencingToken):
        renew_hold(engine, environment="dev", principal=ENGINEER, now=clock.now(), fencing_token=0)
    with pytest.raises(NotHolder):
        renew_hold(engine, environment="dev", principal=CI, now=clock.now())
    assert kinds(engine)[:2] == ["hold.renewed", "hold.granted"]


def test_release_by_a_non_holder_changes_nothing(engine, clock):
    hold(engine, clock)
    with pytest.raises(NotHolder, match="platform-eng"):
        release_hold(engine, environment="dev", principal=CI, now=clock.now())
    assert current_hold(engine, environment="dev", now=clock.now()).owner == ENGINEER
    release_hold(engine, environment="dev", principal=ENGINEER, now=clock.now())
    assert current_hold(engine, environment="dev", now=clock.now()) is None
    granted = hold(engine, clock, CI, reason="deploy")
    assert granted.hold.fencing_token == 2
    assert kinds(engine)[:3] == ["hold.granted", "hold.released", "hold.granted"]


def test_lapse_frees_the_environment_with_an_event_and_tokens_keep_growing(engine, clock):
    hold(engine, clock, duration=timedelta(minutes=30))
    clock.advance(timedelta(minutes=29))
    assert expire_lapsed(engine, now=clock.now()) == []
    clock.advance(timedelta(minutes=1))
    assert current_hold(engine, environment="dev", now=clock.now()) is None
    [lapsed] = expire_lapsed(engine, now=clock.now())
    assert lapsed.owner == ENGINEER
    assert expire_lapsed(engine, now=clock.now()) == []
    [event] = [e for e in list_events(engine, environment="dev") if e.kind == "hold.lapsed"]
    assert "lapsed at 13:30 CET" in event.message
    assert hold(engine, clock, CI, reason="deploy").hold.fencing_token == 2


def test_acquire_over_a_lapsed_hold_writes_the_lapse_too(engine, clock):
    hold(engine, clock, duration=timedelta(minutes=30))
    clock.advance(timedelta(hours=1))
    granted = hold(engine, clock, CI, reason="deploy")
    assert granted.lapsed is not None and granted.hold.fencing_token == 2
    assert kinds(engine)[:3] == ["hold.granted", "hold.lapsed", "hold.granted"]


def test_force_release_needs_a_reason_and_names_the_holder(engine, clock):
    hold(engine, clock)
    with pytest.raises(InvalidInput):
        force_release(engine, environment="dev", admin=ADMIN, reason=" ", now=clock.now())
    released = force_release(
        engine, environment="dev", admin=ADMIN, reason="he is on holiday", now=clock.now()
    )
    assert released.owner == ENGINEER
    [event] = list_events(engine, environment="dev", limit=1)
    assert event.kind == "hold.force-released" and "he is on holiday" in event.message
    with pytest.raises(NotHolder):
        force_release(engine, environment="dev", admin=ADMIN, reason="x", now=clock.now())


def test_environments_are_independent(engine, clock):
    assert hold(engine, clock).hold.fencing_token == 1
    assert hold(engine, clock, CI, env="prod", reason="deploy").hold.fencing_token == 1


def test_unknown_environment_and_bad_input_store_nothing(engine, clock):
    with pytest.raises(UnknownEnvironment, match="dev, prod"):
        hold(engine, clock, env="staging")
    with pytest.raises(InvalidInput):
        hold(engine, clock, reason="")
    assert kinds(engine) == ["environment.added"]


def test_not_holder_names_the_holder_in_local_time(engine, clock):
    hold(engine, clock)
    with pytest.raises(NotHolder) as raised:
        release_hold(engine, environment="dev", principal=CI, now=clock.now())
    assert raised.value.message == (
        "You do not hold dev: dev is held by platform-eng since 13:00 CET until 17:00 CET: "
        "renaming cognito pool."
    )
