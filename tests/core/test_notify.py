"""Notifications, the pure rules (core.notify): the backoff, who hears of which kind, which
events are worth a message, and the message people read (title, sentence in the
environment's zone, link, event id)."""

from __future__ import annotations

import fnmatch
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from tests.core.test_events import any_event, sample_event

from signalbox.core.events import (
    CATALOGUE,
    KINDS,
    ActionAdded,
    ApprovalGranted,
    DeployFinished,
    DeployStarted,
    Event,
    HoldEvent,
    HoldForceReleased,
    HoldGranted,
    HoldRenewed,
    IncidentResolved,
    IncidentUpdated,
    ReservationAtRisk,
    ReservationCancelled,
    ReservationCreated,
    ReservationStartsSoon,
    StateOutOfBand,
    TokenCreated,
)
from signalbox.core.notify import (
    DEFAULT_EVENTS,
    FIRST_RETRY,
    LONG_HOLD,
    MAX_RETRY_GAP,
    TELLING_OTHERS,
    Subscription,
    compose,
    link_of,
    matching_kinds,
    retry_at,
    told_by_another,
    unknown_globs,
    worth_telling,
)

QUEUED = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)  # 13:00 in Berlin
FOREVER = timedelta(days=3650)
SIX_HOURS = timedelta(hours=6)
BASE = "https://signalbox.example.com"

attempts = st.integers(min_value=1, max_value=10_000)
give_ups = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=30))
delays = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=40))


def gap(attempt: int) -> timedelta:
    """How long after failed attempt ``attempt`` the next one comes, with no give-up near."""
    later = retry_at(attempt=attempt, queued_at=QUEUED, now=QUEUED, give_up=FOREVER)
    assert later is not None
    return later - QUEUED


# -- retry_at ------------------------------------------------------------------------------------


def test_the_first_retry_comes_10_seconds_after_the_first_failure():
    assert gap(1) == FIRST_RETRY == timedelta(seconds=10)
    assert [gap(n).total_seconds() for n in range(1, 8)] == [10, 20, 40, 80, 160, 300, 300]


@given(attempts)
def test_gaps_double_never_shrink_and_never_exceed_five_minutes(attempt):
    assert FIRST_RETRY <= gap(attempt) <= MAX_RETRY_GAP == timedelta(minutes=5)
    assert gap(attempt + 1) >= gap(attempt)
    assert gap(attempt + 1) == min(2 * gap(attempt), MAX_RETRY_GAP)


@given(attempts, delays, give_ups)
def test_a_retry_is_given_up_exactly_when_it_would_come_after_the_give_up_time(
    attempt, since_queued, give_up
):
    now = QUEUED + since_queued
    later = retry_at(attempt=attempt, queued_at=QUEUED, now=now, give_up=give_up)
    would = now + gap(attempt)  # the same gap counts from the failure, whenever it was
    if would > QUEUED + give_up:
        assert later is None
    else:
        assert later == would


@given(give_ups)
def test_a_failing_delivery_is_retried_on_schedule_until_the_give_up_time(give_up):
    """Failing at every attempt: the attempts come at the backoff's times, none after the
    give-up time, and the last one is given up."""
    now, attempt, times = QUEUED, 1, []
    while later := retry_at(attempt=attempt, queued_at=QUEUED, now=now, give_up=give_up):
        assert later - now == gap(attempt) and later <= QUEUED + give_up
        times.append(later)
        now, attempt = later, attempt + 1
    assert now + gap(attempt) > QUEUED + give_up  # the next one would have been too late
    assert times == sorted(times)


def test_six_hours_of_failures_are_76_attempts():
    """The default give-up: 10, 20, 40, 80 and 160 s, then every 5 minutes until 6 h."""
    now, attempt = QUEUED, 1
    while later := retry_at(attempt=attempt, queued_at=QUEUED, now=now, give_up=SIX_HOURS):
        now, attempt = later, attempt + 1
    assert attempt == 76  # 1 + 5 + 70: the 76th failure is given up
    assert QUEUED + SIX_HOURS - now < MAX_RETRY_GAP


# -- subscriptions ---------------------------------------------------------------------------

kinds = st.sampled_from(sorted(KINDS))
environments = st.sampled_from(["dev", "prod", "staging", None])


def test_the_default_set_is_what_people_act_on_not_protocol_chatter():
    default = Subscription.of(None, None)
    for wanted in (
        "deploy.started",
        "deploy.finished",
        "deploy.awaiting-approval",
        "approval.granted",
        "approval.denied",
        "hold.granted",
        "hold.force-released",
        "reservation.created",
        "reservation.cancelled",
        "reservation.starting-soon",
        "reservation.at-risk",
        "incident.opened",
        "incident.updated",
        "incident.resolved",
        "incident.update-due",
        "state.out-of-band",
    ):
        assert default.wants(wanted, "dev"), wanted
    for chatter in ("state.written", "state.locked", "state.unlocked", "deploy.requested"):
        assert not default.wants(chatter, "dev"), chatter
    for token in matching_kinds("token.*"):
        assert not default.wants(token, None), token
    assert matching_kinds("token.*")  # the glob is not empty: the kinds exist


def test_every_default_glob_names_kinds_of_the_catalogue():
    assert unknown_globs(DEFAULT_EVENTS) == []


@given(st.lists(st.sampled_from(["deploy.*", "hold.*", "incident.*", "*.created", "state.*",
                                 "reservation.starting-soon", "*", "approval.denied"]),
                max_size=4), kinds)  # fmt: skip
def test_a_target_hears_of_exactly_the_kinds_its_globs_match(globs, kind):
    subscription = Subscription.of(None, globs)
    matched = any(fnmatch.fnmatchcase(kind, glob) for glob in globs)
    assert subscription.wants(kind, "dev") is matched
    assert subscription.wants(kind, None) is matched


@given(st.sets(st.sampled_from(["dev", "prod", "staging"])), kinds, environments)
def test_a_target_with_environments_hears_of_those_only_and_no_global_event(scope, kind, env):
    subscription = Subscription.of(scope, ["*"])
    assert subscription.wants(kind, env) is (env is not None and env in scope)


@given(kinds, environments)
def test_a_target_without_environments_hears_of_every_environment_and_global_events(kind, env):
    assert Subscription.of(None, ["*"]).wants(kind, env)


def test_unknown_globs_are_the_ones_that_match_no_kind():
    assert unknown_globs(["deploy.*", "deploys.*", "hold.granted", "hold.grantd"]) == [
        "deploys.*",
        "hold.grantd",
    ]
    assert matching_kinds("incident.update*") == ["incident.updated", "incident.update-due"]


# -- worth_telling ---------------------------------------------------------------------------

HOLD_KINDS = [cls for cls in CATALOGUE if issubclass(cls, HoldEvent)]


@pytest.mark.parametrize("cls", HOLD_KINDS, ids=lambda cls: cls.kind)
def test_a_deploys_own_hold_is_not_told_a_persons_is(cls):
    deploys = sample_event(cls, filled=True)
    assert not worth_telling(_replace(deploys, hold_kind="deploy"))
    work = _replace(deploys, hold_kind="work", since=QUEUED, until=QUEUED + 2 * LONG_HOLD)
    assert worth_telling(work)


def _replace(event: Event, **changes: object) -> Event:
    from dataclasses import replace

    return replace(event, **changes)  # type: ignore[type-var]


@given(st.timedeltas(min_value=timedelta(minutes=1), max_value=timedelta(days=7)))
def test_a_renewed_hold_is_told_only_past_the_long_hold(length):
    renewed = HoldRenewed(
        owner="platform-eng",
        owner_is_ci=False,
        hold_kind="work",
        reason="renaming cognito pool",
        since=QUEUED,
        until=QUEUED + length,
        fencing_token=3,
    )
    assert worth_telling(renewed) is (length > LONG_HOLD)


@hypothesis_settings(suppress_health_check=[HealthCheck.too_slow], max_examples=200)
@given(any_event())
def test_every_other_event_is_worth_telling(event):
    if isinstance(event, HoldEvent):
        return  # the rules above
    assert worth_telling(event)


# -- compose ---------------------------------------------------------------------------------


def told(event: Event, *, environment: str | None = "dev", timezone: str = "Europe/Berlin",
         event_id: int = 42, actor: str = "platform-eng"):  # fmt: skip
    return compose(
        event_id=event_id,
        kind=event.kind,
        environment=environment,
        actor=actor,
        stored_message="(stored words)",
        event=event,
        timezone=timezone,
        now=QUEUED,
        base_url=BASE + "/",
    )


def hold_granted(until: datetime) -> HoldGranted:
    return HoldGranted(
        owner="platform-eng",
        owner_is_ci=False,
        hold_kind="work",
        reason="renaming cognito pool",
        since=QUEUED,
        until=until,
        fencing_token=1,
    )


def test_a_message_is_a_titled_sentence_a_link_and_the_event_id():
    message = told(hold_granted(QUEUED + timedelta(hours=4)))
    assert message.title == "dev: hold granted"
    assert message.body.split("\n") == [
        "platform-eng held dev for 4h (until 17:00 CET): renaming cognito pool.",
        f"{BASE}/environments/dev",
        "signalbox event 42",
    ]


def test_times_are_told_in_the_environments_zone():
    until = QUEUED + timedelta(hours=2)  # 14:00 UTC
    assert "(until 15:00 CET)" in told(hold_granted(until)).body
    assert "(until 14:00 UTC)" in told(hold_granted(until), timezone="UTC").body
    assert "(until 23:00 JST)" in told(hold_granted(until), timezone="Asia/Tokyo").body
    later = told(hold_granted(QUEUED + timedelta(days=1)), timezone="America/New_York")
    assert "(until Fri 27 Nov 07:00 EST)" in later.body


def started(**fields: object) -> DeployStarted:
    values: dict[str, object] = {
        "deploy_id": 7,
        "branch": "main",
        "commit": "1a2b3c4d5e6f",
        "actor": "frontend-dev",
        "requester": "ci-dev",
        "fencing_token": 12,
    }
    values.update(fields)
    return DeployStarted(**values)  # type: ignore[arg-type]


def test_an_apply_says_who_which_commit_what_it_destroys_and_who_approved():
    message = told(
        started(plan_summary="destroys aws_cognito_user_pool.main", approved_by=("lead2",))
    )
    assert message.title == "dev: apply started"
    assert message.body.split("\n")[0] == (
        "Deploy 7 (main @ 1a2b3c4) to dev started by frontend-dev: destroys "
        "aws_cognito_user_pool.main: approved by lead2 (fencing token 12)."
    )
    assert message.body.split("\n")[1] == f"{BASE}/deploys/7"
    routine = told(started(plan_summary="creates 1, updates 2")).body
    assert "started by frontend-dev: creates 1, updates 2 (fencing token 12)" in routine
    approved_only = told(started(approved_by=("lead",))).body
    assert "started by frontend-dev: approved by lead (fencing token 12)" in approved_only


def test_an_apply_ending_says_how():
    finished = DeployFinished(
        deploy_id=7, branch="main", commit="1a2b3c4", state="failed", exit_code=3,
        duration_seconds=61.0,
    )  # fmt: skip
    message = told(finished)
    assert message.title == "dev: apply failed"
    assert message.body.startswith("Deploy 7 (main @ 1a2b3c4) to dev failed (exit code 3, 1m1s)")
    succeeded = told(_replace(finished, state="succeeded", exit_code=0))
    assert succeeded.title == "dev: apply succeeded"


RESERVATION = {"reservation_id": 5, "starts": QUEUED + timedelta(hours=2),
               "ends": QUEUED + timedelta(hours=3), "reason": "investor demo"}  # fmt: skip


@pytest.mark.parametrize(
    ("event", "path"),
    [
        (started(), "/deploys/7"),
        (ApprovalGranted(deploy_id=9, plan_digest="abc", decision="approve"), "/deploys/9"),
        (
            IncidentUpdated(incident_id=3, title="users cannot log in", severity="sev1",
                            status="identified", commander="alice", freezes=True),
            "/incidents/3",
        ),
        (ReservationCreated(**RESERVATION), "/environments/dev/reservations/5"),
        (ReservationCancelled(reservation_id=5), "/environments/dev/reservations/5"),
        (ReservationStartsSoon(owner="coo", **RESERVATION), "/environments/dev/reservations/5"),
        (
            ReservationAtRisk(owner="coo", incident_id=3, title="users cannot log in",
                              **RESERVATION),
            "/incidents/3",
        ),
        (hold_granted(QUEUED + timedelta(hours=1)), "/environments/dev"),
        (ActionAdded(action_id=2, incident_id=3, text="add a moved block", status="open"),
         "/incidents/3"),
        (None, "/environments/dev"),
    ],
    ids=["deploy", "approval", "incident", "reservation", "cancelled", "soon", "at-risk",
         "hold", "action", "unreadable"],
)  # fmt: skip
def test_the_link_opens_the_deploy_incident_or_reservation(event, path):
    assert link_of(event, "dev", BASE + "/") == BASE + path


def test_a_global_event_links_to_the_home_page_and_is_titled_signalbox():
    token = sample_event(TokenCreated, filled=True)
    message = told(token, environment=None)
    assert message.title == "signalbox: token created"
    assert message.body.split("\n")[1] == f"{BASE}/"


def test_an_event_the_catalogue_cannot_read_is_told_by_its_stored_words():
    message = compose(
        event_id=7, kind="hold.granted", environment="dev", actor="x", stored_message="old words.",
        event=None, timezone="UTC", now=QUEUED, base_url=BASE,
    )  # fmt: skip
    assert message.body == f"old words.\n{BASE}/environments/dev\nsignalbox event 7"


@hypothesis_settings(suppress_health_check=[HealthCheck.too_slow], max_examples=200)
@given(
    # a deploy whose generated state is the text "None" would be titled so rightly
    any_event().filter(lambda event: getattr(event, "state", "") != "None"),
    st.integers(min_value=1, max_value=2**62),
    environments,
)
def test_every_message_has_a_title_a_sentence_a_link_and_ends_with_its_event_id(
    event, event_id, environment
):
    message = told(event, environment=environment, event_id=event_id)
    assert message.title.startswith(f"{environment or 'signalbox'}: ")
    assert message.body.endswith(f"\nsignalbox event {event_id}")
    link = message.body.split("\n")[-2]
    assert link.startswith(BASE + "/") and "//" not in link.removeprefix("https://")
    assert "None" not in message.title


def test_an_event_whose_words_cannot_be_told_is_sent_with_its_stored_words():
    """A stored duration past timedelta's range made compose raise: the delivery could never
    be sent and held up every later message of its target."""
    resolved = IncidentResolved(
        incident_id=3, title="users cannot log in", severity="sev1", status="resolved",
        commander="alice", freezes=True, duration_seconds=1e15,
    )  # fmt: skip
    message = compose(
        event_id=8, kind=resolved.kind, environment="dev", actor="alice",
        stored_message="alice resolved incident 3.", event=resolved, timezone="UTC", now=QUEUED,
        base_url=BASE,
    )  # fmt: skip
    assert message.title == "dev: incident resolved"
    assert message.body == f"alice resolved incident 3.\n{BASE}/incidents/3\nsignalbox event 8"


def out_of_band(token: int) -> StateOutOfBand:
    return StateOutOfBand(state="network", serial=4, until=QUEUED, fencing_token=token)


def test_the_hold_an_out_of_band_write_placed_is_told_by_the_write():
    placed = _replace(hold_granted(QUEUED + timedelta(hours=2)), fencing_token=7)
    assert told_by_another(placed, [out_of_band(7)])
    assert not told_by_another(placed, [out_of_band(8)])  # another hold's write
    assert not told_by_another(placed, [])
    assert not told_by_another(out_of_band(7), [placed])
    assert {StateOutOfBand.kind} == TELLING_OTHERS


def test_a_forced_release_is_titled_as_people_say_it():
    forced = HoldForceReleased(
        owner="platform-eng",
        owner_is_ci=False,
        hold_kind="work",
        reason="renaming cognito pool",
        since=QUEUED,
        until=QUEUED + timedelta(hours=4),
        fencing_token=1,
        release_reason="the demo needs dev",
    )
    assert told(forced, actor="lead2").title == "dev: hold force-released"
