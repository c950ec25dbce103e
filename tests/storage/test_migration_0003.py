"""0002 -> 0003 on a database that holds data: the rows survive, old events are history (never
fanned out to a notifier), and the outbox works on the upgraded database. SQLite always,
PostgreSQL when SIGNALBOX_TEST_DATABASE_URL is set (the ``database_url`` fixture skips it
otherwise, saying so)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, inspect, text

from signalbox.storage import build_engine, current_revision, head_revision, upgrade
from signalbox.storage.repositories.outbox import OutboxRepository
from signalbox.storage.uow import UnitOfWork

T0 = datetime(2026, 11, 26, 13, 0)  # naive UTC, as 0002 stores times
LATER = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def write_rows_at_0002(engine: Engine) -> None:
    """An environment, a deploy, its hold, a reservation and two events, in plain SQL."""
    with engine.begin() as connection:
        run = connection.execute
        run(
            text(
                "INSERT INTO environments (name, last_fencing_token, version, configured,"
                " timezone, created_at) VALUES ('dev', 7, 3, :yes, 'Europe/Berlin', :t0)"
            ),
            {"yes": True, "t0": T0},
        )
        run(
            text(
                "INSERT INTO deploys (environment, requester, requester_is_ci, actor, branch,"
                ' "commit", run_url, state, priority, plan_verdict, requested_at)'
                " VALUES ('dev', 'ci-dev', :yes, 'alice', 'main', '1a2b3c4d', '', 'running',"
                " 0, 'routine', :t0)"
            ),
            {"yes": True, "t0": T0},
        )
        deploy_id = run(text("SELECT id FROM deploys")).scalar_one()
        run(
            text(
                "INSERT INTO holds (environment, owner, owner_is_ci, kind, reason, since,"
                " until, lease_seconds, fencing_token, deploy_id) VALUES ('dev', 'ci-dev',"
                " :yes, 'deploy', 'deploy 1', :t0, :until, 900, 7, :deploy)"
            ),
            {"yes": True, "t0": T0, "until": T0 + timedelta(minutes=15), "deploy": deploy_id},
        )
        run(
            text(
                "INSERT INTO reservations (environment, owner, reason, starts, ends, created_at)"
                " VALUES ('dev', 'coo', 'board demo', :starts, :ends, :t0)"
            ),
            {"starts": T0 + timedelta(hours=2), "ends": T0 + timedelta(hours=3), "t0": T0},
        )
        for minute, kind in ((0, "hold.granted"), (1, "deploy.started")):
            run(
                text(
                    "INSERT INTO events (environment, at, actor, kind, message, data, deploy_id)"
                    " VALUES ('dev', :at, 'ci-dev', :kind, :message, :data, :deploy)"
                ),
                {
                    "at": T0 + timedelta(minutes=minute),
                    "kind": kind,
                    "message": f"{kind} at 0002",
                    "data": json.dumps({"owner": "ci-dev", "fencing_token": 7}),
                    "deploy": deploy_id,
                },
            )


def test_upgrading_from_0002_keeps_the_rows_and_adds_a_working_outbox(database_url):
    engine = build_engine(database_url)
    try:
        assert upgrade(engine, "0002") == "0002"
        assert "event_deliveries" not in inspect(engine).get_table_names()
        write_rows_at_0002(engine)

        assert upgrade(engine) == head_revision() == current_revision(engine)
        with engine.connect() as connection:
            environment = connection.execute(
                text("SELECT last_fencing_token, version, timezone FROM environments")
            ).one()
            hold = connection.execute(text("SELECT owner, fencing_token FROM holds")).one()
            reservation = connection.execute(text("SELECT owner, reason FROM reservations")).one()
            deploy = connection.execute(text('SELECT "commit", state FROM deploys')).one()
        assert tuple(environment) == (7, 3, "Europe/Berlin")
        assert tuple(hold) == ("ci-dev", 7)
        assert tuple(reservation) == ("coo", "board demo")
        assert tuple(deploy) == ("1a2b3c4d", "running")

        with UnitOfWork(engine) as uow:
            old = uow.events.newest(environments=None, include_global=True, limit=10)
            assert [(e.kind, e.message, e.data) for e in reversed(old)] == [
                ("hold.granted", "hold.granted at 0002", {"owner": "ci-dev", "fencing_token": 7}),
                (
                    "deploy.started",
                    "deploy.started at 0002",
                    {"owner": "ci-dev", "fencing_token": 7},
                ),
            ]
            assert [(e.schema_version, e.fanned_out_at) for e in reversed(old)] == [
                (None, T0.replace(tzinfo=UTC)),
                (None, (T0 + timedelta(minutes=1)).replace(tzinfo=UTC)),
            ]
            outbox = OutboxRepository(uow.session)
            assert outbox.to_fan_out(limit=10) == []  # history is never sent as news
            uow.events.add(
                environment="dev",
                at=LATER,
                actor="alice",
                kind="hold.released",
                message="alice released dev.",
                data={"owner": "alice"},
                schema_version=1,
            )
            (new,) = outbox.to_fan_out(limit=10)
            assert new.id > max(e.id for e in old) and new.schema_version == 1
            outbox.fan_out(event_ids=[new.id], deliveries=[(new.id, "ops-slack")], now=LATER)

        with UnitOfWork(engine) as uow:
            outbox = OutboxRepository(uow.session)
            (claimed,) = outbox.claim_due(
                claimant="a", now=LATER, lease=timedelta(seconds=30), limit=5, among=["ops-slack"]
            )
            assert (claimed.event.kind, claimed.target, claimed.attempt) == (
                "hold.released",
                "ops-slack",
                1,
            )
            assert outbox.mark_delivered(claimed, claimant="a", now=LATER)
            assert outbox.backlog() == {}
    finally:
        engine.dispose()
