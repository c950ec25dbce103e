"""Deploys through the database: decide, take the deploy hold, queue, supersede, lapse.

The clock starts at 2026-11-26 12:00 UTC = 13:00 in Europe/Berlin (dev's zone), as in the
story; dev's configured expected deploy is 17 minutes.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from tests.services.deploy_helpers import (
    APPROVER,
    CI,
    COGNITO_PLAN,
    COO,
    ENGINEER,
    SECRET_IN_PLANS,
    decide,
    deploy,
    engineer_holds_dev,
    finish,
    heartbeat,
)

from signalbox.core.errors import (
    NotHolder,
    PlanUnreadable,
    StaleFencingToken,
    UnknownEnvironment,
)
from signalbox.core.queue import WAITING_LEASE
from signalbox.services.deploys import (
    approve_deploy,
    cancel_deploy,
    decide_deploy,
    expire_stale_deploys,
    touch_waiting,
)
from signalbox.services.events import list_events
from signalbox.services.holds import current_hold, release_hold
from signalbox.services.reservations import ReservationCreate, create_reservation
from signalbox.storage.repositories.deploys import DeployRepository
from signalbox.storage.uow import UnitOfWork


def kinds(engine, env="dev"):
    return [event.kind for event in list_events(engine, environment=env)]


def count_deploys(engine):
    with UnitOfWork(engine, read_only=True) as uow:
        return len(DeployRepository(uow.session).newest(environments=None, limit=1000))


def test_a_routine_plan_goes_at_once_with_a_deploy_hold_and_a_fencing_token(
    engine, settings, clock
):
    answer = deploy(engine, settings, clock)
    assert answer.decision == "go"
    assert answer.fencing_token == 1 and answer.lease_seconds == settings.deploy_lease_seconds
    assert answer.deploy.state == "running" and answer.deploy.plan_verdict == "routine"
    hold = current_hold(engine, environment="dev", now=clock.now())
    assert hold is not None and hold.deploy_id == answer.deploy.id and hold.kind == "deploy"
    assert kinds(engine)[:3] == ["deploy.started", "hold.granted", "deploy.requested"]


def test_the_analysis_is_stored_without_attribute_values(engine, settings, clock):
    answer = deploy(engine, settings, clock, plan=COGNITO_PLAN)
    assert answer.deploy.analysis is not None
    stored = str(answer.deploy.analysis) + str([e.data for e in list_events(engine)])
    assert SECRET_IN_PLANS not in stored
    assert answer.deploy.plan_digest is not None and len(answer.deploy.plan_digest) == 64


def test_held_by_the_engineer_refuses_naming_him_and_his_reason(engine, settings, clock):
    engineer_holds_dev(engine, clock)
    clock.advance(timedelta(minutes=104))  # 14:44 in Berlin
    answer = deploy(engine, settings, clock)
    assert (answer.decision, answer.reason, answer.whom) == ("refused", "held", "platform-eng")
    assert "platform-eng" in answer.message and "renaming cognito pool" in answer.message
    assert "13:00" in answer.message  # shown in dev's time zone, not UTC
    assert answer.deploy.state == "refused"
    assert current_hold(engine, environment="dev", now=clock.now()).owner == ENGINEER


def test_a_deploy_that_would_overlap_the_demo_is_refused(engine, settings, clock):
    create_reservation(
        engine,
        settings,
        ReservationCreate("dev", "15:30", "16:30", "investor demo"),
        owner=COO,
        now=clock.now(),
    )
    clock.advance(timedelta(hours=2, minutes=20))  # 15:20 Berlin: 17 minutes reach 15:37
    answer = deploy(engine, settings, clock)
    assert (answer.decision, answer.reason, answer.whom) == ("refused", "reserved", "coo")
    assert "investor demo" in answer.message and "15:30" in answer.message
    clock.set(clock.now().replace(hour=14, minute=30) + timedelta(hours=1))  # 16:30 Berlin
    assert deploy(engine, settings, clock, commit="later").decision == "go"


def test_one_deploy_at_a_time_the_next_goes_when_the_first_finishes(engine, settings, clock):
    first = deploy(engine, settings, clock, branch="main")
    second = deploy(engine, settings, clock, branch="feature")
    assert second.decision == "wait" and second.position == 1 and second.whom == "ci-dev"
    clock.advance(timedelta(seconds=30))  # within the first one's lease
    assert decide(engine, settings, clock, second.deploy.id).decision == "wait"
    done = finish(engine, settings, clock, first, seconds=180.0)
    assert done.decision == "finished" and done.deploy.state == "succeeded"
    go = decide(engine, settings, clock, second.deploy.id)
    assert go.decision == "go" and go.fencing_token == first.fencing_token + 1


def test_a_newer_request_of_the_same_branch_supersedes_the_waiting_one(engine, settings, clock):
    deploy(engine, settings, clock, branch="other")  # running
    older = deploy(engine, settings, clock, branch="main", commit="aaaaaaa")
    clock.advance(timedelta(seconds=30))
    newer = deploy(engine, settings, clock, branch="main", commit="bbbbbbb")
    assert (older.decision, newer.decision) == ("wait", "wait")
    told = decide(engine, settings, clock, older.deploy.id)
    assert (told.decision, told.reason) == ("refused", "superseded")
    assert f"deploy {newer.deploy.id}" in told.message
    assert newer.position == 1  # the superseded one no longer counts


def test_a_dead_runner_lets_its_lease_lapse_and_the_environment_frees_itself(
    engine, settings, clock
):
    first = deploy(engine, settings, clock)
    second = deploy(engine, settings, clock, branch="feature")
    assert second.decision == "wait"
    clock.advance(timedelta(seconds=settings.deploy_lease_seconds + 1))
    touch_waiting(engine, [second.deploy.id], now=clock.now())
    go = decide(engine, settings, clock, second.deploy.id)
    assert go.decision == "go"
    gone = decide(engine, settings, clock, first.deploy.id)
    assert gone.deploy.state == "failed" and gone.deploy.outcome == "lease-lapsed"
    assert "deploy.lapsed" in kinds(engine)
    with pytest.raises(NotHolder):
        heartbeat(engine, settings, clock, first)


def test_heartbeat_renews_the_lease_and_a_stale_token_is_refused(engine, settings, clock):
    running = deploy(engine, settings, clock)
    clock.advance(timedelta(seconds=40))
    renewed = heartbeat(engine, settings, clock, running)
    assert renewed.lease_until == clock.now() + timedelta(seconds=settings.deploy_lease_seconds)
    with pytest.raises(StaleFencingToken):
        heartbeat(engine, settings, clock, running, token_offset=5)


def test_the_expected_duration_is_learned_from_successful_deploys(engine, settings, clock):
    """Slower than configured: the p90 of the recent deploys (25m) judges, not the 17m."""
    for minutes in (20, 22, 25):
        run = deploy(engine, settings, clock, commit=f"m{minutes}")
        finish(engine, settings, clock, run, seconds=minutes * 60.0)
    create_reservation(
        engine,
        settings,
        ReservationCreate("dev", "15:30", "16:30", "demo"),
        owner=COO,
        now=clock.now(),
    )
    clock.set(clock.now().replace(hour=14, minute=10))  # 15:10 Berlin: 15:27 with 17m
    refused = deploy(engine, settings, clock, commit="late")
    assert (refused.decision, refused.reason) == ("refused", "reserved")
    assert (
        "(it takes about 25m: the p90 of the last 3 deploys, larger than the configured "
        "expected_deploy, 17m)" in refused.message
    )


def test_one_instant_deploy_does_not_let_a_17_minute_pipeline_into_the_demo(
    engine, settings, clock
):
    """The issue's case: one 0-second (or 1-second) approved deploy made the median 0 s."""
    for seconds in (0.0, 1.0):
        run = deploy(engine, settings, clock, commit=f"instant{seconds}")
        finish(engine, settings, clock, run, seconds=seconds)
    create_reservation(
        engine,
        settings,
        ReservationCreate("dev", "15:30", "16:30", "demo"),
        owner=COO,
        now=clock.now(),
    )
    clock.set(clock.now().replace(hour=14, minute=20))  # 15:20 Berlin: 17m reaches 15:37
    refused = deploy(engine, settings, clock, commit="pipeline")
    assert (refused.decision, refused.reason, refused.whom) == ("refused", "reserved", "coo")
    assert (
        "(it takes about 17m: the configured expected_deploy, larger than the p90 of the "
        "last deploy, 1s)" in refused.message
    )


def test_the_14_44_refusal_tells_every_reason(engine, settings, clock):
    """Held, a demo a 17-minute pipeline would overlap, and a plan that needs approval:
    the answer lists all three, the held one first, every sentence in the message."""
    engineer_holds_dev(engine, clock)
    create_reservation(
        engine,
        settings,
        ReservationCreate("dev", "13:15", "14:15", "investor demo"),
        owner=COO,
        now=clock.now(),
    )
    answer = deploy(engine, settings, clock, plan=COGNITO_PLAN)
    assert (answer.decision, answer.reason, answer.whom) == ("refused", "held", "platform-eng")
    assert [(r.reason, r.whom) for r in answer.reasons] == [
        ("held", "platform-eng"),
        ("reserved", "coo"),
        ("needs-approval", None),
    ]
    assert answer.message == " ".join(r.message for r in answer.reasons)
    assert "investor demo" in answer.message and "signalbox approve" in answer.message
    again = decide(engine, settings, clock, answer.deploy.id)  # read back: what is stored
    assert again.message == answer.message and again.reason == "held"


def test_a_wait_that_runs_out_is_refused_for_now_or_as_approval_expired(engine, settings, clock):
    deploy(engine, settings, clock, branch="running")
    queued = deploy(engine, settings, clock, branch="queued")
    expired = cancel_deploy(
        engine,
        settings,
        deploy_id=queued.deploy.id,
        principal=CI,
        reason="wait-expired",
        now=clock.now(),
    )
    assert (expired.decision, expired.reason) == ("refused", "wait-expired")
    awaiting = deploy(engine, settings, clock, plan=COGNITO_PLAN, branch="cognito")
    assert awaiting.decision == "needs-approval"
    gave_up = cancel_deploy(
        engine,
        settings,
        deploy_id=awaiting.deploy.id,
        principal=CI,
        reason="approval-expired",
        now=clock.now(),
    )
    assert (gave_up.decision, gave_up.reason) == ("refused", "approval-expired")


def test_a_gate_that_went_away_while_waiting_does_not_block_the_queue(engine, settings, clock):
    first = deploy(engine, settings, clock, branch="a")
    abandoned = deploy(engine, settings, clock, branch="b")
    clock.advance(timedelta(seconds=30))
    third = deploy(engine, settings, clock, branch="c")
    assert (abandoned.position, third.position) == (1, 2)
    finish(engine, settings, clock, first)
    clock.advance(WAITING_LEASE)
    touch_waiting(engine, [third.deploy.id], now=clock.now())  # only c's gate still asks
    assert decide(engine, settings, clock, third.deploy.id).decision == "go"
    assert "deploy.abandoned" in kinds(engine)


def test_bad_input_stores_nothing(engine, settings, clock):
    with pytest.raises(UnknownEnvironment):
        deploy(engine, settings, clock, env="dve")
    with pytest.raises(PlanUnreadable):
        deploy(engine, settings, clock, plan=b'{"format_version": "1.2", "resource_')
    assert count_deploys(engine) == 0
    assert "deploy.requested" not in kinds(engine)


def test_after_the_engineer_releases_ci_may_go(engine, settings, clock):
    engineer_holds_dev(engine, clock)
    assert deploy(engine, settings, clock).reason == "held"
    release_hold(engine, environment="dev", principal=ENGINEER, now=clock.now())
    assert deploy(engine, settings, clock, commit="again").decision == "go"


def test_only_the_requesting_gate_renews_and_reports_its_deploy(engine, settings, clock):
    running = deploy(engine, settings, clock)
    with pytest.raises(NotHolder):
        heartbeat(engine, settings, clock, running, who=ENGINEER)
    with pytest.raises(NotHolder):
        finish(engine, settings, clock, running, seconds=1.0, who=ENGINEER)
    assert current_hold(engine, environment="dev", now=clock.now()).deploy_id == running.deploy.id


def test_a_waiting_gate_is_told_when_time_alone_may_change_its_answer(engine, settings, clock):
    running = deploy(engine, settings, clock, branch="a")
    create_reservation(
        engine,
        settings,
        ReservationCreate("dev", "15:30", "16:30", "demo"),
        owner=COO,
        now=clock.now(),
    )
    waiting = deploy(engine, settings, clock, branch="b")
    assert waiting.decision == "wait"
    # the running deploy's lease lapses first, well before the demo comes within 17 minutes
    assert waiting.recheck_at == clock.now() + timedelta(seconds=settings.deploy_lease_seconds)
    heartbeat(engine, settings, clock, running)
    clock.set(clock.now().replace(hour=14, minute=5))  # 15:05 Berlin: the demo is 25 min away
    touch_waiting(engine, [waiting.deploy.id], now=clock.now())
    told = decide(engine, settings, clock, waiting.deploy.id)
    assert told.decision == "go"  # the lease lapsed; 17 minutes still end before 15:30


def test_an_approval_is_bound_to_its_environment(engine, settings, clock):
    on_dev = deploy(engine, settings, clock, plan=COGNITO_PLAN)
    approve_deploy(engine, settings, deploy_id=on_dev.deploy.id, approver=APPROVER, now=clock.now())
    on_prod = deploy(engine, settings, clock, plan=COGNITO_PLAN, env="prod")
    assert on_prod.decision == "needs-approval"


def test_housekeeping_fails_a_dead_deploy_even_when_nobody_asks(engine, settings, clock):
    running = deploy(engine, settings, clock)
    waiting = deploy(engine, settings, clock, branch="other")
    assert expire_stale_deploys(engine, now=clock.now()) == []  # all alive: nothing to do
    clock.advance(WAITING_LEASE)  # the runner and the waiting gate both went away
    assert expire_stale_deploys(engine, now=clock.now()) == ["dev"]
    with UnitOfWork(engine, read_only=True) as uow:
        repository = DeployRepository(uow.session)
        states = {repository.get(i).state for i in (running.deploy.id, waiting.deploy.id)}
    assert states == {"failed", "expired"}
    assert {"deploy.lapsed", "deploy.abandoned"} <= set(kinds(engine))


def test_deploys_without_a_branch_do_not_supersede_each_other(engine, settings, clock):
    deploy(engine, settings, clock, branch="running")
    first = deploy(engine, settings, clock, branch="")
    second = deploy(engine, settings, clock, branch="")
    assert (first.decision, second.decision) == ("wait", "wait")
    assert decide(engine, settings, clock, first.deploy.id).decision == "wait"


def test_each_step_is_one_catalogue_event_told_in_words(engine, settings, clock):
    first = deploy(engine, settings, clock)
    finish(engine, settings, clock, first, seconds=125.0)
    handmade = deploy(engine, settings, clock, plan=None, branch="", commit="")
    engineer_holds_dev(engine, clock)
    held = deploy(engine, settings, clock, commit="0ddba11")
    events = list_events(engine, environment="dev")
    told = [event.message for event in reversed(events) if event.kind.startswith("deploy.")]
    one, two, three = first.deploy.id, handmade.deploy.id, held.deploy.id
    assert told == [
        "frontend-dev asked to deploy main @ c0ffee1 to dev (plan: routine).",
        f"Deploy {one} (main @ c0ffee1) to dev started by frontend-dev: creates 1, updates 2 "
        "(fencing token 1).",
        f"Deploy {one} (main @ c0ffee1) to dev succeeded (exit code 0, 2m5s); dev is free.",
        "frontend-dev asked to deploy to dev (no plan).",
        f"Deploy {two} to dev has no plan; it waits for an approver other than ci-dev "
        f"(`signalbox approve {two}`).",
        "frontend-dev asked to deploy main @ 0ddba11 to dev (plan: routine).",
        f"Deploy {three} (main @ 0ddba11) to dev was refused: dev is held by platform-eng "
        "until 17:00 CET.",
    ]
    requested = next(event for event in events if event.kind == "deploy.requested")
    assert set(requested.data) == {
        "deploy_id",
        "branch",
        "commit",
        "actor",
        "requester",
        "run_url",
        "plan_verdict",
        "state",
        "hotfix_for",
    }
    assert requested.deploy_id == three


def test_a_superseded_deploy_is_told_once_with_the_rules_sentence(engine, settings, clock):
    deploy(engine, settings, clock, branch="other")  # running
    older = deploy(engine, settings, clock, commit="aaaaaaa")
    newer = deploy(engine, settings, clock, commit="bbbbbbb")
    told = decide(engine, settings, clock, older.deploy.id)
    assert told.message == (
        f"Deploy {older.deploy.id} (main @ aaaaaaa) to dev was superseded by deploy "
        f"{newer.deploy.id} (bbbbbbb) of the same branch; this job can stop, the newer one "
        "will deploy."
    )
    superseded = [
        e for e in list_events(engine, environment="dev") if e.kind == "deploy.superseded"
    ]
    assert [e.data["superseded_by"] for e in superseded] == [newer.deploy.id]


def _figures(engine) -> tuple[int | None, list[float]]:
    """dev's kept deploy figures: its last deploy that ran to an end, its recent durations."""
    with UnitOfWork(engine, read_only=True) as uow:
        row = uow.environments.get("dev")
        return row.last_deploy_id, list(row.recent_deploy_seconds)


def test_the_deploy_figures_are_kept_when_a_deploy_runs_to_an_end_and_only_then(
    engine, settings, clock
):
    succeeded = deploy(engine, settings, clock, commit="1111111")
    finish(engine, settings, clock, succeeded, seconds=120.0)
    assert _figures(engine) == (succeeded.deploy.id, [120.0])
    failed = deploy(engine, settings, clock, commit="2222222")
    finish(engine, settings, clock, failed, seconds=30.0, exit_code=1)
    assert _figures(engine) == (failed.deploy.id, [120.0])  # a failure teaches no duration
    engineer_holds_dev(engine, clock)
    assert deploy(engine, settings, clock, commit="3333333").decision == "refused"
    release_hold(engine, environment="dev", principal=ENGINEER, now=clock.now())
    running = deploy(engine, settings, clock, branch="running")
    older = deploy(engine, settings, clock, commit="4444444")
    deploy(engine, settings, clock, commit="5555555")  # supersedes the older one
    interrupted = deploy(engine, settings, clock, branch="other")
    cancel_deploy(
        engine,
        settings,
        deploy_id=interrupted.deploy.id,
        principal=CI,
        reason="interrupted",
        now=clock.now(),
    )
    assert decide(engine, settings, clock, older.deploy.id).reason == "superseded"
    assert _figures(engine) == (failed.deploy.id, [120.0])  # refusals are no runs
    clock.advance(timedelta(seconds=settings.deploy_lease_seconds) + WAITING_LEASE)
    assert expire_stale_deploys(engine, now=clock.now()) == ["dev"]  # lapsed, and abandoned
    assert _figures(engine) == (running.deploy.id, [120.0])
    late = finish(engine, settings, clock, running, seconds=45.0)  # its runner reports at last
    assert late.deploy.outcome == "lease-lapsed" and late.deploy.duration_seconds == 45.0
    assert _figures(engine) == (running.deploy.id, [120.0])


def test_housekeeping_passes_over_an_environment_taken_out_of_the_configuration(
    engine, settings, clock
):
    """A stale deploy of an environment no longer configured must not stop the tidying of
    the others (it cannot be locked: UnknownEnvironment)."""
    from dataclasses import replace

    from signalbox.services.environments import sync_environments

    on_prod = deploy(engine, settings, clock, env="prod", plan=COGNITO_PLAN)
    on_dev = deploy(engine, settings, clock, plan=COGNITO_PLAN)
    only_dev = replace(settings, environments={"dev": settings.environments["dev"]})
    sync_environments(engine, only_dev, now=clock.now())
    clock.advance(WAITING_LEASE + timedelta(seconds=1))
    assert expire_stale_deploys(engine, now=clock.now()) == ["dev"]
    with UnitOfWork(engine, read_only=True) as uow:
        deploys = DeployRepository(uow.session)
        assert deploys.get(on_dev.deploy.id).state == "expired"
        assert deploys.get(on_prod.deploy.id).state == "awaiting-approval"


def test_a_gate_that_asks_after_its_deadline_has_left_the_queue(engine, settings, clock):
    """Its place is not given back silently: the decision records the abandon, as
    housekeeping would have, and the picture that already showed it gone stays right."""
    waiting = deploy(engine, settings, clock, plan=COGNITO_PLAN)
    clock.advance(WAITING_LEASE + timedelta(seconds=1))
    answer = decide_deploy(engine, settings, deploy_id=waiting.deploy.id, now=clock.now())
    assert (answer.decision, answer.reason) == ("refused", "wait-expired")
    kinds = [event.kind for event in list_events(engine, environment="dev")]
    assert kinds[0] == "deploy.abandoned"


def test_a_late_report_of_a_lapsed_deploy_is_an_event(engine, settings, clock):
    from signalbox.services.status import PictureCache, environment_picture

    started = deploy(engine, settings, clock)
    cache = PictureCache()
    clock.advance(timedelta(minutes=5))  # the runner lost the network: the lease lapsed
    expire_stale_deploys(engine, now=clock.now())
    kept = environment_picture(engine, settings, "dev", now=clock.now(), cache=cache)
    assert kept.last_deploy is not None and kept.last_deploy.duration_seconds is None
    finish(engine, settings, clock, started, seconds=290.0)
    [event] = list_events(engine, environment="dev", limit=1, now=clock.now())
    assert event.kind == "deploy.reported-late" and "exit code 0 after 4m50s" in event.message
    seen = environment_picture(engine, settings, "dev", now=clock.now(), cache=cache)
    assert seen.last_deploy is not None and seen.last_deploy.duration_seconds == 290.0


def test_only_a_request_queued_behind_everyone_that_changes_nothing_else_leaves_gates_parked(
    engine, settings, clock
):
    """The answer of a request says whether it may change another waiting gate's answer:
    the long-poll wakes the waiting gates only then."""
    running = deploy(engine, settings, clock, branch="a")
    assert running.decision == "go" and running.wakes_waiters  # the environment is taken
    waiting = deploy(engine, settings, clock, branch="b")
    assert waiting.decision == "wait" and not waiting.wakes_waiters  # behind everyone
    behind = deploy(engine, settings, clock, branch="c")
    assert behind.decision == "wait" and not behind.wakes_waiters
    again = deploy(engine, settings, clock, branch="b", commit="bbbbbbb")
    assert again.wakes_waiters  # it superseded the first of branch b: that gate must hear
    assert decide(engine, settings, clock, waiting.deploy.id).decision == "refused"
