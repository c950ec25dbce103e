"""Builders for the Terraform state rules' inputs (a fixed clock: rules take ``now``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from signalbox.core.tfstate import EnvironmentFacts, LockInfo, StateKey, TerraformLock
from signalbox.core.views import HoldKind, HoldView, Principal, ReservationView

NOW = datetime(2026, 11, 26, 14, 44, tzinfo=UTC)
ENGINEER = Principal("platform-eng", is_ci=False)
CI = Principal("ci-dev", is_ci=True)
ADMIN = Principal("root", is_ci=False)
KEY = StateKey("dev", "network")


def hold(
    owner: Principal = ENGINEER,
    *,
    until: datetime | None = None,
    token: int = 7,
    kind: HoldKind = HoldKind.WORK,
    deploy_id: int | None = None,
) -> HoldView:
    return HoldView(
        environment="dev",
        owner=owner,
        kind=kind,
        reason="renaming cognito pool",
        since=NOW - timedelta(hours=1, minutes=44),
        until=until or NOW + timedelta(hours=2, minutes=16),
        fencing_token=token,
        deploy_id=deploy_id,
    )


def tf_lock(
    owner: Principal = CI, lock_id: str = "lock-1", operation: str = "OperationTypeApply"
) -> TerraformLock:
    return TerraformLock(
        key=KEY,
        info=LockInfo(
            id=lock_id,
            operation=operation,
            who="runner@ci",
            version="1.15.5",
            created=NOW.isoformat(),
        ),
        owner=owner,
        created=NOW - timedelta(minutes=3),
    )


def demo(starts: datetime, ends: datetime, kind: str = "reservation") -> ReservationView:
    return ReservationView(
        id=1,
        environment="dev",
        owner="coo",
        reason="investor demo",
        starts=starts,
        ends=ends,
        kind=kind,
    )


def facts(**changes: object) -> EnvironmentFacts:
    return EnvironmentFacts(name="dev", **changes)  # type: ignore[arg-type]
