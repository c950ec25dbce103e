"""What people read: the story's changes, made through the services on SQLite and PostgreSQL,
delivered through real Apprise to real loopback receivers (HTTP ``json://`` and ``form://``,
SMTP ``mailto://``), each target hearing of what it subscribed to.

The clock starts at 2026-11-26 12:00 UTC = 13:00 in Europe/Berlin (dev's zone)."""

from __future__ import annotations

import json
from datetime import timedelta

from tests.notify.notify_helpers import deliver, event_ids, notify_settings, target
from tests.services.deploy_helpers import (
    COGNITO_PLAN,
    COO,
    ENGINEER,
    decide,
    deploy,
    engineer_holds_dev,
    finish,
)
from tests.support.states import write

from signalbox.core.tfstate import Accepted, StateKey
from signalbox.core.views import Principal
from signalbox.services.deploys import approve_deploy
from signalbox.services.holds import acquire_hold, release_hold
from signalbox.services.incidents import open_incident, resolve_incident, update_incident
from signalbox.services.reservations import (
    ReservationCreate,
    cancel_reservation,
    create_reservation,
)
from signalbox.services.tfstate import StateStore
from signalbox.services.tokens import create_token

ALICE = Principal("alice", is_ci=False)
LEAD2 = Principal("lead2", is_ci=False)
BASE = "http://127.0.0.1:8787"


def play_the_story(engine, settings, clock) -> dict[str, int]:
    """The story through the services: a hold and its release, the plan that destroys the
    pool approved by lead2 and applied, the demo booked and cancelled, an incident opened,
    updated with an ETA and resolved. Returns the ids of what was made."""
    engineer_holds_dev(engine, clock)
    clock.advance(timedelta(minutes=5))
    release_hold(engine, environment="dev", principal=ENGINEER, now=clock.now())
    waiting = deploy(engine, settings, clock, plan=COGNITO_PLAN)
    assert waiting.decision == "needs-approval"
    approve_deploy(
        engine,
        settings,
        deploy_id=waiting.deploy.id,
        approver=LEAD2,
        reason="looks like a rename",
        now=clock.now(),
    )
    started = decide(engine, settings, clock, waiting.deploy.id)
    assert started.decision == "go"
    clock.advance(timedelta(seconds=30))
    finish(engine, settings, clock, started, seconds=180)
    demo = create_reservation(
        engine,
        settings,
        ReservationCreate("dev", "15:30", "16:30", "investor demo"),
        owner=COO,
        now=clock.now(),
    )
    cancel_reservation(engine, demo.id, by=COO, may_cancel_any=False, now=clock.now())
    incident = open_incident(
        engine,
        settings,
        environment="dev",
        title="users cannot log in",
        severity="sev1",
        opener=ALICE,
        now=clock.now(),
    )
    clock.advance(timedelta(minutes=10))  # 13:15:30 CET
    update_incident(
        engine,
        incident_id=incident.view.id,
        caller=ALICE,
        caller_is_admin=False,
        now=clock.now(),
        status="identified",
        eta="20m",
        note="the pool was destroyed by a rename; restoring it",
    )
    clock.advance(timedelta(minutes=20))
    resolve_incident(
        engine, incident_id=incident.view.id, caller=ALICE, now=clock.now(), note="pool restored"
    )
    return {"deploy": waiting.deploy.id, "reservation": demo.id, "incident": incident.view.id}


def expected_story(made: dict[str, int]) -> list[tuple[str, str, str]]:
    """(title, sentence, link) of each message of the story, in order."""
    deploy_id, reservation, incident = made["deploy"], made["reservation"], made["incident"]
    dev = f"{BASE}/environments/dev"
    deploy_link, incident_link = f"{BASE}/deploys/{deploy_id}", f"{BASE}/incidents/{incident}"
    return [
        ("dev: hold granted",
         "platform-eng held dev for 4h (until 17:00 CET): renaming cognito pool.", dev),
        ("dev: hold released", "platform-eng released dev.", dev),
        ("dev: plan waits for approval",
         f"Deploy {deploy_id} (main @ c0ffee1) to dev has a plan that needs approval; it waits "
         f"for an approver other than ci-dev (`signalbox approve {deploy_id}`).", deploy_link),
        ("dev: plan approved",
         f"lead2 approved the plan of deploy {deploy_id} to dev: looks like a rename.",
         deploy_link),
        ("dev: apply started",
         f"Deploy {deploy_id} (main @ c0ffee1) to dev started by frontend-dev: destroys "
         "aws_cognito_user_pool.main; replaces aws_cognito_user_pool_client.web: approved by "
         "lead2 (fencing token 2).", deploy_link),
        ("dev: apply succeeded",
         f"Deploy {deploy_id} (main @ c0ffee1) to dev succeeded (exit code 0, 3m); dev is free.",
         deploy_link),
        ("dev: reservation created",
         "coo reserved dev from 15:30 CET to 16:30 CET: investor demo.",
         f"{dev}/reservations/{reservation}"),
        ("dev: reservation cancelled",
         f"coo cancelled reservation {reservation} of dev (investor demo, 15:30 CET to "
         "16:30 CET).", f"{dev}/reservations/{reservation}"),
        ("dev: incident opened",
         f'alice opened incident {incident} (sev1) on dev: "users cannot log in", led by '
         "alice. dev is frozen: only its hotfixes deploy.", incident_link),
        ("dev: incident updated",
         f"Incident {incident} on dev (users cannot log in), update by alice: identified, "
         "ETA 13:35 CET: the pool was destroyed by a rename; restoring it.", incident_link),
        ("dev: incident resolved",
         f'alice resolved incident {incident} on dev ("users cannot log in") after 30m: pool '
         "restored. dev is open again.", incident_link),
    ]  # fmt: skip


STORY_KINDS = (
    "hold.granted",
    "hold.released",
    "deploy.awaiting-approval",
    "approval.granted",
    "deploy.started",
    "deploy.finished",
    "reservation.created",
    "reservation.cancelled",
    "incident.opened",
    "incident.updated",
    "incident.resolved",
)


def test_the_story_reaches_a_json_receiver_in_order_with_the_words_people_read(
    engine, settings, clock, http_receiver
):
    settings = notify_settings(settings, target("dev-channel", http_receiver.url("json", "/dev")))
    made = play_the_story(engine, settings, clock)
    deliver(engine, settings, clock)
    posts = http_receiver.wait_for(11)
    expected = expected_story(made)
    assert [(p.title, p.sentence) for p in posts] == [(t, s) for t, s, _ in expected]
    # every message: sentence, link, event id; the ids are the events', in order
    told = [
        e for e in event_ids(engine, *STORY_KINDS) if e in {p.event_id for p in posts}
    ]  # the deploy's own hold is not told (deploy.started says more)
    assert [p.event_id for p in posts] == told and len(told) == 11
    for post, (_title, sentence, link) in zip(posts, expected, strict=True):
        assert post.message == f"{sentence}\n{link}\nsignalbox event {post.event_id}"
        assert post.path == "/dev" and post.content_type.startswith("application/json")
        assert post.type == "info"
    assert len(http_receiver.attempts) == 11  # each once, nothing sent twice


def test_a_form_receiver_gets_the_same_words(engine, settings, clock, http_receiver):
    settings = notify_settings(settings, target("forms", http_receiver.url("form", "/f")))
    made = play_the_story(engine, settings, clock)
    deliver(engine, settings, clock)
    posts = http_receiver.wait_for(11)
    assert {p.content_type for p in posts} == {"application/x-www-form-urlencoded"}
    assert [(p.title, p.sentence) for p in posts] == [(t, s) for t, s, _ in expected_story(made)]


def test_email_reads_well_subject_is_the_title(engine, settings, clock, smtp_receiver):
    url = smtp_receiver.url(to="coo@example.com", sender="signalbox@example.com")
    settings = notify_settings(
        settings, target("stakeholders", url, events=["reservation.*", "incident.*"])
    )
    made = play_the_story(engine, settings, clock)
    deliver(engine, settings, clock)
    mails = smtp_receiver.wait_for(5)
    wanted = [m for m in expected_story(made) if m[0].startswith(("dev: reservation", "dev: inc"))]
    assert [(m.subject, m.body.splitlines()[0]) for m in mails] == [(t, s) for t, s, _ in wanted]
    first = mails[0]
    assert first.mail_from == "signalbox@example.com" and first.rcpt_tos == ("coo@example.com",)
    assert first.body.splitlines() == [
        "coo reserved dev from 15:30 CET to 16:30 CET: investor demo.",
        f"{BASE}/environments/dev/reservations/{made['reservation']}",
        f"signalbox event {first.event_id}",
    ]
    assert b"Content-Type: text/plain" in first.raw  # plain text: the lines stay lines


def test_each_target_hears_of_its_environments_and_kinds_only(
    engine, settings, clock, http_receiver
):
    settings = notify_settings(
        settings,
        target("dev-deploys", http_receiver.url("json", "/dev-deploys"), environments=("dev",),
               events=["deploy.*", "hold.*"]),
        target("prod-all", http_receiver.url("json", "/prod-all"), environments=("prod",)),
        target("incidents", http_receiver.url("json", "/incidents"), events=["incident.*"]),
        target("everyone", http_receiver.url("json", "/everyone")),
    )  # fmt: skip
    engineer_holds_dev(engine, clock)
    acquire_hold(
        engine,
        environment="prod",
        principal=ENGINEER,
        reason="rotating keys",
        duration=timedelta(hours=1),
        now=clock.now(),
    )
    open_incident(
        engine, settings, environment="prod", title="slow logins", severity="sev3",
        opener=ALICE, now=clock.now(),
    )  # fmt: skip
    create_token(
        engine, name="ci-prod", grants=["developer:prod"], is_ci=True, created_by="root",
        now=clock.now(),
    )  # fmt: skip
    turn = deliver(engine, settings, clock)
    assert turn.delivered == 7
    posts = http_receiver.wait_for(7)
    heard: dict[str, list[str]] = {}
    for post in posts:
        heard.setdefault(post.path.strip("/"), []).append(post.title)
    assert heard == {
        "dev-deploys": ["dev: hold granted"],
        "prod-all": ["prod: hold granted", "prod: incident opened"],
        "incidents": ["prod: incident opened"],
        "everyone": ["dev: hold granted", "prod: hold granted", "prod: incident opened"],
    }  # nobody hears of the token: token.* is not in the default set, nor of environment.added


def test_a_state_written_from_a_laptop_is_told_once_with_the_hold_it_placed(
    engine, settings, clock, http_receiver
):
    """The write places an automatic hold (hold.granted) and says so (state.out-of-band): one
    change, one message."""
    settings = notify_settings(settings, target("dev-channel", http_receiver.url("json")))
    store = StateStore.from_settings(engine, settings)
    body = json.dumps({"version": 4, "serial": 4, "lineage": "L", "resources": []}).encode()
    written = write(store, StateKey("dev", "network"), body, principal=ENGINEER, now=clock.now())
    assert isinstance(written, Accepted)
    assert event_ids(engine, "hold.granted", "state.out-of-band")  # both recorded
    turn = deliver(engine, settings, clock)
    [post] = http_receiver.wait_for(1)
    assert turn.delivered == 1
    assert post.title == "dev: state written outside a deploy"
    assert post.sentence == (
        "platform-eng wrote dev/network (serial 4) from outside a deploy: dev is now held for "
        "them until 15:00 CET."
    )


def test_a_target_that_hears_of_holds_but_not_state_writes_hears_of_the_automatic_hold(
    engine, settings, clock, http_receiver
):
    settings = notify_settings(
        settings, target("holds-only", http_receiver.url("json"), events=["hold.*"])
    )
    store = StateStore.from_settings(engine, settings)
    body = json.dumps({"version": 4, "serial": 4, "lineage": "L", "resources": []}).encode()
    write(store, StateKey("dev", "network"), body, principal=ENGINEER, now=clock.now())
    deliver(engine, settings, clock)
    [post] = http_receiver.wait_for(1)
    assert post.title == "dev: hold granted"
    assert post.sentence == (
        "platform-eng held dev for 2h (until 15:00 CET): changed the network state from a "
        "workstation (automatic hold)."
    )
