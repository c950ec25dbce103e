"""The unit of work commits on success, rolls back on error, and serialises writers."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from signalbox.core.errors import UnknownEnvironment
from signalbox.core.events import EnvironmentAdded, TokenRevoked
from signalbox.services.events import emit, list_events
from signalbox.storage import UnitOfWork, build_engine

NOW = datetime(2026, 11, 26, 13, 0, tzinfo=UTC)


def _add_environments(engine, *names):
    with UnitOfWork(engine) as uow:
        uow.environments.sync(dict.fromkeys(names, "UTC"), now=NOW)


def test_commit_on_success(database):
    _add_environments(database, "dev", "prod")
    with UnitOfWork(database, read_only=True) as uow:
        assert uow.environments.names() == ["dev", "prod"]


def test_rollback_on_error_leaves_nothing(database):
    _add_environments(database, "dev")
    with pytest.raises(RuntimeError), UnitOfWork(database) as uow:
        emit(uow, EnvironmentAdded(), environment="dev", actor="a", now=NOW)
        raise RuntimeError("boom")
    assert list_events(database) == []
    with UnitOfWork(database, read_only=True) as uow:
        assert uow.environments.get("dev").version == 0


def test_event_written_in_the_transaction_advances_the_environment_version(database):
    _add_environments(database, "dev")
    with UnitOfWork(database) as uow:
        uow.lock_environment("dev")
        emit(uow, TokenRevoked(name="x"), environment="dev", actor="platform-eng", now=NOW)
    [event] = list_events(database, environment="dev")
    assert (event.kind, event.actor, event.data, event.at) == (
        "token.revoked",
        "platform-eng",
        {"name": "x", "reason": ""},
        NOW,
    )
    with UnitOfWork(database, read_only=True) as uow:
        assert uow.environments.get("dev").version == 1


def test_events_newest_first_with_filter_and_limit(database):
    _add_environments(database, "dev", "prod")
    with UnitOfWork(database) as uow:
        for index in range(5):
            record = TokenRevoked(name=f"k{index}")
            emit(uow, record, environment="dev" if index % 2 else "prod", actor="a", now=NOW)
        emit(uow, TokenRevoked(name="global"), environment=None, actor="a", now=NOW)

    def names(events):
        return [event.data["name"] for event in events]

    assert names(list_events(database, limit=3)) == ["global", "k4", "k3"]
    assert names(list_events(database, environment="dev")) == ["k3", "k1"]
    only_prod = list_events(database, readable=lambda name: name == "prod", include_global=False)
    assert names(only_prod) == ["k4", "k2", "k0"]


def test_unknown_environment_names_the_known_ones(database):
    _add_environments(database, "dev", "prod")
    with pytest.raises(UnknownEnvironment) as raised, UnitOfWork(database) as uow:
        uow.lock_environment("staging")
    assert "dev, prod" in raised.value.message
    assert raised.value.details["known"] == ["dev", "prod"]


def test_sync_unconfigures_removed_environments_but_keeps_their_rows(database):
    _add_environments(database, "dev", "old")
    _add_environments(database, "dev")
    with UnitOfWork(database, read_only=True) as uow:
        assert uow.environments.names() == ["dev"]
        with pytest.raises(UnknownEnvironment):
            uow.environments.get("old")


def test_datetimes_come_back_aware_utc(database):
    _add_environments(database, "dev")
    with UnitOfWork(database, read_only=True) as uow:
        assert uow.environments.get("dev").created_at == NOW
        assert uow.environments.get("dev").created_at.tzinfo is UTC


def test_sqlite_pragmas(tmp_path):
    engine = build_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert connection.execute(text("PRAGMA busy_timeout")).scalar() >= 1000
    engine.dispose()


def test_write_units_of_work_are_serialised(database):
    """While one writer has read the counter and not yet written, another writer cannot
    read it: each increment sees the previous one (no lost update)."""
    _add_environments(database, "dev")
    first_has_read = threading.Event()
    results: list[int] = []

    def first() -> None:
        with UnitOfWork(database) as uow:
            row = uow.lock_environment("dev")
            seen = row.last_fencing_token
            first_has_read.set()
            # hold the transaction open until the second writer is blocked or waiting
            second_started.wait(timeout=10)
            row.last_fencing_token = seen + 1
            results.append(seen + 1)

    def second() -> None:
        first_has_read.wait(timeout=10)
        second_started.set()
        with UnitOfWork(database) as uow:
            row = uow.lock_environment("dev")
            row.last_fencing_token += 1
            results.append(row.last_fencing_token)

    second_started = threading.Event()
    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results) == [1, 2]
    with UnitOfWork(database, read_only=True) as uow:
        assert uow.environments.get("dev").last_fencing_token == 2


def test_nested_write_units_of_work_fail_fast_instead_of_waiting_forever(database):
    _add_environments(database, "dev")
    with UnitOfWork(database) as outer:
        outer.lock_environment("dev")
        with pytest.raises(RuntimeError, match="inside another one"):
            UnitOfWork(database).__enter__()
        with UnitOfWork(database, read_only=True) as reader:  # reads may nest
            assert reader.environments.names() == ["dev"]
    with UnitOfWork(database) as again:  # and the guard is released afterwards
        again.lock_environment("dev")


@pytest.mark.postgres
def test_locking_refreshes_an_environment_read_earlier_in_the_transaction(postgres_engine):
    """READ COMMITTED: a row read before the lock may be stale; the lock must reload it, or a
    fencing token could be issued twice."""
    from signalbox.testing import empty_tables

    empty_tables(postgres_engine)
    _add_environments(postgres_engine, "dev")
    with UnitOfWork(postgres_engine) as first:
        assert first.environments.get("dev").last_fencing_token == 0  # read, not locked
        done = threading.Event()

        def another_server() -> None:
            with UnitOfWork(postgres_engine) as second:
                second.lock_environment("dev").last_fencing_token = 1
            done.set()

        thread = threading.Thread(target=another_server)
        thread.start()
        assert done.wait(timeout=30)
        thread.join()
        assert first.lock_environment("dev").last_fencing_token == 1


def _group_work(environment, *, fail=False):
    """A grouped work: an event about ``environment`` (a Core write), then maybe a failure."""

    def work(uow):
        uow.lock_environment_core(environment)
        emit(uow, TokenRevoked(name=environment), environment=environment, actor="a", now=NOW)
        if fail:
            raise RuntimeError(f"{environment} failed")
        return environment

    return work


def test_a_group_commit_undoes_only_the_work_that_failed(database):
    from signalbox.storage.uow import _run_group, _Work

    _add_environments(database, "dev", "prod", "qa")
    group = [_Work(_group_work("dev")), _Work(_group_work("prod", fail=True))]
    group.append(_Work(_group_work("qa")))
    _run_group(database, group)
    assert group[0].outcome() == "dev" and group[2].outcome() == "qa"
    with pytest.raises(RuntimeError, match="prod failed"):
        group[1].outcome()
    assert sorted(event.environment for event in list_events(database)) == ["dev", "qa"]
    with UnitOfWork(database, read_only=True) as uow:
        versions = {name: uow.environments.get(name).version for name in ("dev", "prod", "qa")}
    assert versions == {"dev": 1, "prod": 0, "qa": 1}


def test_a_group_whose_commit_fails_answers_every_work_with_the_failure(database):
    from sqlalchemy import event

    from signalbox.storage.uow import _run_group, _Work

    _add_environments(database, "dev", "prod")
    group = [_Work(_group_work("dev")), _Work(_group_work("prod"))]

    def refuse(_connection):
        raise OSError("disk gone")

    event.listen(database, "commit", refuse)
    try:
        _run_group(database, group)
    finally:
        event.remove(database, "commit", refuse)
    for work in group:
        with pytest.raises(OSError, match="disk gone"):
            work.outcome()
    assert list_events(database) == []


def test_run_write_inside_a_write_unit_of_work_fails_at_once(database):
    from signalbox.storage.uow import run_write

    _add_environments(database, "dev")
    with UnitOfWork(database), pytest.raises(RuntimeError, match="inside another"):
        run_write(database, _group_work("dev"))


def test_run_write_from_many_threads_commits_every_work(database):
    from signalbox.storage.uow import run_write

    names = [f"env-{index}" for index in range(12)]
    _add_environments(database, *names)
    answers: list[str] = []
    failures: list[BaseException] = []
    start = threading.Barrier(len(names))

    def one(name):
        start.wait()
        try:
            answers.append(run_write(database, _group_work(name)))
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=one, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures and sorted(answers) == sorted(names)
    assert sorted(event.environment for event in list_events(database, limit=100)) == sorted(names)


def test_a_grouped_work_for_an_unknown_environment_fails_alone(database):
    from signalbox.storage.uow import _run_group, _Work

    _add_environments(database, "dev", "prod")
    group = [_Work(_group_work("dev")), _Work(_group_work("nope")), _Work(_group_work("prod"))]
    _run_group(database, group)
    with pytest.raises(UnknownEnvironment, match="dev"):  # names the known ones
        group[1].outcome()
    assert (group[0].outcome(), group[2].outcome()) == ("dev", "prod")
