"""The postmortem drafted from a real story in the database (SQLite and PostgreSQL), and the
follow-up actions with their events.

The story, in Berlin time (the clock starts at 13:00): a routine deploy writes the state
with the user pool at 13:00; at 14:43 CI asks to deploy the plan that renames the pool
without a ``moved`` block; the lead approves it; at 14:44 it goes and writes a state without
``aws_cognito_user_pool.main``; at 14:47 alice opens incident sev1; mitigated at 15:08,
resolved at 15:28.
"""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from tests.services.deploy_helpers import APPROVER, CI, COGNITO_PLAN, decide, deploy, finish
from tests.support.states import write

from signalbox.core.errors import InvalidInput, UnknownAction, UnknownIncident
from signalbox.core.postmortem import to_plain
from signalbox.core.postmortem_markdown import render_markdown
from signalbox.core.tfstate import Accepted, StateKey
from signalbox.core.views import Principal
from signalbox.services.deploys import approve_deploy
from signalbox.services.events import list_events
from signalbox.services.incidents.actions import (
    action_environment,
    add_action,
    incident_environment,
    list_actions,
    set_action,
)
from signalbox.services.incidents.open import open_incident
from signalbox.services.incidents.postmortem import draft_postmortem
from signalbox.services.incidents.resolve import resolve_incident
from signalbox.services.incidents.update import update_incident
from signalbox.services.tfstate import StateStore
from signalbox.storage.tfstate_tables import TfStateChunkRow, TfStateVersionRow
from signalbox.storage.uow import UnitOfWork

POOL = "aws_cognito_user_pool.main"
SECRET = "pool-secret-do-not-print"
ALICE = Principal("alice", is_ci=False)
ENGINEER = Principal("platform-eng", is_ci=False)
MAIN = StateKey("dev", "main")


def state(serial: int, *addresses: str) -> bytes:
    """A version-4 state with the resources ``type.name`` (values carry ``SECRET``)."""
    resources = [
        {
            "mode": "managed",
            "type": address.split(".")[0],
            "name": address.split(".")[1],
            "provider": 'provider["registry.terraform.io/hashicorp/aws"]',
            "instances": [{"schema_version": 0, "attributes": {"id": SECRET}}],
        }
        for address in addresses
    ]
    document = {
        "version": 4,
        "terraform_version": "1.15.5",
        "serial": serial,
        "lineage": "5e1f1c9a-0b1c-4f1e-8c5e-3c9f0e6a7b2d",
        "outputs": {},
        "resources": resources,
    }
    return json.dumps(document).encode()


def minutes(clock, count):
    clock.advance(timedelta(minutes=count))


def story(engine, settings, clock):
    """The story up to the resolution; returns (incident id, the destroying deploy's id)."""
    store = StateStore.from_settings(engine, settings)
    seeding = deploy(engine, settings, clock, commit="5eed000")
    assert seeding.decision == "go"
    before = state(1, POOL, "aws_s3_bucket.frontend")
    assert isinstance(write(store, MAIN, before, principal=CI, now=clock.now()), Accepted)
    finish(engine, settings, clock, seeding)
    minutes(clock, 103)  # 14:43
    waiting = deploy(engine, settings, clock, plan=COGNITO_PLAN, commit="b0a710c")
    assert waiting.decision == "needs-approval"
    clock.advance(timedelta(seconds=30))  # its gate asks again within WAITING_LEASE
    approve_deploy(
        engine, settings, deploy_id=waiting.deploy.id, approver=APPROVER, now=clock.now()
    )
    clock.advance(timedelta(seconds=30))  # 14:44
    going = decide(engine, settings, clock, waiting.deploy.id)
    assert going.decision == "go", (going.reason, going.message)
    after = state(2, "aws_cognito_user_pool.users", "aws_s3_bucket.frontend")
    clock.advance(timedelta(seconds=30))  # within the deploy's lease
    assert isinstance(write(store, MAIN, after, principal=CI, now=clock.now()), Accepted)
    finish(engine, settings, clock, going)
    clock.advance(timedelta(seconds=150))  # 14:47
    incident = open_incident(
        engine,
        settings,
        environment="dev",
        title="users cannot log in",
        severity="sev1",
        opener=ALICE,
        now=clock.now(),
    )
    incident_id = incident.view.id
    minutes(clock, 21)  # 15:08
    update_incident(
        engine,
        incident_id=incident_id,
        caller=ALICE,
        caller_is_admin=False,
        now=clock.now(),
        status="mitigated",
        note="pool re-created, ids pasted",
    )
    minutes(clock, 20)  # 15:28
    resolve_incident(engine, incident_id=incident_id, caller=ALICE, now=clock.now(), note="done")
    minutes(clock, 2)  # 15:30
    return incident_id, waiting.deploy.id


def test_the_changes_before_the_break_name_the_deploy_and_the_pool_it_destroyed(
    engine, settings, clock
):
    incident_id, destroying = story(engine, settings, clock)
    store = StateStore.from_settings(engine, settings)
    drafted = draft_postmortem(store, incident_id=incident_id, now=clock.now())
    taken = drafted.breaking_change
    assert taken is not None and taken.kind == "deploy" and taken.deploy_id == destroying
    assert POOL in taken.destroyed and POOL in drafted.destroyed
    assert "that destroyed stateful resources" in taken.why
    assert drafted.time_to_detect_seconds == 3 * 60  # 14:44 -> 14:47
    assert drafted.time_to_mitigate_seconds == 24 * 60  # 14:44 -> 15:08
    assert drafted.time_to_resolve_seconds == 44 * 60  # 14:44 -> 15:28
    assert drafted.duration_seconds == 41 * 60
    by_kind = {(c.kind, c.deploy_id) for c in drafted.changes_before}
    assert ("deploy", destroying) in by_kind and ("approval", destroying) in by_kind
    write_change = [c for c in drafted.changes_before if c.kind == "state-write"][-1]
    assert write_change.addresses == (POOL,) and write_change.deploy_id == destroying
    deploy_change = next(
        c for c in drafted.changes_before if c.kind == "deploy" and c.deploy_id == destroying
    )
    assert "needs-approval" in deploy_change.text and POOL in deploy_change.addresses
    assert [u.status for u in drafted.updates] == ["investigating", "mitigated", "resolved"]
    kinds = [entry.kind for entry in drafted.timeline]
    assert kinds.index("deploy.started") < kinds.index("incident.opened")
    assert kinds[-1] == "incident.resolved"


def test_the_draft_never_carries_a_state_value_and_renders_in_berlin_time(engine, settings, clock):
    incident_id, _ = story(engine, settings, clock)
    store = StateStore.from_settings(engine, settings)
    drafted = draft_postmortem(store, incident_id=incident_id, now=clock.now())
    markdown = render_markdown(drafted)
    assert SECRET not in json.dumps(to_plain(drafted)) and SECRET not in markdown
    assert "| 14:44 CET | deploy | frontend-dev |" in markdown
    assert "15:28 CET" in markdown and f"`{POOL}`" in markdown


def test_a_short_window_misses_the_change_and_counts_from_the_opening(engine, settings, clock):
    incident_id, _ = story(engine, settings, clock)
    store = StateStore.from_settings(engine, settings)
    drafted = draft_postmortem(
        store, incident_id=incident_id, now=clock.now(), since=timedelta(minutes=1)
    )
    assert drafted.breaking_change is None and drafted.time_to_detect_seconds == 0
    assert drafted.changes_before == ()


def pool_gone(engine, settings, clock):
    """alice opens a sev2 incident on dev: the pool is gone."""
    return open_incident(
        engine,
        settings,
        environment="dev",
        title="pool gone",
        severity="sev2",
        opener=ALICE,
        now=clock.now(),
    )


def test_a_laptop_write_that_removed_resources_is_the_breaking_change(engine, settings, clock):
    store = StateStore.from_settings(engine, settings)
    assert isinstance(
        write(store, MAIN, state(1, POOL), principal=ENGINEER, now=clock.now()), Accepted
    )
    minutes(clock, 100)
    removed = write(store, MAIN, state(2), principal=ENGINEER, now=clock.now())
    assert isinstance(removed, Accepted)
    minutes(clock, 5)
    incident = pool_gone(engine, settings, clock)
    drafted = draft_postmortem(store, incident_id=incident.view.id, now=clock.now())
    taken = drafted.breaking_change
    assert taken is not None and taken.kind == "state-write" and taken.who == "platform-eng"
    assert taken.destroyed == (POOL,) and drafted.time_to_detect_seconds == 5 * 60
    assert "out-of-band" in {c.kind for c in drafted.changes_before}
    assert drafted.resolved_at is None and drafted.impact.ends is None


def test_a_damaged_state_body_is_told_in_the_draft_not_a_failed_draft(engine, settings, clock):
    store = StateStore.from_settings(engine, settings)
    write(store, MAIN, state(1, POOL), principal=ENGINEER, now=clock.now())
    minutes(clock, 10)
    write(store, MAIN, state(2), principal=ENGINEER, now=clock.now())
    with UnitOfWork(engine) as uow:  # one bit of the newest body flips at rest
        newest = uow.session.scalars(
            select(TfStateVersionRow).order_by(TfStateVersionRow.id.desc()).limit(1)
        ).one()
        chunk = uow.session.scalars(
            select(TfStateChunkRow).where(TfStateChunkRow.blob_id == newest.blob_id)
        ).first()
        assert chunk is not None
        chunk.data = bytes([chunk.data[0] ^ 0x01]) + chunk.data[1:]
    minutes(clock, 5)
    incident = pool_gone(engine, settings, clock)
    drafted = draft_postmortem(store, incident_id=incident.view.id, now=clock.now())
    damaged = [c for c in drafted.changes_before if "serial 2" in c.text]
    assert len(damaged) == 1 and "stored body is damaged" in damaged[0].text


def test_an_unknown_incident_and_a_bad_window_are_refused(engine, settings, clock):
    store = StateStore.from_settings(engine, settings)
    with pytest.raises(UnknownIncident):
        draft_postmortem(store, incident_id=99, now=clock.now())
    with pytest.raises(UnknownIncident):
        incident_environment(engine, 99)
    incident = open_incident(
        engine,
        settings,
        environment="dev",
        title="down",
        severity="sev3",
        opener=ALICE,
        now=clock.now(),
    )
    with pytest.raises(InvalidInput, match="--since"):
        draft_postmortem(
            store, incident_id=incident.view.id, now=clock.now(), since=timedelta(days=8)
        )


def test_actions_are_added_updated_listed_and_told(engine, settings, clock):
    incident = open_incident(
        engine,
        settings,
        environment="dev",
        title="pool gone",
        severity="sev1",
        opener=ALICE,
        now=clock.now(),
    )
    incident_id = incident.view.id
    first = add_action(
        engine,
        incident_id=incident_id,
        text="  turn on deletion protection  ",
        owner="bob",
        due="2026-11-25",
        by=ALICE,
        now=clock.now(),
    )
    second = add_action(
        engine, incident_id=incident_id, text="moved blocks in review", by=ALICE, now=clock.now()
    )
    assert first.view.text == "turn on deletion protection" and first.view.status == "proposed"
    assert first.view.due == date(2026, 11, 25) and first.overdue
    assert action_environment(engine, first.view.id) == "dev"
    done = set_action(
        engine, action_id=second.view.id, status="done", note="merged", by=ALICE, now=clock.now()
    )
    assert done.view.status == "done" and done.note == "merged"
    listed = list_actions(engine, now=clock.now(), open_only=True)
    assert [a.view.id for a in listed] == [first.view.id]
    assert list_actions(engine, now=clock.now(), environments=["prod"]) == []
    assert len(list_actions(engine, now=clock.now(), incident_id=incident_id)) == 2
    events = [e for e in list_events(engine, environment="dev") if e.kind.startswith("action.")]
    assert [e.kind for e in events] == ["action.updated", "action.added", "action.added"]
    assert "alice set action" in events[0].message and "merged" in events[0].message
    store = StateStore.from_settings(engine, settings)
    drafted = draft_postmortem(store, incident_id=incident_id, now=clock.now())
    assert [(a.id, a.overdue) for a in drafted.actions] == [
        (first.view.id, True),
        (second.view.id, False),
    ]


def test_bad_actions_change_nothing(engine, settings, clock):
    incident = open_incident(
        engine,
        settings,
        environment="dev",
        title="pool gone",
        severity="sev1",
        opener=ALICE,
        now=clock.now(),
    )
    for wrong in (
        {"text": "  "},
        {"text": "x", "due": "next week"},
        {"text": "x", "owner": "two words"},
    ):
        with pytest.raises(InvalidInput):
            add_action(engine, incident_id=incident.view.id, by=ALICE, now=clock.now(), **wrong)
    with pytest.raises(UnknownIncident):
        add_action(engine, incident_id=99, text="x", by=ALICE, now=clock.now())
    added = add_action(engine, incident_id=incident.view.id, text="x", by=ALICE, now=clock.now())
    with pytest.raises(InvalidInput, match="not a status"):
        set_action(engine, action_id=added.view.id, status="finished", by=ALICE, now=clock.now())
    with pytest.raises(UnknownAction):
        set_action(engine, action_id=99, status="done", by=ALICE, now=clock.now())
    assert [a.view.status for a in list_actions(engine, now=clock.now())] == ["proposed"]
