"""Concurrency: many threads and several processes race for the same hold, round after round.

Exactly one wins each round; every fencing token is issued once, in order (1, 2, 3, ...),
whether the previous hold was released or lapsed. On SQLite (a file, BEGIN IMMEDIATE) and on
PostgreSQL (SELECT ... FOR UPDATE) when SIGNALBOX_TEST_DATABASE_URL is set.
Synchronised with barriers: no sleeps.
"""

from __future__ import annotations

import multiprocessing
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from signalbox.core.holds import Granted
from signalbox.core.views import Principal
from signalbox.services.holds import acquire_hold, release_hold
from signalbox.storage import UnitOfWork, build_engine
from signalbox.storage.tables import EventRow, HoldRow

T0 = datetime(2026, 11, 26, 13, 0, tzinfo=UTC)
ROUNDS = 12
LEASE = timedelta(minutes=30)


def round_start(round_number: int) -> datetime:
    """Every round is an hour after the last, so an unreleased hold has lapsed by then."""
    return T0 + timedelta(hours=round_number)


def contend(engine, name: str, round_number: int) -> tuple[int, str, bool, int | None]:
    decision = acquire_hold(
        engine,
        environment="dev",
        principal=Principal(name, False),
        reason=f"round {round_number}",
        duration=LEASE,
        now=round_start(round_number),
    )
    if isinstance(decision, Granted):
        assert not decision.renewed
        return round_number, name, True, decision.hold.fencing_token
    return round_number, name, False, None


def finish_round(engine, result, round_number: int) -> None:
    """Even rounds: the winner releases. Odd rounds: the hold is left to lapse."""
    _, name, granted, _ = result
    if granted and round_number % 2 == 0:
        release_hold(
            engine,
            environment="dev",
            principal=Principal(name, False),
            now=round_start(round_number) + timedelta(minutes=1),
        )


def assert_one_winner_per_round_and_tokens_in_order(results, engine, rounds=ROUNDS):
    winners = {}
    for round_number, _name, granted, token in results:
        if granted:
            assert round_number not in winners, f"two winners in round {round_number}"
            winners[round_number] = token
    assert sorted(winners) == list(range(rounds)), "a round without a winner"
    assert [winners[r] for r in range(rounds)] == list(range(1, rounds + 1))
    with UnitOfWork(engine, read_only=True) as uow:
        tokens = list(uow.session.scalars(select(HoldRow.fencing_token).order_by(HoldRow.id)))
        granted_events = uow.session.scalar(
            select(func.count()).select_from(EventRow).where(EventRow.kind == "hold.granted")
        )
        assert uow.environments.get("dev").last_fencing_token == rounds
    assert tokens == list(range(1, rounds + 1))
    assert granted_events == rounds


def test_threads_race_for_the_same_hold(engine):
    contenders = 16
    barrier = threading.Barrier(contenders)
    results: list[tuple[int, str, bool, int | None]] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def worker(index: int) -> None:
        try:
            for round_number in range(ROUNDS):
                barrier.wait(timeout=60)
                result = contend(engine, f"person-{index}", round_number)
                with lock:
                    results.append(result)
                barrier.wait(timeout=60)
                finish_round(engine, result, round_number)
        except BaseException as failure:  # reported below, not swallowed
            failures.append(failure)
            barrier.abort()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(contenders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not failures, failures[0]
    assert len(results) == contenders * ROUNDS
    assert_one_winner_per_round_and_tokens_in_order(results, engine)


def _process_worker(url: str, index: int, threads: int, barrier, queue) -> None:
    engine = build_engine(url)
    local_results = []
    lock = threading.Lock()

    def one(name: str) -> None:
        for round_number in range(ROUNDS):
            barrier.wait(timeout=120)
            result = contend(engine, name, round_number)
            with lock:
                local_results.append(result)
            barrier.wait(timeout=120)
            finish_round(engine, result, round_number)

    try:
        workers = [threading.Thread(target=one, args=(f"p{index}-t{t}",)) for t in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        queue.put(("ok", local_results))
    except BaseException as failure:
        barrier.abort()
        queue.put(("error", repr(failure)))
    finally:
        engine.dispose()


@pytest.mark.slow
def test_processes_race_for_the_same_hold(engine):
    processes, threads_each = 4, 3
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(processes * threads_each)
    queue = context.Queue()
    url = engine.url.render_as_string(hide_password=False)
    workers = [
        context.Process(target=_process_worker, args=(url, i, threads_each, barrier, queue))
        for i in range(processes)
    ]
    for worker in workers:
        worker.start()
    outcomes = [queue.get(timeout=300) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    errors = [detail for status, detail in outcomes if status == "error"]
    assert not errors, errors
    results = [result for _, batch in outcomes for result in batch]
    assert len(results) == processes * threads_each * ROUNDS
    assert_one_winner_per_round_and_tokens_in_order(results, engine)
