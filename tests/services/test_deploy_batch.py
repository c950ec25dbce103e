"""Deciding every waiting deploy of an environment at once (what a change wakes)."""

from __future__ import annotations

from tests.services.deploy_helpers import deploy, engineer_holds_dev, finish

from signalbox.services.deploys import decide_waiting


def queue_of_five(engine, settings, clock):
    running = deploy(engine, settings, clock, branch="running")
    waiting = [deploy(engine, settings, clock, branch=f"b{i}") for i in range(5)]
    finish(engine, settings, clock, running)
    return [answer.deploy.id for answer in waiting]


def test_the_head_goes_and_the_others_move_up(engine, settings, clock):
    ids = queue_of_five(engine, settings, clock)
    answers = decide_waiting(engine, settings, environment="dev", present=ids, now=clock.now())
    assert answers[ids[0]].decision == "go" and answers[ids[0]].fencing_token == 2
    assert [answers[i].position for i in ids[1:]] == [1, 2, 3, 4]
    assert len({answer.version for answer in answers.values()}) == 1


def test_a_deploy_whose_gate_is_not_asking_is_not_started(engine, settings, clock):
    ids = queue_of_five(engine, settings, clock)
    answers = decide_waiting(engine, settings, environment="dev", present=ids[1:], now=clock.now())
    assert ids[0] not in answers  # its own gate decides it
    assert {answers[i].decision for i in ids[1:]} == {"wait"}


def test_a_hold_refuses_every_waiting_deploy_in_one_go(engine, settings, clock):
    ids = queue_of_five(engine, settings, clock)
    engineer_holds_dev(engine, clock)
    answers = decide_waiting(engine, settings, environment="dev", present=ids, now=clock.now())
    assert {(a.decision, a.reason) for a in answers.values()} == {("refused", "held")}
