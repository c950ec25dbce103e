"""A waiting gate is told whom it waits behind and about how long: the deploy directly
ahead, and the environment's expected deploy duration for each deploy ahead, less what the
running one already took. Through the database, with an injected clock (dev's configured
expected deploy is 17 minutes)."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

from tests.services.deploy_helpers import decide, deploy, heartbeat

from signalbox.services.deploys import touch_waiting

MINUTES_17 = 17 * 60


def test_a_waiting_answer_names_the_deploy_ahead_and_about_how_long(engine, settings, clock):
    settings = dataclasses.replace(settings, deploy_lease_seconds=3600)  # no lapse here
    running = deploy(engine, settings, clock, branch="a")
    second = deploy(engine, settings, clock, branch="b")
    third = deploy(engine, settings, clock, branch="c")
    assert (second.decision, second.position, second.ahead) == ("wait", 1, running.deploy.id)
    assert second.expected_wait_seconds == MINUTES_17  # the running one just started
    assert (third.position, third.ahead) == (2, second.deploy.id)
    assert third.expected_wait_seconds == 2 * MINUTES_17

    clock.advance(timedelta(minutes=5))
    heartbeat(engine, settings, clock, running)
    touch_waiting(engine, [second.deploy.id, third.deploy.id], now=clock.now())
    assert decide(engine, settings, clock, second.deploy.id).expected_wait_seconds == 12 * 60
    assert decide(engine, settings, clock, third.deploy.id).expected_wait_seconds == 29 * 60


def test_no_estimate_is_given_once_the_deploy_ahead_overran(engine, settings, clock):
    settings = dataclasses.replace(settings, deploy_lease_seconds=3600)
    running = deploy(engine, settings, clock, branch="a")
    second = deploy(engine, settings, clock, branch="b")
    clock.advance(timedelta(minutes=20))  # 3 minutes past its expected 17
    heartbeat(engine, settings, clock, running)
    touch_waiting(engine, [second.deploy.id], now=clock.now())
    told = decide(engine, settings, clock, second.deploy.id)
    assert (told.decision, told.ahead) == ("wait", running.deploy.id)
    assert told.expected_wait_seconds is None  # it may end any moment: no figure to give


def test_only_a_waiting_answer_carries_them(engine, settings, clock):
    running = deploy(engine, settings, clock)
    assert running.decision == "go"
    assert (running.ahead, running.expected_wait_seconds) == (None, None)
