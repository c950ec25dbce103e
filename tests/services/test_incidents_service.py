"""Incidents through the database (SQLite and PostgreSQL): open, freeze, update, resolve,
reopen, and what each does to the environment's holds, queued deploys and reservations.

The clock starts at 2026-11-26 12:00 UTC = 13:00 in Europe/Berlin (dev's zone); dev's
expected deploy is 17 minutes.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import text
from tests.services.deploy_helpers import CI, COO, ENGINEER, deploy, engineer_holds_dev

from signalbox.core.errors import (
    Conflict,
    Forbidden,
    IncidentAlreadyOpen,
    InvalidInput,
    InvalidTransition,
    UnknownIncident,
)
from signalbox.core.holds import Denied, Granted
from signalbox.core.tfstate import Accepted, Refusal, RefusalCause, StateKey
from signalbox.core.views import Principal
from signalbox.services.deploys import decide_deploy
from signalbox.services.events import list_events
from signalbox.services.holds import acquire_hold, current_hold, release_hold
from signalbox.services.incidents import (
    get_incident,
    list_incidents,
    open_incident,
    reopen_incident,
    resolve_incident,
    update_incident,
)
from signalbox.services.reservations import ReservationCreate, create_reservation
from signalbox.services.tfstate import StateStore, lock_state
from signalbox.storage.tables import DeployRow
from signalbox.storage.uow import UnitOfWork

ALICE = Principal("alice", is_ci=False)
BOB = Principal("bob", is_ci=False)
ADMIN = Principal("root", is_ci=False)


@pytest.fixture(autouse=True)
def numbered_from_one(engine):
    """Incidents (and deploys, reservations) are numbered from 1 on both backends: tests
    sharing a PostgreSQL database empty its tables, but its sequences go on counting."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            for table in ("incidents", "deploys", "reservations"):
                sequence = f"pg_get_serial_sequence('{table}', 'id')"
                connection.execute(text(f"SELECT setval({sequence}, 1, false)"))


def open_dev(engine, settings, clock, **options):
    fields = {"title": "users cannot log in", "severity": "sev1", "opener": ALICE}
    fields.update(options)
    return open_incident(engine, settings, environment="dev", now=clock.now(), **fields)


def events(engine, kind, env="dev"):
    return [
        event for event in list_events(engine, environment=env, limit=500) if event.kind == kind
    ]


def update(engine, clock, incident_id, who=ALICE, admin=False, **fields):
    return update_incident(
        engine,
        incident_id=incident_id,
        caller=who,
        caller_is_admin=admin,
        now=clock.now(),
        **fields,
    )


def hold(engine, clock, who, hours=4):
    return acquire_hold(
        engine,
        environment="dev",
        principal=who,
        reason="working",
        duration=timedelta(hours=hours),
        now=clock.now(),
    )


def test_opening_a_sev1_refuses_the_queued_deploys_but_not_the_running_one_nor_its_hotfix(
    engine, settings, clock
):
    running = deploy(engine, settings, clock, branch="a", commit="aaaaaaa")
    queued = [deploy(engine, settings, clock, branch=b, commit="b" * 7) for b in ("b", "c", "d")]
    assert running.decision == "go" and {q.decision for q in queued} == {"wait"}
    hotfix_id = queued[0].deploy.id
    with UnitOfWork(engine) as uow:  # as `gate --hotfix 1` stores it (the first incident is 1)
        uow.session.get(DeployRow, hotfix_id).incident_id = 1

    incident = open_dev(engine, settings, clock, eta="45m")

    assert incident.view.id == 1 and incident.view.freezes and incident.view.commander == "alice"
    others = [q.deploy.id for q in queued[1:]]
    assert incident.effects.refused_deploys == tuple(others)
    for deploy_id in others:  # already refused when the open returned: same transaction
        answer = decide_deploy(engine, settings, deploy_id=deploy_id, now=clock.now())
        assert (answer.decision, answer.reason) == ("refused", "frozen")
        assert 'incident 1 (sev1, "users cannot log in", investigating), led by alice' in (
            answer.message
        )
        assert "expected back by 13:45 CET" in answer.message
    hotfix = decide_deploy(engine, settings, deploy_id=hotfix_id, now=clock.now())
    assert hotfix.decision == "wait"  # behind the running deploy, which is not killed
    still = current_hold(engine, environment="dev", now=clock.now())
    assert still is not None and still.deploy_id == running.deploy.id
    refusals = events(engine, "deploy.refused")
    assert sorted(e.deploy_id for e in refusals) == sorted(others)
    [opened] = events(engine, "incident.opened")
    assert max(e.id for e in refusals) > opened.id
    assert "dev is frozen: only its hotfixes deploy" in opened.message


def test_a_new_deploy_is_refused_while_frozen_and_goes_after_resolve(engine, settings, clock):
    open_dev(engine, settings, clock)
    refused = deploy(engine, settings, clock)
    assert (refused.decision, refused.reason) == ("refused", "frozen")
    resolved = resolve_incident(engine, incident_id=1, caller=ALICE, now=clock.now(), note="ok")
    assert resolved.view.status == "resolved" and resolved.resolved_by == "alice"
    assert deploy(engine, settings, clock, commit="d" * 7).decision == "go"


def test_sev3_does_not_freeze_unless_told_and_sev1_may_be_told_not_to(engine, settings, clock):
    sev3 = open_dev(engine, settings, clock, severity="sev3")
    assert not sev3.view.freezes
    assert deploy(engine, settings, clock).decision == "go"
    prod = open_incident(
        engine,
        settings,
        environment="prod",
        title="slow pages",
        severity="sev1",
        opener=ALICE,
        freeze=False,
        now=clock.now(),
    )
    assert not prod.view.freezes
    assert deploy(engine, settings, clock, env="prod").decision == "go"


def test_a_second_open_incident_on_the_environment_is_refused_naming_the_first(
    engine, settings, clock
):
    open_dev(engine, settings, clock)
    with pytest.raises(IncidentAlreadyOpen) as raised:
        open_dev(engine, settings, clock, title="still broken", opener=BOB)
    assert "Incident 1 is already open on dev" in str(raised.value)
    assert "signalbox incident update 1" in raised.value.hint
    assert [i.view.id for i in list_incidents(engine, environments=None)] == [1]
    other = open_incident(
        engine,
        settings,
        environment="prod",
        title="x",
        severity="sev2",
        opener=BOB,
        now=clock.now(),
    )
    assert other.view.id == 2


def test_a_hold_is_suspended_by_the_freeze_and_returns_with_a_new_fencing_token(
    engine, settings, clock
):
    granted = engineer_holds_dev(engine, clock)
    assert isinstance(granted, Granted)
    incident = open_dev(engine, settings, clock)
    assert incident.effects.suspended_holds == ("platform-eng",)
    assert current_hold(engine, environment="dev", now=clock.now()) is None
    [suspended] = events(engine, "hold.suspended")
    assert suspended.data["incident_id"] == 1 and suspended.data["owner"] == "platform-eng"

    with pytest.raises(Conflict) as frozen:  # the freeze is not a sieve
        engineer_holds_dev(engine, clock)
    assert "dev is frozen by incident 1" in str(frozen.value)
    assert "--responder platform-eng" in frozen.value.hint

    clock.advance(timedelta(hours=1))
    resolved = resolve_incident(engine, incident_id=1, caller=ALICE, now=clock.now())
    assert resolved.effects.returned_holds == ("platform-eng",)
    back = current_hold(engine, environment="dev", now=clock.now())
    assert back is not None and back.owner == ENGINEER
    assert back.until == granted.hold.until and back.since == granted.hold.since
    assert back.fencing_token > granted.hold.fencing_token
    [returned] = events(engine, "hold.returned")
    assert returned.data["fencing_token"] == back.fencing_token
    assert "plan again before applying" in returned.message


def test_a_suspended_hold_whose_lease_ran_out_lapses_on_resolve(engine, settings, clock):
    engineer_holds_dev(engine, clock)
    open_dev(engine, settings, clock)
    clock.advance(timedelta(hours=5))
    resolved = resolve_incident(engine, incident_id=1, caller=ALICE, now=clock.now())
    assert resolved.effects == type(resolved.effects)(lapsed_holds=("platform-eng",))
    assert current_hold(engine, environment="dev", now=clock.now()) is None
    assert len(events(engine, "hold.lapsed")) == 1 and not events(engine, "hold.returned")


def test_a_suspended_hold_ends_when_someone_else_holds_the_environment_at_resolve(
    engine, settings, clock
):
    engineer_holds_dev(engine, clock)
    open_dev(engine, settings, clock)
    assert isinstance(hold(engine, clock, ALICE), Granted)  # the commander may hold it
    resolved = resolve_incident(engine, incident_id=1, caller=ALICE, now=clock.now())
    assert resolved.effects.lapsed_holds == ("platform-eng",)
    now_held = current_hold(engine, environment="dev", now=clock.now())
    assert now_held is not None and now_held.owner == ALICE
    # its lease had not run out: it is not told "lapsed", but who holds dev now
    assert not events(engine, "hold.lapsed")
    [ended] = events(engine, "hold.force-released")
    assert "could not come back after incident 1: alice holds dev now" in ended.message


def test_the_commanders_hold_is_not_suspended_and_responders_may_hold(engine, settings, clock):
    hold(engine, clock, ALICE)
    incident = open_dev(engine, settings, clock)
    assert incident.effects.suspended_holds == ()
    assert current_hold(engine, environment="dev", now=clock.now()).owner == ALICE
    update(engine, clock, 1, responders=["bob"])
    decision = hold(engine, clock, BOB)
    assert isinstance(decision, Denied)  # refused as held by alice, not as frozen


def test_handover_and_responders_only_by_the_commander_or_an_admin(engine, settings, clock):
    open_dev(engine, settings, clock)
    with pytest.raises(Forbidden) as refused:
        update(engine, clock, 1, who=BOB, commander="bob")
    assert "commander (alice)" in str(refused.value) and "Ask alice" in refused.value.hint
    with pytest.raises(Forbidden):
        update(engine, clock, 1, who=BOB, responders=["bob"])
    bob_note = update(engine, clock, 1, who=BOB, note="looking at the pool", status="identified")
    assert bob_note.view.status == "identified" and bob_note.view.commander == "alice"

    handed = update(engine, clock, 1, commander="carol", responders=["bob", "bob"])
    assert handed.view.commander == "carol" and handed.view.responders == ("bob",)
    [*_, last] = events(engine, "incident.updated")[::-1]
    assert last.data["previous_commander"] == "alice"
    assert last.data["responders_added"] == ["bob"]
    assert "carol now leads it (was alice)" in last.message

    with pytest.raises(Forbidden):  # alice handed it over: she is no longer the commander
        update(engine, clock, 1, commander="alice")
    by_admin = update(engine, clock, 1, who=ADMIN, admin=True, commander="alice")
    assert by_admin.view.commander == "alice"
    kinds = [u.kind for u in get_incident(engine, 1).updates]
    assert kinds == ["opened", "update", "update", "update"]


def test_reservations_at_risk_are_told_once_and_again_only_for_new_ones(engine, settings, clock):
    def reserve(start, end, reason):
        request = ReservationCreate("dev", start, end, reason)
        return create_reservation(engine, settings, request, owner=COO, now=clock.now())

    demo = reserve("15:30", "16:30", "investor demo")  # within 4h: at risk without an ETA
    evening = reserve("19:00", "20:00", "evening test")  # 6h away: not yet
    incident = open_dev(engine, settings, clock)
    assert incident.effects.at_risk == (demo.id,) and incident.at_risk == (demo.id,)
    assert update(engine, clock, 1, eta="16:00").effects.at_risk == ()
    later = update(engine, clock, 1, eta="19:30")
    assert later.effects.at_risk == (evening.id,)
    assert later.at_risk == (demo.id, evening.id)
    assert update(engine, clock, 1, eta="19:45").effects.at_risk == ()
    told = events(engine, "reservation.at-risk")
    assert sorted(e.data["reservation_id"] for e in told) == [demo.id, evening.id]
    demo_told = next(e for e in told if e.data["reservation_id"] == demo.id)
    assert "coo's reservation of dev (investor demo, 15:30 CET to 16:30 CET) is at risk" in (
        demo_told.message
    )


@pytest.mark.parametrize(
    ("eta", "words"),
    [("soon", "neither a duration nor a time"), ("12:00", "already passed"), ("30d", "more than")],
)
def test_a_bad_eta_is_refused_naming_the_field_and_nothing_is_stored(
    engine, settings, clock, eta, words
):
    with pytest.raises(InvalidInput) as refused:
        open_dev(engine, settings, clock, eta=eta)
    assert refused.value.details["field"] == "eta" and words in str(refused.value)
    assert list_incidents(engine, environments=None, include_resolved=True) == []
    assert events(engine, "incident.opened") == []
    open_dev(engine, settings, clock)
    with pytest.raises(InvalidInput):
        update(engine, clock, 1, eta=eta)
    assert [u.kind for u in get_incident(engine, 1).updates] == ["opened"]


def test_bad_input_names_the_field(engine, settings, clock):
    cases = [
        ({"title": "  "}, "title"),
        ({"severity": "sev9"}, "severity"),
        ({"commander": "two words"}, "commander"),
    ]
    for fields, field in cases:
        with pytest.raises(InvalidInput) as refused:
            open_dev(engine, settings, clock, **fields)
        assert refused.value.details["field"] == field
    open_dev(engine, settings, clock)
    for fields, field in [({"status": "resolved"}, "status"), ({"status": "fixed"}, "status")]:
        with pytest.raises(InvalidInput) as refused:
            update(engine, clock, 1, **fields)
        assert refused.value.details["field"] == field
    with pytest.raises(InvalidInput) as empty:
        update(engine, clock, 1)
    assert "needs something to say" in str(empty.value)
    with pytest.raises(UnknownIncident):
        update(engine, clock, 99, note="x")


def test_a_resolved_incident_cannot_be_updated_or_resolved_again(engine, settings, clock):
    open_dev(engine, settings, clock)
    clock.advance(timedelta(minutes=43))
    resolve_incident(engine, incident_id=1, caller=ALICE, now=clock.now())
    [resolved] = events(engine, "incident.resolved")
    assert resolved.data["duration_seconds"] == 43 * 60
    with pytest.raises(InvalidTransition) as refused:
        update(engine, clock, 1, note="more")
    assert "signalbox incident reopen 1" in refused.value.hint
    with pytest.raises(InvalidTransition):
        resolve_incident(engine, incident_id=1, caller=ALICE, now=clock.now())
    open_dev(engine, settings, clock, title="another")
    with pytest.raises(InvalidTransition):  # incident 2 is open: nothing to reopen
        reopen_incident(engine, settings, incident_id=2, caller=ALICE, now=clock.now())


def test_reopening_freezes_again_and_refuses_the_queue(engine, settings, clock):
    engineer_holds_dev(engine, clock)
    open_dev(engine, settings, clock)
    resolve_incident(engine, incident_id=1, caller=ALICE, now=clock.now())
    assert current_hold(engine, environment="dev", now=clock.now()).owner == ENGINEER
    release_hold(engine, environment="dev", principal=ENGINEER, now=clock.now())
    assert deploy(engine, settings, clock).decision == "go"
    waiting = deploy(engine, settings, clock, who=CI, branch="x", commit="e" * 7)
    assert waiting.decision == "wait"

    reopened = reopen_incident(
        engine, settings, incident_id=1, caller=BOB, now=clock.now(), note="not over"
    )
    assert reopened.view.status == "investigating" and reopened.view.resolved_at is None
    assert reopened.effects.refused_deploys == (waiting.deploy.id,)
    assert [u.kind for u in reopened.updates] == ["opened", "resolved", "reopened"]
    [event] = events(engine, "incident.reopened")
    assert "dev is frozen again" in event.message
    with pytest.raises(InvalidTransition):
        reopen_incident(engine, settings, incident_id=1, caller=BOB, now=clock.now())


def test_reopening_beside_another_open_incident_is_refused(engine, settings, clock):
    open_dev(engine, settings, clock)
    resolve_incident(engine, incident_id=1, caller=ALICE, now=clock.now())
    open_dev(engine, settings, clock, title="again")
    with pytest.raises(IncidentAlreadyOpen) as refused:
        reopen_incident(engine, settings, incident_id=1, caller=ALICE, now=clock.now())
    assert "update 2" in refused.value.hint


def test_lists_and_shows(engine, settings, clock):
    open_dev(engine, settings, clock)
    resolve_incident(engine, incident_id=1, caller=ALICE, now=clock.now())
    open_incident(
        engine,
        settings,
        environment="prod",
        title="x",
        severity="sev2",
        opener=BOB,
        now=clock.now(),
    )
    assert [i.view.id for i in list_incidents(engine, environments=None)] == [2]
    every = list_incidents(engine, environments=None, include_resolved=True)
    assert [i.view.id for i in every] == [2, 1]
    assert [
        i.view.id for i in list_incidents(engine, environments=["dev"], include_resolved=True)
    ] == [1]
    shown = get_incident(engine, 1)
    assert shown.timezone == "Europe/Berlin" and len(shown.updates) == 2
    with pytest.raises(UnknownIncident):
        get_incident(engine, 3)


def lock_json(lock_id: str) -> bytes:
    return json.dumps({"ID": lock_id, "Operation": "OperationTypeApply"}).encode()


def test_a_terraform_lock_is_refused_as_frozen_while_an_incident_freezes_the_environment(
    engine, settings, clock
):
    store = StateStore.from_settings(engine, settings)
    key = StateKey("dev", "main")
    open_dev(engine, settings, clock)
    refused = lock_state(store, principal=ENGINEER, key=key, body=lock_json("l1"), now=clock.now())
    assert isinstance(refused, Refusal) and refused.cause is RefusalCause.FROZEN
    assert 'incident 1 ("users cannot log in", sev1, led by alice)' in refused.message
    resolve_incident(engine, incident_id=1, caller=ALICE, now=clock.now())
    accepted = lock_state(store, principal=ENGINEER, key=key, body=lock_json("l2"), now=clock.now())
    assert isinstance(accepted, Accepted)


def test_the_hotfix_deploy_holding_the_environment_may_lock_inside_a_reservation(
    engine, settings, clock
):
    store = StateStore.from_settings(engine, settings)
    key = StateKey("dev", "main")
    running = deploy(engine, settings, clock, who=CI)  # holds dev with a deploy hold
    assert running.decision == "go"
    request = ReservationCreate("dev", "13:00", "16:30", "investor demo")
    create_reservation(engine, settings, request, owner=COO, now=clock.now())
    open_dev(engine, settings, clock)
    as_ci = {"principal": CI, "key": key, "now": clock.now()}
    refused = lock_state(store, body=lock_json("l1"), **as_ci)
    assert isinstance(refused, Refusal) and refused.cause is RefusalCause.RESERVED
    with UnitOfWork(engine) as uow:  # the running deploy is the incident's hotfix
        uow.session.get(DeployRow, running.deploy.id).incident_id = 1
    assert isinstance(lock_state(store, body=lock_json("l2"), **as_ci), Accepted)
