"""The environment pictures with an open incident, from the database (SQLite and PostgreSQL):
the incident and the reservations at risk are read for every environment in one query, and
a kept picture ends when the incident changes."""

from __future__ import annotations

from datetime import timedelta

from tests.services.deploy_helpers import COO
from tests.services.test_status_service import counted

from signalbox.core.status import EnvironmentState
from signalbox.core.views import Principal
from signalbox.services.incidents import open_incident, resolve_incident, update_incident
from signalbox.services.reservations import ReservationCreate, create_reservation
from signalbox.services.status import PictureCache, environment_pictures

ALICE = Principal("alice", is_ci=False)


def pictures(engine, settings, clock, cache=None):
    return environment_pictures(engine, settings, names=None, now=clock.now(), cache=cache)


def test_the_picture_shows_the_open_incident_frozen_and_the_reservations_at_risk(
    engine, settings, clock
):
    request = ReservationCreate("dev", "14:00", "15:00", "investor demo")
    demo = create_reservation(engine, settings, request, owner=COO, now=clock.now())
    opened = open_incident(
        engine, settings, environment="dev", title="users cannot log in", severity="sev1",
        opener=ALICE, eta="14:30", now=clock.now(),
    )  # fmt: skip
    dev, prod = pictures(engine, settings, clock)
    assert dev.state is EnvironmentState.FROZEN and prod.incident is None
    assert dev.incident is not None and dev.incident.id == opened.view.id
    assert dev.incident.commander == "alice" and dev.incident.eta == opened.view.eta
    assert [window.id for window in dev.at_risk] == [demo.id]
    [frozen] = [blocker for blocker in dev.blocking if blocker.reason == "frozen"]
    assert frozen.whom == "alice" and frozen.until == opened.view.eta


def test_incidents_cost_one_query_however_many_environments(engine, settings, clock):
    for env in ("dev", "prod"):
        open_incident(
            engine, settings, environment=env, title="broken", severity="sev2", opener=ALICE,
            now=clock.now(),
        )  # fmt: skip
    with counted(engine) as statements:
        dev, prod = pictures(engine, settings, clock)
    assert dev.incident is not None and prod.incident is not None
    assert sum("FROM incidents" in statement for statement in statements) == 1
    assert len(statements) <= 8


def test_a_kept_picture_ends_when_the_incident_changes(engine, settings, clock):
    cache = PictureCache()
    assert pictures(engine, settings, clock, cache)[0].state is EnvironmentState.FREE
    opened = open_incident(
        engine, settings, environment="dev", title="broken", severity="sev1", opener=ALICE,
        now=clock.now(),
    )  # fmt: skip
    dev = pictures(engine, settings, clock, cache)[0]
    assert dev.state is EnvironmentState.FROZEN
    clock.advance(timedelta(minutes=4))
    update_incident(
        engine, incident_id=opened.view.id, caller=ALICE, caller_is_admin=False,
        status="identified", now=clock.now(),
    )  # fmt: skip
    updated = pictures(engine, settings, clock, cache)[0]
    assert updated.incident is not None and updated.incident.status == "identified"
    assert updated.incident.updated_at == clock.now()
    resolve_incident(engine, incident_id=opened.view.id, caller=ALICE, now=clock.now())
    after = pictures(engine, settings, clock, cache)[0]
    assert after.incident is None and after.state is EnvironmentState.FREE
