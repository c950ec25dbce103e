"""Many gates race for the same deploy slot: exactly one runs at a time, and fencing tokens
never repeat or go back. Threads share one engine; processes each build their own (as
several `signalbox serve` processes sharing one database would)."""

from __future__ import annotations

import multiprocessing
import threading
from datetime import UTC, datetime

from sqlalchemy import Engine
from tests.services.deploy_helpers import ROUTINE_PLAN

from signalbox.core.views import Principal
from signalbox.services.deploys import (
    DeployRequest,
    decide_deploy,
    finish_deploy,
    request_deploy,
)
from signalbox.settings import Settings
from signalbox.storage.repositories.deploys import DeployRepository
from signalbox.storage.uow import UnitOfWork

GATES = 12
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def running_ids(engine: Engine) -> list[int]:
    with UnitOfWork(engine, read_only=True) as uow:
        rows = DeployRepository(uow.session).active("dev")
        return [row.id for row in rows if row.state == "running"]


def race(workers: int, job) -> list:
    barrier = threading.Barrier(workers)
    results: list = [None] * workers

    def run(index: int) -> None:
        barrier.wait()
        results[index] = job(index)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_threads_racing_exactly_one_runs_each_round(engine, settings):
    def ask(index: int):
        request = DeployRequest("dev", branch=f"b{index}", commit=f"c{index}", plan=ROUTINE_PLAN)
        return request_deploy(
            engine, settings, request=request, requester=Principal(f"ci{index}", True), now=NOW
        )

    answers = race(GATES, ask)
    tokens = []
    for _round in range(GATES):
        going = [a for a in answers if a.decision == "go"]
        assert len(going) == 1, [a.decision for a in answers]
        assert running_ids(engine) == [going[0].deploy.id]
        tokens.append(going[0].fencing_token)
        winner = going[0]
        finish_deploy(
            engine,
            settings,
            deploy_id=winner.deploy.id,
            principal=Principal(winner.deploy.requester, True),
            fencing_token=winner.fencing_token,
            exit_code=0,
            duration_seconds=1.0,
            now=NOW,
        )
        waiting = [a for a in answers if a.decision == "wait"]
        if not waiting:
            break
        answers = race(
            len(waiting),
            lambda i, w=waiting: decide_deploy(engine, settings, deploy_id=w[i].deploy.id, now=NOW),
        )
    assert tokens == sorted(tokens) and len(set(tokens)) == GATES


def _request_in_process(url: str, index: int, start, results) -> None:
    from signalbox.settings import EnvironmentConfig
    from signalbox.storage.engine import build_engine

    engine = build_engine(url)
    settings = Settings(environments={"dev": EnvironmentConfig("dev", timezone="Europe/Berlin")})
    start.wait()
    request = DeployRequest("dev", branch=f"p{index}", commit=f"c{index}", plan=ROUTINE_PLAN)
    answer = request_deploy(
        engine, settings, request=request, requester=Principal(f"ci{index}", True), now=NOW
    )
    results.put((answer.decision, answer.fencing_token))
    engine.dispose()


def test_processes_racing_exactly_one_goes(engine):
    url = engine.url.render_as_string(hide_password=False)
    context = multiprocessing.get_context("spawn")
    start, results = context.Event(), context.Queue()
    processes = [
        context.Process(target=_request_in_process, args=(url, i, start, results)) for i in range(6)
    ]
    for process in processes:
        process.start()
    start.set()
    outcomes = [results.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    assert sorted(decision for decision, _ in outcomes) == ["go"] + ["wait"] * 5
    assert [token for decision, token in outcomes if decision == "go"] == [1]
    assert len(running_ids(engine)) == 1
