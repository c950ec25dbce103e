"""The shared values are the contract between core and services: pin their shape."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

from signalbox.core import gate, views
from signalbox.core.views import DeployState, DeployView, HoldKind, HoldView, Principal


def test_public_surface() -> None:
    assert sorted(views.__all__) == [
        "DeployState",
        "DeployView",
        "HoldKind",
        "HoldView",
        "Principal",
        "ReservationView",
    ]
    assert sorted(gate.__all__) == [
        "EnvironmentSnapshot",
        "GateDecision",
        "Go",
        "NeedsApproval",
        "Reason",
        "RefusalReason",
        "Refused",
        "VERDICTS",
        "Wait",
        "approvers",
        "blocked_by",
        "decide_gate",
        "decide_wait_expiry",
        "denied_by",
        "deploy_hold_of_another",
        "environment_reasons",
        "frozen_by",
        "held_by",
        "is_hotfix",
        "needs_approval",
        "plan_lacking",
        "reserved_by",
    ]


def test_enum_values_are_the_stored_strings() -> None:
    assert [k.value for k in HoldKind] == ["work", "deploy"]
    assert [s.value for s in DeployState] == [
        "queued",
        "awaiting-approval",
        "running",
        "succeeded",
        "failed",
        "refused",
        "superseded",
        "denied",
        "expired",
        "cancelled",
    ]
    assert [r.value for r in gate.RefusalReason] == [
        "held",
        "reserved",
        "frozen",
        "superseded",
        "blocked",
        "denied",
        "wait-expired",
        "approval-expired",
    ]


def test_field_order_of_the_views() -> None:
    assert [f.name for f in dataclasses.fields(HoldView)] == [
        "environment",
        "owner",
        "kind",
        "reason",
        "since",
        "until",
        "fencing_token",
        "deploy_id",
    ]
    assert [f.name for f in dataclasses.fields(views.ReservationView)] == [
        "id",
        "environment",
        "owner",
        "reason",
        "starts",
        "ends",
        "kind",
    ]
    assert [f.name for f in dataclasses.fields(DeployView)] == [
        "id",
        "environment",
        "requester",
        "branch",
        "commit",
        "state",
        "priority",
        "requested_at",
        "plan_verdict",
        "plan_digest",
        "approved",
        "denied",
        "started_at",
        "incident_id",
    ]


def test_views_are_frozen_and_slotted() -> None:
    person = Principal("platform-eng", is_ci=False)
    when = datetime(2026, 11, 26, 12, tzinfo=UTC)
    hold = HoldView("dev", person, HoldKind.WORK, "renaming", when, when, 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        hold.until = when  # type: ignore[misc]
    for value in (person, hold):
        assert not hasattr(value, "__dict__")
    assert hold.deploy_id is None
