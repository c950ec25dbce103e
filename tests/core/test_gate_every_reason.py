"""A refusal tells every reason that applies, not only the first (issue 8).

The README's 14:44 apply is refused "for three independent reasons": dev is held, the demo
a 17-minute pipeline would overlap is reserved, and the plan needs an approval. Each is told
in one sentence naming whom to ask; the first stays the primary ``reason``.
"""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st
from tests.core.factories import CI, ENGINEER, at, deploy, hold, incident, reservation

from signalbox.core.deploy_stats import estimate_duration
from signalbox.core.gate import (
    EnvironmentSnapshot,
    NeedsApproval,
    Reason,
    RefusalReason,
    Refused,
    decide_gate,
)
from signalbox.core.views import DeployState

EXPECTED = timedelta(minutes=17)
BERLIN = "Europe/Berlin"
DEMO = reservation(15, 75)  # 14:59-15:59 Berlin: fifteen minutes after the 14:44 apply


def story_snapshot(**changes: object) -> EnvironmentSnapshot:
    fields: dict[str, object] = {
        "name": "dev",
        "hold": hold(),  # platform-eng, 13:00-17:00 Berlin
        "deploys": (),
        "reservations": (DEMO,),
        "expected_duration": EXPECTED,
        "timezone": BERLIN,
    }
    fields.update(changes)
    return EnvironmentSnapshot(**fields)  # type: ignore[arg-type]


def test_the_14_44_apply_is_refused_for_all_three_reasons() -> None:
    apply = deploy(1, verdict="needs-approval")
    decision = decide_gate(story_snapshot(deploys=(apply,)), apply, now=at(0))
    assert isinstance(decision, Refused)
    held, reserved, approval = decision.reasons
    assert held == Reason(
        "held",
        "dev is held by platform-eng since 13:00 CET until 17:00 CET: renaming cognito pool. "
        "Ask platform-eng, or wait for `signalbox release dev`.",
        "platform-eng",
        at(136),
    )
    assert reserved == Reason(
        "reserved",
        "A deploy to dev now would still be running at 14:59 CET (it takes about 17m), when "
        "coo's reservation begins, until 15:59 CET: investor demo. Ask coo, or deploy after "
        "15:59 CET.",
        "coo",
        at(75),
    )
    assert approval == Reason(
        "needs-approval",
        "Deploy 1 to dev has a plan that needs approval; ask an approver other than ci-dev to "
        "run `signalbox approve 1`.",
    )
    # the protocol's fields are the primary reason's; every sentence is in the message
    assert (decision.reason, decision.whom) == (RefusalReason.HELD, "platform-eng")
    assert decision.message == f"{held.message} {reserved.message} {approval.message}"
    # it could go only once both the hold and the demo are over
    assert decision.until == at(136)


def test_the_refusal_says_which_duration_it_used_and_why() -> None:
    estimate = estimate_duration([timedelta(minutes=4)] * 20, EXPECTED)
    apply = deploy(1)
    snapshot = story_snapshot(
        hold=None, deploys=(apply,), expected_duration=estimate.duration, estimate=estimate
    )
    decision = decide_gate(snapshot, apply, now=at(0))
    assert isinstance(decision, Refused)
    assert (
        "(it takes about 17m: the configured expected_deploy, larger than the p90 of the "
        "last 20 deploys, 4m)" in decision.message
    )


def test_a_single_reason_is_a_list_of_one() -> None:
    apply = deploy(1)
    decision = decide_gate(story_snapshot(reservations=(), deploys=(apply,)), apply, now=at(0))
    assert isinstance(decision, Refused)
    assert decision.reasons == (Reason("held", decision.message, decision.whom, decision.until),)


def test_an_approval_alone_is_not_a_refusal() -> None:
    apply = deploy(1, verdict="needs-approval")
    snapshot = story_snapshot(hold=None, reservations=(), deploys=(apply,))
    assert isinstance(decide_gate(snapshot, apply, now=at(0)), NeedsApproval)


def test_a_denied_plan_does_not_also_ask_for_an_approval() -> None:
    apply = deploy(1, verdict="needs-approval", denied=True)
    decision = decide_gate(story_snapshot(deploys=(apply,)), apply, now=at(0))
    assert isinstance(decision, Refused)
    assert [r.reason for r in decision.reasons] == ["denied", "held", "reserved"]


def test_each_window_in_reach_is_a_reason() -> None:
    apply = deploy(1)
    freeze = reservation(5, 10, ident=None, owner="release-managers", kind="freeze")
    snapshot = story_snapshot(hold=None, reservations=(DEMO, freeze), deploys=(apply,))
    decision = decide_gate(snapshot, apply, now=at(0))
    assert isinstance(decision, Refused)
    assert [(r.reason, r.whom) for r in decision.reasons] == [
        ("reserved", "release-managers"),
        ("reserved", "coo"),
    ]


def test_superseded_is_alone() -> None:
    old = deploy(1, state=DeployState.SUPERSEDED, verdict="needs-approval")
    decision = decide_gate(story_snapshot(deploys=(old,)), old, now=at(0))
    assert isinstance(decision, Refused)
    assert [r.reason for r in decision.reasons] == ["superseded"]


# --- property ---------------------------------------------------------------------------


@given(
    held=st.booleans(),
    own_hold=st.booleans(),
    reserved=st.booleans(),
    approval=st.sampled_from(["routine", "needs-approval", "none", "approved"]),
    frozen=st.booleans(),
    blocked=st.booleans(),
    hotfix=st.booleans(),
    now=st.integers(-30, 120),
    expected=st.integers(1, 90),
    lead=st.integers(-20, 120),
)
def test_every_reason_that_applies_is_told(
    held: bool,
    own_hold: bool,
    reserved: bool,
    approval: str,
    frozen: bool,
    blocked: bool,
    hotfix: bool,
    now: int,
    expected: int,
    lead: int,
) -> None:
    """For any combination of held / a window in reach / needs approval / frozen / blocked,
    at any injected ``now``: a refusal lists exactly the reasons that apply, in the gate's
    order, the primary first, each sentence in the message; and no refusal without one."""
    moment = at(now)
    duration = timedelta(minutes=expected)
    window = reservation(now + lead, now + lead + 30)  # starts ``lead`` minutes from now
    current = hold(CI if own_hold else ENGINEER, since=now - 10, until=now + 60) if held else None
    verdict = "blocked" if blocked else ("needs-approval" if approval == "approved" else approval)
    the_incident = incident(opened=now - 1) if frozen or hotfix else None
    candidate = deploy(
        1,
        verdict=verdict,
        approved=approval == "approved",
        incident_id=the_incident.id if hotfix and the_incident is not None else None,
    )
    snapshot = EnvironmentSnapshot(
        name="dev",
        hold=current,
        deploys=(candidate,),
        reservations=(window,) if reserved else (),
        expected_duration=duration,
        incident=the_incident,
        timezone=BERLIN,
    )
    is_hotfix = hotfix and the_incident is not None
    wanted = []
    if blocked:
        wanted.append("blocked")
    if frozen and not is_hotfix:
        wanted.append("frozen")
    if held and not own_hold:
        wanted.append("held")
    in_reach = window.starts < moment + duration and moment < window.ends
    if reserved and in_reach and not is_hotfix:
        wanted.append("reserved")
    refusing = list(wanted)
    if refusing and verdict in ("needs-approval", "none") and approval != "approved":
        wanted.append("needs-approval")

    decision = decide_gate(snapshot, candidate, now=moment)

    if not refusing:
        assert not isinstance(decision, Refused), decision
        return
    assert isinstance(decision, Refused), decision
    assert [str(r.reason) for r in decision.reasons] == wanted
    assert decision.reason == refusing[0] == decision.reasons[0].reason
    assert decision.whom == decision.reasons[0].whom
    assert decision.message == " ".join(r.message for r in decision.reasons)
    for reason in decision.reasons:
        assert reason.message.endswith(".")
        assert "Z " not in reason.message  # told in Berlin time, never UTC ISO
    untils = [r.until for r in decision.reasons if r.reason != "needs-approval"]
    if all(until is not None for until in untils):
        assert decision.until == max(u for u in untils if u is not None)
    else:
        assert decision.until is None
