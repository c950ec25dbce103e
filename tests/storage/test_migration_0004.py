"""0003 -> 0004 on a database with a deploy history: each environment's kept figures (the
durations of its last ten successful deploys, its last deploy that ran to an end) are filled
from that history, and the picture reads them. SQLite always, PostgreSQL when configured."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from signalbox.services.status import environment_picture
from signalbox.settings import EnvironmentConfig, Settings
from signalbox.storage import build_engine, upgrade

T0 = datetime(2026, 11, 26, 13, 0)  # naive UTC, as the tables store times


def test_upgrading_to_0004_fills_the_figures_from_the_history(database_url):
    engine = build_engine(database_url)
    try:
        upgrade(engine, "0003")
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO environments (name, last_fencing_token, version, configured,"
                    " timezone, created_at) VALUES ('dev', 0, 0, :yes, 'UTC', :t0),"
                    " ('prod', 0, 0, :yes, 'UTC', :t0)"
                ),
                {"yes": True, "t0": T0},
            )
            for number in range(12):  # dev: 12 successes of 100..1200 s, then a failure
                _deploy(connection, "dev", "succeeded", number, 100.0 * (number + 1))
            _deploy(connection, "dev", "failed", 12, 5.0)
            _deploy(connection, "dev", "refused", 13, None)
        upgrade(engine)
        with engine.connect() as connection:
            dev, prod = connection.execute(
                text("SELECT recent_deploy_seconds, last_deploy_id FROM environments ORDER BY name")
            ).all()
            failed = connection.execute(
                text("SELECT id FROM deploys WHERE state = 'failed'")
            ).scalar_one()
        recent = dev[0] if isinstance(dev[0], list) else json.loads(dev[0])  # SQLite: text
        assert recent == [300.0 + 100 * n for n in range(10)]  # the last ten, oldest first
        assert dev[1] == failed
        assert prod[1] is None
        settings = Settings(environments={"dev": EnvironmentConfig("dev", timezone="UTC")})
        seen = environment_picture(engine, settings, "dev", now=datetime(2026, 11, 27, tzinfo=UTC))
        assert seen.expected_deploy == timedelta(seconds=1100)  # the p90 of 300..1200
        assert seen.last_deploy is not None and seen.last_deploy.state == "failed"
    finally:
        engine.dispose()


def _deploy(connection, environment, state, number, seconds):  # type: ignore[no-untyped-def]
    finished = T0 + timedelta(hours=number)
    connection.execute(
        text(
            "INSERT INTO deploys (environment, requester, requester_is_ci, actor, branch,"
            ' "commit", run_url, state, priority, plan_verdict, requested_at, finished_at,'
            " duration_seconds) VALUES (:env, 'ci', :yes, '', 'main', 'abc', '', :state, 0,"
            " 'routine', :at, :finished, :seconds)"
        ),
        {
            "env": environment,
            "yes": True,
            "state": state,
            "at": finished,
            "finished": finished,
            "seconds": seconds,
        },
    )


def test_the_partial_index_of_active_deploys_names_the_active_states() -> None:
    from signalbox.core.queue import ACTIVE_STATES
    from signalbox.storage.tables import ACTIVE_DEPLOYS

    named = {part.strip(" '()") for part in ACTIVE_DEPLOYS.split("IN", 1)[1].split(",")}
    assert named == {str(state) for state in ACTIVE_STATES}
