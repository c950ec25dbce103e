"""Hotfix versus queued deploys, deciding at once from many threads (SQLite and PostgreSQL):
one deploy at a time (never two running; fencing tokens strictly increase), and the hotfix,
though asked for last, runs first once the deploy that was running ends."""

from __future__ import annotations

import itertools
from datetime import timedelta

from tests.services.deploy_helpers import ROUTINE_PLAN
from tests.services.test_deploy_races import race, running_ids
from tests.support.incidents import insert_incident

from signalbox.core.views import Principal
from signalbox.services.deploys import (
    DeployRequest,
    decide_deploy,
    finish_deploy,
    request_deploy,
)

QUEUED = 6
COMMANDER = Principal("alice", is_ci=False)


def ask(engine, settings, clock, index: int, *, hotfix: int | None = None):
    who = COMMANDER if hotfix is not None else Principal(f"ci{index}", True)
    request = DeployRequest(
        "dev", branch=f"b{index}", commit=f"c{index}", plan=ROUTINE_PLAN, hotfix=hotfix
    )
    return request_deploy(engine, settings, request=request, requester=who, now=clock.now())


def finish(engine, settings, clock, going):
    return finish_deploy(
        engine,
        settings,
        deploy_id=going.deploy.id,
        principal=Principal(going.deploy.requester, going.deploy.requester_is_ci),
        fencing_token=going.fencing_token,
        exit_code=0,
        duration_seconds=1.0,
        now=clock.now(),
    )


def test_the_hotfix_asked_last_runs_first_and_never_beside_another(engine, settings, clock):
    first = ask(engine, settings, clock, 0)
    assert first.decision == "go"
    queued = race(QUEUED, lambda i: ask(engine, settings, clock, i + 1))
    assert sorted(answer.decision for answer in queued) == ["wait"] * QUEUED
    incident = insert_incident(engine, now=clock.now(), freezes=False)  # the queue stays

    # the queued gates ask again while the hotfix is asked for: nothing else may start
    def queued_or_hotfix(index: int):
        if index == QUEUED:
            return ask(engine, settings, clock, 99, hotfix=incident)
        return decide_deploy(engine, settings, deploy_id=queued[index].deploy.id, now=clock.now())

    answers = race(QUEUED + 1, queued_or_hotfix)
    hotfix = answers[QUEUED]
    assert (hotfix.decision, hotfix.position) == ("wait", 1)
    assert all(answer.decision == "wait" for answer in answers)
    assert running_ids(engine) == [first.deploy.id]

    tokens = [first.fencing_token]
    order = []
    going = first
    waiting = [hotfix, *queued]
    for _round in range(QUEUED + 1):
        clock.advance(timedelta(seconds=1))
        finish(engine, settings, clock, going)
        answers = race(
            len(waiting),
            lambda i, w=waiting: decide_deploy(
                engine, settings, deploy_id=w[i].deploy.id, now=clock.now()
            ),
        )
        started = [answer for answer in answers if answer.decision == "go"]
        assert len(started) == 1, [answer.decision for answer in answers]
        going = started[0]
        assert running_ids(engine) == [going.deploy.id]
        tokens.append(going.fencing_token)
        order.append(going.deploy.id)
        waiting = [answer for answer in answers if answer.decision == "wait"]
    assert order[0] == hotfix.deploy.id  # asked for last, ran first
    assert order[1:] == sorted(answer.deploy.id for answer in queued)  # then in arrival order
    assert all(a < b for a, b in itertools.pairwise(tokens))  # strictly increasing
