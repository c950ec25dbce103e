"""Races on one state: many threads, and several processes, LOCK or write at once; exactly
one wins each time (SQLite's BEGIN IMMEDIATE, PostgreSQL's row lock on the environment)."""

from __future__ import annotations

import json
import multiprocessing
import threading

from tests.support.states import stage

from signalbox.core.tfstate import Accepted, Refusal, RefusalCause, StateKey
from signalbox.core.views import Principal
from signalbox.services.tfstate import StateStore, lock_state, read_state, write_state

THREADS = 12
MAIN = StateKey("dev", "main")


def lock_json(lock_id: str) -> bytes:
    return json.dumps({"ID": lock_id, "Operation": "OperationTypeApply"}).encode()


def body(serial: int, writer: str) -> bytes:
    return json.dumps(
        {"version": 4, "serial": serial, "lineage": "L", "writer": writer, "resources": []}
    ).encode()


def race(count: int, attempt) -> list[object]:
    barrier = threading.Barrier(count)
    results: list[object] = [None] * count

    def run(index: int) -> None:
        barrier.wait()
        results[index] = attempt(index)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_exactly_one_of_many_concurrent_locks_wins(engine, settings, clock):
    store = StateStore.from_settings(engine, settings)
    results = race(
        THREADS,
        lambda i: lock_state(
            store,
            principal=Principal(f"runner-{i}", True),
            key=MAIN,
            body=lock_json(f"lock-{i}"),
            now=clock.now(),
        ),
    )
    assert sum(isinstance(result, Accepted) for result in results) == 1
    refusals = [result for result in results if isinstance(result, Refusal)]
    assert len(refusals) == THREADS - 1
    assert {refusal.cause for refusal in refusals} == {RefusalCause.LOCKED}


def test_exactly_one_of_many_concurrent_writes_of_the_next_serial_wins(engine, settings, clock):
    store = StateStore.from_settings(engine, settings)
    seed, head = stage(store, body(1, "seed"), clock.now())
    first = write_state(
        store,
        principal=Principal("ci", True),
        key=MAIN,
        staged=seed,
        head=head,
        declared_md5=None,
        lock_id=None,
        now=clock.now(),
    )
    assert isinstance(first, Accepted)
    bodies = [stage(store, body(2, f"w{i}"), clock.now()) for i in range(THREADS)]
    results = race(
        THREADS,
        lambda i: write_state(
            store,
            principal=Principal("ci", True),
            key=MAIN,
            staged=bodies[i][0],
            head=bodies[i][1],
            declared_md5=None,
            lock_id=None,
            now=clock.now(),
        ),
    )
    winners = [i for i, result in enumerate(results) if isinstance(result, Accepted)]
    assert len(winners) == 1
    stored = read_state(store, key=MAIN)
    assert stored is not None
    assert json.loads(b"".join(stored.body))["writer"] == f"w{winners[0]}"


def _lock_in_process(database_url: str, index: int, barrier, answers) -> None:
    from signalbox.settings import EnvironmentConfig, Settings
    from signalbox.storage import build_engine
    from signalbox.testing import FakeClock

    engine = build_engine(database_url)
    settings = Settings(environments={"dev": EnvironmentConfig("dev")})
    store = StateStore.from_settings(engine, settings)
    barrier.wait()
    result = lock_state(
        store,
        principal=Principal(f"p{index}", True),
        key=MAIN,
        body=lock_json(f"lock-{index}"),
        now=FakeClock().now(),
    )
    answers.put(isinstance(result, Accepted))
    engine.dispose()


def test_exactly_one_of_several_processes_wins_the_lock(engine, database, settings):
    url = database.url.render_as_string(hide_password=False)
    context = multiprocessing.get_context("spawn")
    barrier, answers = context.Barrier(4), context.Queue()
    processes = [
        context.Process(target=_lock_in_process, args=(url, i, barrier, answers)) for i in range(4)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=120)
    outcomes = [answers.get(timeout=5) for _ in processes]
    assert outcomes.count(True) == 1
