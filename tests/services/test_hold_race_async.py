"""The hold routes' path (``run_hold_work``, awaited on an event loop): coroutines race for
the same hold round after round; on SQLite their works meet in the writer thread's group
commits, on PostgreSQL each runs in a worker thread.

Exactly one wins each round; every fencing token is issued once, in order; each grant's
event is written with it. A work for an unknown environment fails alone, and a caller that
goes away (its coroutine cancelled) does not undo a work that was queued.
"""

from __future__ import annotations

import asyncio

import pytest
from tests.services.test_hold_races import (
    LEASE,
    ROUNDS,
    assert_one_winner_per_round_and_tokens_in_order,
)
from tests.services.test_hold_races import round_start as start_of

from signalbox.core.errors import UnknownEnvironment
from signalbox.core.holds import Granted
from signalbox.core.views import Principal
from signalbox.services.events import list_events
from signalbox.services.holds import acquiring, releasing, run_hold_work


async def _contend(engine, name: str, round_number: int):
    work = acquiring(
        environment="dev",
        principal=Principal(name, False),
        reason=f"round {round_number}",
        duration=LEASE,
        now=start_of(round_number),
    )
    decision = await run_hold_work(engine, work)
    if isinstance(decision, Granted):
        assert not decision.renewed
        return round_number, name, True, decision.hold.fencing_token
    return round_number, name, False, None


def test_coroutines_race_for_the_same_hold(engine):
    contenders = 16

    async def rounds():
        results = []
        for round_number in range(ROUNDS):
            names = [f"person-{index}" for index in range(contenders)]
            found = await asyncio.gather(*(_contend(engine, n, round_number) for n in names))
            results.extend(found)
            [(_, winner, _, _)] = [result for result in found if result[2]]
            if round_number % 2 == 0:  # even rounds: released; odd: left to lapse
                work = releasing(
                    environment="dev",
                    principal=Principal(winner, False),
                    now=start_of(round_number),
                )
                await run_hold_work(engine, work)
        return results

    results = asyncio.run(rounds())
    assert len(results) == contenders * ROUNDS
    assert_one_winner_per_round_and_tokens_in_order(results, engine)


def test_a_work_for_an_unknown_environment_fails_alone(engine):
    async def three():
        works = [
            acquiring(
                environment=name,
                principal=Principal("alice", False),
                reason="x",
                duration=LEASE,
                now=start_of(0),
            )
            for name in ("dev", "nope", "prod")
        ]
        return await asyncio.gather(
            *(run_hold_work(engine, w) for w in works), return_exceptions=True
        )

    dev, nope, prod = asyncio.run(three())
    assert isinstance(nope, UnknownEnvironment)
    assert isinstance(dev, Granted) and isinstance(prod, Granted)
    granted = [event.environment for event in list_events(engine) if event.kind == "hold.granted"]
    assert sorted(granted) == ["dev", "prod"]


def test_a_cancelled_caller_does_not_undo_its_queued_work(engine):
    if engine.dialect.name != "sqlite":  # there a cancelled caller's thread may not start
        pytest.skip("SQLite's writer thread: a queued work is done once queued")

    def hold(name: str):
        principal = Principal(name, False)
        return acquiring(
            environment=name, principal=principal, reason="x", duration=LEASE, now=start_of(0)
        )

    async def cancel_one():
        gone = asyncio.ensure_future(run_hold_work(engine, hold("dev")))
        await asyncio.sleep(0)  # one turn of the loop: the coroutine has queued its work
        gone.cancel()
        with pytest.raises(asyncio.CancelledError):
            await gone
        # queued after it: on SQLite the writer takes works in order, so it is done by now
        return await run_hold_work(engine, hold("prod"))

    assert isinstance(asyncio.run(cancel_one()), Granted)
    granted = [event.environment for event in list_events(engine) if event.kind == "hold.granted"]
    assert sorted(granted) == ["dev", "prod"]
