"""The hold rule: renew, deny, grant with fencing tokens that only grow."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signalbox.core.errors import InvalidInput, NotHolder, StaleFencingToken
from signalbox.core.holds import (
    Denied,
    Granted,
    HoldRequest,
    decide_hold,
    decide_release,
    decide_renew,
    is_live,
)
from signalbox.core.views import HoldKind, HoldView, Principal

T0 = datetime(2026, 11, 26, 13, 0, tzinfo=UTC)
ENGINEER = Principal("platform-eng", is_ci=False)
CI = Principal("ci-dev", is_ci=True)


def request(owner=ENGINEER, *, hours=4, reason="renaming cognito pool", kind=HoldKind.WORK):
    return HoldRequest("dev", owner, kind, reason, timedelta(hours=hours))


def test_free_environment_is_granted_with_the_next_token():
    decision = decide_hold(None, request(), last_token=7, now=T0)
    assert isinstance(decision, Granted) and not decision.renewed
    assert decision.hold.fencing_token == 8
    assert (decision.hold.since, decision.hold.until) == (T0, T0 + timedelta(hours=4))


def test_same_owner_renews_with_the_same_token():
    held = decide_hold(None, request(), last_token=0, now=T0).hold
    later = T0 + timedelta(hours=1)
    decision = decide_hold(held, request(hours=2), last_token=1, now=later)
    assert isinstance(decision, Granted) and decision.renewed
    assert decision.hold.fencing_token == 1
    assert decision.hold.until == later + timedelta(hours=2)
    assert decision.hold.since == T0


def test_another_live_owner_is_denied_with_holder_reason_since_and_until():
    held = decide_hold(None, request(), last_token=0, now=T0).hold
    decision = decide_hold(
        held, request(CI, reason="deploy"), last_token=1, now=T0 + timedelta(minutes=104)
    )
    assert isinstance(decision, Denied)
    assert decision.holder == held
    assert decision.reason == (
        "dev is held by platform-eng since 2026-11-26T13:00Z "
        "until 2026-11-26T17:00Z: renaming cognito pool."
    )


def test_same_owner_with_another_kind_is_denied():
    held = decide_hold(None, request(), last_token=0, now=T0).hold
    decision = decide_hold(held, request(kind=HoldKind.DEPLOY), last_token=1, now=T0)
    assert isinstance(decision, Denied)


def test_lapsed_hold_is_replaced_with_a_new_token():
    held = decide_hold(None, request(hours=1), last_token=0, now=T0).hold
    at_lapse = T0 + timedelta(hours=1)
    assert not is_live(held, at_lapse)
    decision = decide_hold(held, request(CI, reason="deploy"), last_token=1, now=at_lapse)
    assert isinstance(decision, Granted) and decision.hold.fencing_token == 2
    assert decision.lapsed == held and decision.hold.owner == CI


def test_even_the_same_owner_gets_a_new_token_after_a_lapse():
    held = decide_hold(None, request(hours=1), last_token=0, now=T0).hold
    decision = decide_hold(held, request(), last_token=1, now=T0 + timedelta(hours=2))
    assert isinstance(decision, Granted) and not decision.renewed
    assert decision.hold.fencing_token == 2


@pytest.mark.parametrize(
    ("reason", "hours"), [("", 1), ("   ", 1), ("x", 0), ("x", -1), ("x", 24 * 15), ("x" * 501, 1)]
)
def test_bad_requests_are_invalid_input(reason, hours):
    with pytest.raises(InvalidInput):
        decide_hold(None, request(reason=reason, hours=hours), last_token=0, now=T0)


def test_release_by_a_non_holder_names_the_holder():
    held = decide_hold(None, request(), last_token=0, now=T0).hold
    with pytest.raises(NotHolder) as raised:
        decide_release(held, owner=CI, environment="dev", now=T0)
    assert "platform-eng" in raised.value.message
    with pytest.raises(NotHolder):
        decide_release(None, owner=CI, environment="dev", now=T0)


def test_renew_with_a_stale_token_is_refused():
    held = decide_hold(None, request(), last_token=4, now=T0).hold
    with pytest.raises(StaleFencingToken) as raised:
        decide_renew(
            held,
            owner=ENGINEER,
            environment="dev",
            duration=timedelta(hours=1),
            now=T0,
            fencing_token=4,
        )
    assert raised.value.details == {"environment": "dev", "current": 5, "given": 4}
    renewed = decide_renew(
        held,
        owner=ENGINEER,
        environment="dev",
        duration=timedelta(hours=1),
        now=T0,
        fencing_token=5,
    )
    assert renewed.fencing_token == 5 and renewed.until == T0 + timedelta(hours=1)


def test_a_lapsed_hold_cannot_be_renewed():
    held = decide_hold(None, request(hours=1), last_token=0, now=T0).hold
    with pytest.raises(NotHolder, match="lapsed"):
        decide_renew(
            held,
            owner=ENGINEER,
            environment="dev",
            duration=timedelta(hours=1),
            now=T0 + timedelta(hours=1),
        )


OWNERS = [Principal("ana", False), Principal("bo", False), Principal("ci", True)]
operations = st.lists(
    st.one_of(
        st.tuples(st.just("hold"), st.sampled_from(OWNERS), st.integers(1, 240)),
        st.tuples(st.just("release"), st.sampled_from(OWNERS), st.just(0)),
        st.tuples(st.just("wait"), st.just(OWNERS[0]), st.integers(1, 300)),
    ),
    max_size=60,
)


@settings(max_examples=300)
@given(operations)
def test_random_operations_keep_the_invariants(ops):
    """At most one live holder; a new grant's token is last + 1; renewals keep the token;
    a denial always names the live holder; leases lapse."""
    now, current, last_token = T0, None, 0
    issued: list[int] = []
    for op, owner, amount in ops:
        if op == "wait":
            now += timedelta(minutes=amount)
        elif op == "release":
            try:
                decide_release(current, owner=owner, environment="dev", now=now)
                current = None
            except NotHolder:
                assert not is_live(current, now) or current.owner != owner
        else:
            decision = decide_hold(
                current,
                request(owner, hours=1, reason="r")
                if amount > 120
                else HoldRequest("dev", owner, HoldKind.WORK, "r", timedelta(minutes=amount)),
                last_token=last_token,
                now=now,
            )
            if isinstance(decision, Denied):
                assert is_live(current, now) and current.owner != owner
                assert decision.holder == current
            elif decision.renewed:
                assert decision.hold.fencing_token == current.fencing_token == last_token
                current = decision.hold
            else:
                assert not is_live(current, now)
                assert decision.hold.fencing_token == last_token + 1
                last_token = decision.hold.fencing_token
                issued.append(last_token)
                current = decision.hold
        if current is not None and not is_live(current, now):
            assert current.until <= now
    assert issued == sorted(set(issued))


def test_hold_view_is_immutable():
    held: HoldView = decide_hold(None, request(), last_token=0, now=T0).hold
    with pytest.raises(AttributeError):
        held.until = T0  # type: ignore[misc]
