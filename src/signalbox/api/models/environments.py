"""An environment's picture (``core.status``) as the API shows it: the one answer to "what
is going on in this environment?" that `signalbox status`, the board and the notifier read."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Self

from pydantic import BaseModel, Field

from signalbox.api.models.holds import HoldRead
from signalbox.api.models.reservations import ReservationRead
from signalbox.core.incidents import IncidentView
from signalbox.core.status import (
    Blocker,
    EnvironmentPicture,
    FinishedDeploy,
    PictureDeploy,
    PlanSummary,
)
from signalbox.core.tfstate.model import TerraformLock
from signalbox.core.views import ReservationView

if TYPE_CHECKING:
    from signalbox.services.notify.worker import FailingTarget

__all__ = [
    "BlockerRead",
    "EnvironmentListRead",
    "EnvironmentRead",
    "FailingTargetRead",
    "IncidentSummaryRead",
    "LastDeployRead",
    "PictureDeployRead",
    "PictureJson",
    "PlanSummaryRead",
    "TerraformLockRead",
]


class PlanSummaryRead(BaseModel):
    verdict: str
    counts: dict[str, int]
    destroys: list[str] = Field(description="Stateful resources it destroys or replaces.")
    line: str = Field(description="The plan in a line, for people.")

    @classmethod
    def of(cls, plan: PlanSummary | None) -> PlanSummaryRead | None:
        if plan is None:
            return None
        return cls(
            verdict=plan.verdict,
            counts=dict(plan.counts),
            destroys=list(plan.destroys),
            line=plan.line,
        )


class PictureDeployRead(BaseModel):
    """A running deploy (``position`` null) or a waiting one (``position`` 1 goes next)."""

    id: int
    requester: str
    actor: str
    branch: str
    commit: str
    state: str
    requested_at: datetime
    started_at: datetime | None
    position: int | None
    plan: PlanSummaryRead | None
    run_url: str

    @classmethod
    def of(cls, deploy: PictureDeploy | None) -> PictureDeployRead | None:
        if deploy is None:
            return None
        return cls(
            id=deploy.id,
            requester=deploy.requester,
            actor=deploy.actor,
            branch=deploy.branch,
            commit=deploy.commit,
            state=deploy.state,
            requested_at=deploy.requested_at,
            started_at=deploy.started_at,
            position=deploy.position,
            plan=PlanSummaryRead.of(deploy.plan),
            run_url=deploy.run_url,
        )


class LastDeployRead(BaseModel):
    id: int
    requester: str
    branch: str
    commit: str
    state: str
    outcome: str | None
    finished_at: datetime
    duration_seconds: float | None

    @classmethod
    def of(cls, deploy: FinishedDeploy | None) -> LastDeployRead | None:
        if deploy is None:
            return None
        return cls(
            id=deploy.id,
            requester=deploy.requester,
            branch=deploy.branch,
            commit=deploy.commit,
            state=deploy.state,
            outcome=deploy.outcome,
            finished_at=deploy.finished_at,
            duration_seconds=deploy.duration_seconds,
        )


class TerraformLockRead(BaseModel):
    """A Terraform lock on one of the environment's states (who ran which operation)."""

    state: str
    owner: str
    who: str
    operation: str
    since: datetime

    @classmethod
    def of(cls, lock: TerraformLock) -> TerraformLockRead:
        return cls(
            state=lock.key.name,
            owner=lock.owner.name,
            who=lock.info.who,
            operation=lock.info.operation,
            since=lock.created,
        )


class BlockerRead(BaseModel):
    """One reason a deploy requested now would not go: ``effect`` ``refused`` (the gate
    stops it) or ``waits`` (the gate queues it)."""

    reason: str = Field(description="frozen, held, reserved, freeze, deploying or queued.")
    effect: str
    message: str
    whom: str | None
    until: datetime | None

    @classmethod
    def of(cls, blocker: Blocker) -> Self:
        return cls(
            reason=blocker.reason,
            effect=blocker.effect,
            message=blocker.message,
            whom=blocker.whom,
            until=blocker.until,
        )


class IncidentSummaryRead(BaseModel):
    """The environment's open incident, as the picture shows it. ``updated_at`` is the last
    update posted (the opening counts): "last update 4m ago" is counted from it by whoever
    shows it, so a picture kept while nothing changes stays true."""

    id: int
    title: str
    severity: str
    status: str
    commander: str
    responders: list[str]
    freezes: bool = Field(description="Only its hotfixes deploy while it is open.")
    eta: datetime | None
    opened_at: datetime
    opened_by: str
    updated_at: datetime

    @classmethod
    def of(cls, incident: IncidentView | None) -> IncidentSummaryRead | None:
        if incident is None:
            return None
        return cls(
            id=incident.id,
            title=incident.title,
            severity=str(incident.severity),
            status=str(incident.status),
            commander=incident.commander,
            responders=list(incident.responders),
            freezes=incident.freezes,
            eta=incident.eta,
            opened_at=incident.opened_at,
            opened_by=incident.opened_by,
            updated_at=incident.updated_at,
        )


class FailingTargetRead(BaseModel):
    """A notification target that hears of this environment and is in trouble: its oldest
    message did not go through and is retried (``failing``), or it gave up on a message and
    nothing reached it since (``given-up``); see ``signalbox notifications --failed``."""

    target: str
    state: str = Field(description="failing (retried) or given-up.")
    since: datetime = Field(description="When the message it is stuck on was queued.")
    attempts: int
    last_error: str | None

    @classmethod
    def of(cls, failing: FailingTarget) -> FailingTargetRead:
        return cls(
            target=failing.target,
            state="given-up" if failing.gave_up else "failing",
            since=failing.since,
            attempts=failing.attempts,
            last_error=failing.last_error,
        )


class EnvironmentRead(BaseModel):
    """What is going on in one environment, now."""

    name: str
    state: str = Field(
        description="deploying, held, frozen, reserved-now, queued, reserved-soon or free."
    )
    timezone: str
    hold: HoldRead | None = Field(description="The live hold, if any.")
    running: PictureDeployRead | None
    queue: list[PictureDeployRead] = Field(description="Waiting deploys, next first.")
    reservation_now: ReservationRead | None
    next_reservation: ReservationRead | None = Field(
        description="The window in force now, or else the next one to start."
    )
    next_reservation_overlaps_deploy: bool = Field(
        description="Whether a deploy started now would still run when it is in force."
    )
    expected_deploy_seconds: int
    last_deploy: LastDeployRead | None
    terraform_locks: list[TerraformLockRead]
    blocking: list[BlockerRead] = Field(
        description="Every reason a deploy requested now would not go (empty: it would go)."
    )
    version: int = Field(description="Grows with every change; long-polls compare it.")
    last_fencing_token: int
    incident: IncidentSummaryRead | None = Field(
        None, description="The open incident, if any (state frozen when it freezes)."
    )
    at_risk: list[ReservationRead] = Field(
        default_factory=list, description="The reservations the open incident puts at risk."
    )
    notifications_failing: list[FailingTargetRead] = Field(
        default_factory=list,
        description="Notification targets of this environment whose messages are failing.",
    )

    @classmethod
    def of(
        cls, picture: EnvironmentPicture, failing: Sequence[FailingTarget] = ()
    ) -> EnvironmentRead:
        tz = picture.timezone
        return cls(
            name=picture.name,
            state=str(picture.state),
            timezone=tz,
            hold=HoldRead.of(picture.hold, tz) if picture.hold is not None else None,
            running=PictureDeployRead.of(picture.running),
            queue=[read for deploy in picture.queue if (read := PictureDeployRead.of(deploy))],
            reservation_now=_window(picture.reservation_now, tz),
            next_reservation=_window(picture.next_reservation, tz),
            next_reservation_overlaps_deploy=picture.next_reservation_overlaps_deploy,
            expected_deploy_seconds=round(picture.expected_deploy.total_seconds()),
            last_deploy=LastDeployRead.of(picture.last_deploy),
            terraform_locks=[TerraformLockRead.of(lock) for lock in picture.terraform_locks],
            blocking=[BlockerRead.of(blocker) for blocker in picture.blocking],
            version=picture.version,
            last_fencing_token=picture.last_fencing_token,
            incident=IncidentSummaryRead.of(picture.incident),
            at_risk=[ReservationRead.of(window, tz) for window in picture.at_risk],
            notifications_failing=[FailingTargetRead.of(target) for target in failing],
        )


def _window(window: ReservationView | None, timezone: str) -> ReservationRead | None:
    return ReservationRead.of(window, timezone) if window is not None else None


class EnvironmentListRead(BaseModel):
    environments: list[EnvironmentRead]


class PictureJson:
    """Each environment's picture as the JSON of ``EnvironmentRead``, made once per picture
    and failing notification targets: a picture kept by ``services.status.PictureCache``
    (the same object) with the same failing targets is not converted and encoded again.
    One per server."""

    def __init__(self) -> None:
        self._made: dict[str, tuple[EnvironmentPicture, tuple[FailingTarget, ...], bytes]] = {}

    def of(self, picture: EnvironmentPicture, failing: tuple[FailingTarget, ...] = ()) -> bytes:
        made = self._made.get(picture.name)
        if made is not None and made[0] is picture and made[1] == failing:
            return made[2]
        encoded = EnvironmentRead.of(picture, failing).model_dump_json().encode()
        self._made[picture.name] = (picture, failing, encoded)
        return encoded

    def listing(
        self,
        pictures: list[EnvironmentPicture],
        failing: Callable[[str], tuple[FailingTarget, ...]] = lambda _name: (),
    ) -> bytes:
        """``EnvironmentListRead`` of ``pictures``, as JSON; ``failing(name)``: the failing
        notification targets of environment ``name``."""
        made = b",".join(self.of(p, failing(p.name)) for p in pictures)
        return b'{"environments":[' + made + b"]}"
