"""The postmortem's rules: which change broke it, the impact window, the times, the changes
before the break, the timeline and the actions, with an injected clock (T0 = 14:44 Berlin)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st
from tests.core.factories import T0, at, incident

from signalbox.core.incidents import ActionStatus, ActionView, IncidentStatus
from signalbox.core.postmortem import (
    FOR_PEOPLE,
    DeployFact,
    EventFact,
    PostedUpdate,
    PostmortemFacts,
    StateWriteFact,
    describe_duration,
    draft,
    from_plain,
    to_plain,
)
from signalbox.core.status import PlanSummary

POOL = "aws_cognito_user_pool.main"
DESTROYING = PlanSummary("needs-approval", {"create": 1, "delete": 1}, (POOL,))
ROUTINE = PlanSummary("routine", {"update": 1})


def a_deploy(ident, *, started, plan=ROUTINE, requested=None, state="succeeded", **extra):
    started_at = at(started) if started is not None else None
    return DeployFact(
        id=ident,
        requester="ci-dev",
        actor="frontend-dev",
        branch="main",
        commit="c0ffee1234",
        state=state,
        requested_at=at(requested if requested is not None else (started or 0) - 1),
        started_at=started_at,
        finished_at=at(started + 17) if started is not None else None,
        plan=plan,
        **extra,
    )


def an_event(ident, minutes, kind, words, actor="someone", **data):
    return EventFact(ident, kind, at(minutes), actor, words, data)


def posted(minutes, status, kind="update", note=""):
    return PostedUpdate(kind, at(minutes), "alice", status, "alice", None, note)


def facts(
    *,
    deploys=(),
    writes=(),
    events=(),
    updates=(),
    actions=(),
    inc=None,
    now=60,
    since=-360,
):
    return PostmortemFacts(
        incident=inc or incident(opened=3),
        updates=tuple(updates),
        events=tuple(events),
        deploys=tuple(deploys),
        state_writes=tuple(writes),
        actions=tuple(actions),
        timezone="Europe/Berlin",
        since=at(since),
        now=at(now),
    )


def test_the_destroying_deploy_is_the_breaking_change_and_detection_is_timed_from_it():
    story = facts(
        deploys=[a_deploy(7, started=0, plan=DESTROYING), a_deploy(8, started=1)],
        updates=[posted(3, "investigating", "opened")],
    )
    drafted = draft(story)
    taken = drafted.breaking_change
    assert taken is not None and taken.deploy_id == 7 and taken.destroyed == (POOL,)
    assert "last change before the incident was opened (14:47 CET)" in taken.why
    assert POOL in taken.why
    assert drafted.time_to_detect_seconds == 180  # 14:44 -> 14:47
    assert drafted.impact.starts == at(0) and drafted.destroyed == (POOL,)
    assert [c.deploy_id for c in drafted.changes_before if c.kind == "deploy"] == [7, 8]


def test_a_later_routine_deploy_does_not_hide_the_one_that_destroyed():
    drafted = draft(
        facts(deploys=[a_deploy(7, started=-30, plan=DESTROYING), a_deploy(8, started=2)])
    )
    assert drafted.breaking_change is not None and drafted.breaking_change.deploy_id == 7
    assert drafted.time_to_detect_seconds == 33 * 60


def test_without_a_destroying_change_the_last_deploy_is_a_suspect_and_says_so():
    drafted = draft(facts(deploys=[a_deploy(7, started=-30), a_deploy(8, started=2)]))
    taken = drafted.breaking_change
    assert taken is not None and taken.deploy_id == 8
    assert "a suspect, not a proof" in taken.why and drafted.destroyed == ()


def test_a_deploy_that_never_ran_cannot_break_anything_but_is_listed():
    refused = a_deploy(9, started=None, requested=1, plan=DESTROYING, state="refused")
    drafted = draft(facts(deploys=[refused]))
    assert drafted.breaking_change is None
    assert drafted.impact.starts == drafted.opened_at
    assert "the opening" in drafted.impact.starts_with
    assert drafted.time_to_detect_seconds == 0
    assert [c.deploy_id for c in drafted.changes_before] == [9]
    assert drafted.destroyed == ()


def test_a_laptop_state_write_that_removed_resources_is_the_breaking_change():
    laptop = StateWriteFact("main", 42, at(1), "platform-eng", None, (POOL,))
    drafted = draft(facts(deploys=[a_deploy(7, started=-20)], writes=[laptop]))
    taken = drafted.breaking_change
    assert taken is not None and taken.kind == "state-write" and taken.who == "platform-eng"
    assert taken.destroyed == (POOL,) and "removed stateful resources" in taken.why
    assert drafted.time_to_detect_seconds == 120


def test_a_state_write_inside_a_deploy_belongs_to_that_deploy():
    inside = StateWriteFact("main", 42, at(5 / 60), "ci-dev", 7, (POOL, "aws_s3_bucket.x"))
    drafted = draft(facts(deploys=[a_deploy(7, started=0, plan=ROUTINE)], writes=[inside]))
    taken = drafted.breaking_change
    assert taken is not None and taken.kind == "deploy" and taken.deploy_id == 7
    assert taken.at == at(0) and taken.destroyed == (POOL, "aws_s3_bucket.x")
    kinds = [c.kind for c in drafted.changes_before]
    assert kinds == ["deploy", "state-write"]


def test_changes_after_the_opening_are_not_changes_before_the_break():
    drafted = draft(
        facts(
            deploys=[
                a_deploy(7, started=0, plan=DESTROYING),
                a_deploy(10, started=20, requested=15),
            ],
            events=[
                an_event(1, -60, "hold.granted", "platform-eng held dev for 4h.", hold_kind="work"),
                an_event(7, 0, "hold.granted", "ci-dev took dev.", hold_kind="deploy"),
                an_event(2, -1, "approval.granted", "lead approved deploy 7.", deploy_id=7),
                an_event(3, -2, "state.out-of-band", "platform-eng wrote dev/main."),
                an_event(4, -50, "reservation.created", "coo reserved dev."),
                an_event(5, 10, "approval.granted", "alice approved deploy 10."),
                an_event(6, -40, "deploy.requested", "asked to deploy."),
            ],
        )
    )
    kinds = [(c.kind, c.at) for c in drafted.changes_before]
    assert kinds == [
        ("hold", at(-60)),
        ("reservation", at(-50)),
        ("out-of-band", at(-2)),
        ("approval", at(-1)),
        ("deploy", at(0)),
    ]
    assert drafted.breaking_change is not None and drafted.breaking_change.deploy_id == 7


def test_the_impact_ends_with_the_first_mitigated_update_else_the_resolution():
    resolved = incident(opened=3, status=IncidentStatus.RESOLVED)  # resolved at +43
    updates = [
        posted(3, "investigating", "opened"),
        posted(20, "mitigated"),
        posted(30, "mitigated"),
        posted(43, "resolved", "resolved"),
    ]
    drafted = draft(facts(deploys=[a_deploy(7, started=0)], updates=updates, inc=resolved))
    assert drafted.impact.ends == at(20) and "mitigated" in drafted.impact.ends_with
    assert drafted.time_to_mitigate_seconds == 20 * 60
    assert drafted.time_to_resolve_seconds == 43 * 60
    assert drafted.duration_seconds == 40 * 60
    no_mitigation = draft(facts(deploys=[a_deploy(7, started=0)], inc=resolved))
    assert (
        no_mitigation.impact.ends == at(43) and no_mitigation.impact.ends_with == "the resolution"
    )
    assert no_mitigation.time_to_mitigate_seconds == 43 * 60


def test_an_open_incident_has_no_end_and_its_duration_runs_to_now():
    drafted = draft(facts(deploys=[a_deploy(7, started=0)], now=33))
    assert drafted.resolved_at is None and drafted.impact.ends is None
    assert drafted.time_to_mitigate_seconds is None and drafted.time_to_resolve_seconds is None
    assert drafted.duration_seconds == 30 * 60 and drafted.window_ends == at(33)


def test_the_timeline_is_every_event_in_order_without_housekeeping():
    events = [
        an_event(3, 5, "incident.updated", "update"),
        an_event(1, 0, "deploy.started", "started"),
        an_event(2, 0, "hold.renewed", "renewed"),
        an_event(4, 0, "hold.granted", "took dev"),
    ]
    drafted = draft(facts(events=events))
    assert [entry.words for entry in drafted.timeline] == ["started", "took dev", "update"]


def test_actions_are_listed_with_overdue_ones_marked_in_the_environments_day():
    actions = [
        ActionView(
            2, 3, "drop protection on the pool", ActionStatus.ACCEPTED, "bob", date(2026, 11, 25)
        ),
        ActionView(1, 3, "moved blocks in review", ActionStatus.DONE, "eve", date(2026, 11, 20)),
        ActionView(3, 3, "no hard-coded ids", ActionStatus.PROPOSED, "", date(2026, 11, 26)),
    ]
    drafted = draft(facts(actions=actions))
    assert [(a.id, a.overdue) for a in drafted.actions] == [(1, False), (2, True), (3, False)]


def test_the_headings_for_people_and_the_plain_form_round_trip():
    drafted = draft(facts(deploys=[a_deploy(7, started=0, plan=DESTROYING)]))
    assert drafted.for_people == FOR_PEOPLE
    plain = to_plain(drafted)
    assert plain["breaking_change"]["destroyed"] == [POOL]
    assert plain["opened_at"] == "2026-11-26T13:47:00Z"
    assert from_plain(plain) == drafted


def test_durations_are_told_as_people_read_them():
    assert describe_duration(None) == "-"
    assert describe_duration(42) == "42s"
    assert describe_duration(5400) == "1h30m"


moments = st.integers(min_value=-300, max_value=60)


@given(
    starts=st.lists(st.tuples(moments, st.booleans()), max_size=6),
    writes=st.lists(st.tuples(moments, st.booleans()), max_size=4),
    opened=st.integers(min_value=-100, max_value=40),
)
def test_the_breaking_change_is_always_the_last_destroying_change_before_the_opening(
    starts, writes, opened
):
    deploys = [
        a_deploy(i + 1, started=m, plan=DESTROYING if destroys else ROUTINE)
        for i, (m, destroys) in enumerate(starts)
    ]
    state_writes = [
        StateWriteFact(
            "main", i, at(m), "platform-eng", None, (f"aws_db_instance.d{i}",) if rm else ()
        )
        for i, (m, rm) in enumerate(writes)
    ]
    inc = incident(opened=opened)
    drafted = draft(facts(deploys=deploys, writes=state_writes, inc=inc, now=120))
    before = [(m, d) for m, d in starts if at(m) < inc.opened_at] + [
        (m, r) for m, r in writes if at(m) < inc.opened_at
    ]
    taken = drafted.breaking_change
    if not before:
        assert taken is None and drafted.impact.starts == inc.opened_at
        return
    assert taken is not None and taken.at < inc.opened_at
    destroying = [m for m, d in before if d]
    if destroying:
        assert taken.destroyed and taken.at == at(max(destroying))
    else:
        assert not taken.destroyed and taken.at == at(max(m for m, _ in before))
    assert drafted.time_to_detect_seconds == (inc.opened_at - taken.at).total_seconds()
    assert set(taken.destroyed) <= set(drafted.destroyed)


@given(now=st.integers(min_value=4, max_value=600), opened=st.integers(min_value=-9, max_value=3))
def test_the_times_never_go_negative_and_detect_plus_respond_is_the_impact(now, opened):
    inc = replace(incident(opened=opened), updated_at=at(opened))
    drafted = draft(
        facts(
            deploys=[a_deploy(1, started=-10)],
            inc=inc,
            updates=[posted(opened + 1, "mitigated")],
            now=now,
        )
    )
    assert drafted.time_to_detect_seconds >= 0 and drafted.duration_seconds >= 0
    assert drafted.time_to_mitigate_seconds is not None
    assert drafted.time_to_mitigate_seconds >= drafted.time_to_detect_seconds
    assert T0 - timedelta(minutes=10) == drafted.impact.starts
