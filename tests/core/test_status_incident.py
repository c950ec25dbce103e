"""The picture of an environment with an open incident (pure): state frozen, the blocker
naming the commander and the ETA, and the reservations at risk by the rule."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given
from hypothesis import strategies as st
from tests.core.factories import T0, at, deploy, hold, incident, reservation

from signalbox.core.gate import EnvironmentSnapshot
from signalbox.core.incidents import AT_RISK_WITHOUT_ETA, IncidentStatus
from signalbox.core.status import EnvironmentFacts, EnvironmentState, picture
from signalbox.core.views import DeployState, HoldKind


def facts(open_incident, *, windows=(), hold_=None, deploys=()):
    snapshot = EnvironmentSnapshot(
        name="dev",
        hold=hold_,
        deploys=tuple(deploys),
        reservations=tuple(windows),
        expected_duration=timedelta(minutes=17),
        incident=open_incident,
        timezone="Europe/Berlin",
    )
    return EnvironmentFacts(snapshot=snapshot, version=1)


def test_a_freezing_incident_makes_the_environment_frozen_naming_its_commander_and_eta():
    seen = picture(facts(incident(eta=44)), now=T0)
    assert seen.state is EnvironmentState.FROZEN
    [blocker] = seen.blocking
    assert (blocker.reason, blocker.effect, blocker.whom, blocker.until) == (
        "frozen",
        "refused",
        "alice",
        at(44),
    )
    assert 'incident 3 (sev1, "users cannot log in", investigating), led by alice' in (
        blocker.message
    )
    assert "expected back by 15:28 CET" in blocker.message
    assert seen.incident is not None and seen.incident.commander == "alice"


def test_a_running_deploy_stays_deploying_and_a_sev3_does_not_freeze():
    running = deploy(1, state=DeployState.RUNNING)
    deploy_hold = hold(kind=HoldKind.DEPLOY, deploy_id=1, since=0, until=20)
    busy = picture(facts(incident(), hold_=deploy_hold, deploys=[running]), now=T0)
    assert busy.state is EnvironmentState.DEPLOYING
    assert "frozen" in [blocker.reason for blocker in busy.blocking]
    open_only = picture(facts(incident(freezes=False)), now=T0)
    assert open_only.state is EnvironmentState.FREE and open_only.incident is not None
    resolved = picture(facts(incident(status=IncidentStatus.RESOLVED)), now=T0)
    assert resolved.at_risk == () and resolved.state is EnvironmentState.FREE


@given(
    starts=st.integers(min_value=-120, max_value=600),
    length=st.integers(min_value=1, max_value=240),
    eta=st.one_of(st.none(), st.integers(min_value=1, max_value=600)),
)
def test_a_reservation_is_at_risk_when_in_force_or_starting_before_the_eta(starts, length, eta):
    window = reservation(starts, starts + length)
    freeze = reservation(starts, starts + length, ident=None, kind="freeze")
    seen = picture(facts(incident(eta=eta), windows=[window, freeze]), now=T0)
    horizon = at(eta) if eta is not None else T0 + AT_RISK_WITHOUT_ETA
    expected = window.ends > T0 and window.starts <= horizon
    assert seen.at_risk == ((window,) if expected else ())  # never a freeze window
