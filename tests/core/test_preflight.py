"""Preflight: the gate's answer for a deploy not yet asked for, with every reason and the
expected wait (``core.queue.expected_wait``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st
from tests.core.factories import CI, COO, ENGINEER, at, deploy, hold, incident, reservation

from signalbox.core.gate import EnvironmentSnapshot, Refused, decide_gate
from signalbox.core.incidents import IncidentView
from signalbox.core.preflight import PreflightVerdict, every_reason, preflight
from signalbox.core.queue import expected_wait
from signalbox.core.views import DeployState, DeployView, HoldKind, HoldView, ReservationView

EXPECTED = timedelta(minutes=17)
NOW = at(0)
RUNNING = DeployState.RUNNING


def snapshot(
    *deploys: DeployView,
    current: HoldView | None = None,
    windows: tuple[ReservationView, ...] = (),
    open_incident: IncidentView | None = None,
) -> EnvironmentSnapshot:
    return EnvironmentSnapshot(
        name="dev",
        hold=current,
        deploys=deploys,
        reservations=windows,
        expected_duration=EXPECTED,
        incident=open_incident,
        timezone="Europe/Berlin",
    )


def candidate(ident: int = 100, **kw: object) -> DeployView:
    """A deploy that is not stored: requested now (the factories' minute 0)."""
    return deploy(ident, branch=str(kw.pop("branch", "feature")), **kw)  # type: ignore[arg-type]


# --- expected_wait ---------------------------------------------------------------------------


def test_nothing_running_and_nobody_ahead_is_no_wait() -> None:
    assert expected_wait(0, running_since=None, expected=EXPECTED, now=NOW) == timedelta(0)


def test_the_rest_of_the_running_deploy_then_one_deploy_per_place_ahead() -> None:
    wait = expected_wait(2, running_since=at(-5), expected=EXPECTED, now=NOW)
    assert wait == timedelta(minutes=12) + 2 * EXPECTED


def test_a_running_deploy_that_overran_may_end_any_moment() -> None:
    assert expected_wait(1, running_since=at(-40), expected=EXPECTED, now=NOW) == EXPECTED


@given(
    ahead=st.integers(min_value=0, max_value=50),
    started=st.one_of(st.none(), st.floats(min_value=-120, max_value=0)),
    minutes=st.integers(min_value=1, max_value=120),
)
def test_the_wait_grows_by_one_deploy_per_place_and_never_exceeds_all_of_them(
    ahead: int, started: float | None, minutes: int
) -> None:
    expected = timedelta(minutes=minutes)
    since = None if started is None else at(started)
    wait = expected_wait(ahead, running_since=since, expected=expected, now=NOW)
    more = expected_wait(ahead + 1, running_since=since, expected=expected, now=NOW)
    assert more - wait == expected
    assert expected * ahead <= wait <= expected * (ahead + (0 if since is None else 1))


# --- preflight ---------------------------------------------------------------------------------


def test_a_free_environment_goes_with_no_reason() -> None:
    judged = preflight(snapshot(), candidate(), now=NOW)
    assert (judged.verdict, judged.position, judged.expected_wait) == ("go", 1, timedelta(0))
    assert judged.reasons == ()


def test_every_refusal_is_listed_not_only_the_first_the_gate_tells() -> None:
    windows = (reservation(10, 70), reservation(80, 100, ident=2, owner="sales"))
    frozen = snapshot(current=hold(), windows=windows, open_incident=incident(eta=30))
    judged = preflight(frozen, candidate(verdict="blocked"), now=NOW)
    assert judged.verdict is PreflightVerdict.REFUSED and judged.reason == "blocked"
    assert [r.reason for r in judged.reasons] == ["blocked", "frozen", "held", "reserved"]
    frozen_reason = judged.reasons[1]
    assert (frozen_reason.whom, frozen_reason.until) == ("alice", at(30))
    assert judged.reasons[2].whom == ENGINEER.name
    assert judged.reasons[3].whom == COO.name  # the second window starts after the deploy


def test_a_hotfix_skips_the_freeze_and_the_windows_but_not_a_hold_of_someone_else() -> None:
    windows = (reservation(-10, 70),)
    fix = candidate(priority=1, incident_id=3, requester=ENGINEER)
    free_of_holds = snapshot(windows=windows, open_incident=incident())
    assert preflight(free_of_holds, fix, now=NOW).verdict == "go"
    other = replace(hold(), owner=COO)
    held = preflight(
        snapshot(current=other, windows=windows, open_incident=incident()), fix, now=NOW
    )
    assert [r.reason for r in held.reasons] == ["held"] and held.reason == "held"


def test_a_hotfix_waits_first_in_line_behind_the_running_deploy_only() -> None:
    running = deploy(1, state=RUNNING, requested=-5, requester=COO)
    queued = [deploy(i, requested=-4 + i) for i in (2, 3, 4)]
    fix = candidate(priority=1, incident_id=3)
    judged = preflight(
        snapshot(running, *queued, open_incident=incident(freezes=False)), fix, now=NOW
    )
    assert (judged.verdict, judged.position) == ("wait", 1)
    assert judged.expected_wait == timedelta(minutes=12)
    assert [r.reason for r in judged.reasons] == ["deploying"]
    assert "coo" in judged.reasons[0].message and "hotfix" in judged.reasons[0].message


def test_an_ordinary_deploy_waits_behind_the_queue_with_the_expected_wait() -> None:
    running = deploy(1, state=RUNNING, requested=-5)
    queued = [deploy(i, requested=-4 + i, branch=f"b{i}") for i in (2, 3)]
    judged = preflight(snapshot(running, *queued), candidate(), now=NOW)
    assert (judged.verdict, judged.position) == ("wait", 3)
    assert judged.expected_wait == timedelta(minutes=12) + 2 * EXPECTED
    assert [r.reason for r in judged.reasons] == ["deploying", "queued"]


def test_older_waiting_deploys_of_the_same_branch_are_not_ahead_it_supersedes_them() -> None:
    queued = [deploy(2, requested=-3, branch="main"), deploy(3, requested=-2, branch="other")]
    judged = preflight(snapshot(*queued), candidate(branch="main"), now=NOW)
    assert judged.superseding == (2,) and judged.position == 2


def test_a_plan_that_needs_approval_would_wait_for_one_and_the_commander_is_named() -> None:
    plain = preflight(snapshot(), candidate(verdict="needs-approval"), now=NOW)
    assert plain.verdict == "needs-approval" and plain.reasons[0].reason == "needs-approval"
    fix = candidate(verdict="needs-approval", priority=1, incident_id=3, requester=CI)
    judged = preflight(snapshot(open_incident=incident()), fix, now=NOW)
    assert judged.verdict == "needs-approval" and judged.reasons[0].whom == "alice"
    assert "commander of incident 3" in judged.message


holds = st.sampled_from(
    [
        None,
        hold(),
        hold(CI, kind=HoldKind.DEPLOY, deploy_id=1, since=-5, until=1),
        hold(until=-1),  # lapsed
    ]
)
window_sets = st.sampled_from(
    [(), (reservation(10, 70),), (reservation(-10, 5),), (reservation(40, 60),)]
)
incidents = st.sampled_from([None, incident(), incident(freezes=False)])


@given(
    current=holds,
    windows=window_sets,
    open_incident=incidents,
    verdict=st.sampled_from(["routine", "needs-approval", "blocked", "none"]),
    is_hotfix=st.booleans(),
    others=st.lists(
        st.tuples(st.integers(min_value=1, max_value=20), st.booleans(), st.booleans()),
        max_size=4,
        unique_by=lambda other: other[0],
    ),
)
def test_preflight_agrees_with_the_gate_and_its_reasons_explain_the_answer(
    current, windows, open_incident, verdict, is_hotfix, others
) -> None:
    deploys = [
        deploy(
            ident,
            state=RUNNING if running else DeployState.QUEUED,
            requested=-ident,
            branch=f"b{ident}",
            priority=1 if urgent else 0,
        )
        for ident, running, urgent in others
    ]
    deploys = [d for i, d in enumerate(deploys) if d.state is not RUNNING or i == 0]
    fix = {"priority": 1, "incident_id": 3} if is_hotfix else {}
    wanted = candidate(verdict=verdict, **fix)
    state = snapshot(*deploys, current=current, windows=windows, open_incident=open_incident)
    judged = preflight(state, wanted, now=NOW)
    gate = decide_gate(state, wanted, now=NOW)
    effects = [reason.effect for reason in judged.reasons]
    assert effects == sorted(effects, key=lambda effect: effect != "refused")  # refusals first
    if isinstance(gate, Refused):
        assert judged.verdict == "refused" and judged.reason == str(gate.reason)
        assert judged.reasons[0].reason == str(gate.reason)
    else:
        assert judged.verdict == type(gate).__name__.lower().replace(
            "needsapproval", "needs-approval"
        )
        assert "refused" not in effects
        assert (judged.verdict == "go") == (judged.reasons == ())
    assert judged.reasons == every_reason(state, wanted, now=NOW)
    assert judged.expected_wait >= EXPECTED * (judged.position - 1)
