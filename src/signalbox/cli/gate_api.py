"""The deploy endpoints as the gate sees them: request, long-poll, heartbeat, finish, cancel.

The wire format is documented in docs/gate.md ("Protocol"). Every call returns a
``DeployAnswer``; an error answer (problem+json) raises the matching ``SignalboxError`` from
the client transport, so the gate can print one line and exit with the mapped code.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from signalbox.cli.ci_context import CiContext
from signalbox.cli.client import ApiClient
from signalbox.core.errors import BadServerResponse

__all__ = [
    "DEFAULT_POLL_SECONDS",
    "DeployAnswer",
    "GateApi",
    "Transport",
    "client_transport",
]

DEFAULT_POLL_SECONDS = 25
"""How long the server may hold one long-poll request before answering "no change"."""

Transport = Callable[..., Mapping[str, Any]]
"""``transport(method, path, *, json=None, params=None, timeout=None) -> parsed JSON body``.

It raises ``SignalboxError`` subclasses for problem+json answers and ``ServerUnreachable``
when the server cannot be reached."""


@dataclass(frozen=True, slots=True)
class DeployAnswer:
    """The server's answer about one deploy (see docs/gate.md, "Protocol")."""

    deploy_id: int
    environment: str
    state: str
    decision: str  # go | wait | needs-approval | refused | finished
    message: str
    version: int
    reason: str | None = None
    whom: str | None = None
    until: str | None = None
    position: int | None = None
    link: str = ""
    fencing_token: int | None = None
    lease_seconds: int | None = None
    lease_until: str | None = None
    recheck_at: str | None = None  # a time-based change may happen then (echoed in poll)
    analysis: Mapping[str, Any] | None = None
    deploy: Mapping[str, Any] = field(default_factory=dict)
    ahead: int | None = None  # while waiting: the deploy directly ahead (or running)
    expected_wait_seconds: int | None = None  # while waiting: about how long; None: unknown

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> DeployAnswer:
        try:
            deploy = body["deploy"]
            return cls(
                deploy_id=int(deploy["id"]),
                environment=str(deploy["environment"]),
                state=str(deploy["state"]),
                decision=str(body["decision"]),
                message=str(body.get("message") or ""),
                version=int(body.get("version") or 0),
                reason=body.get("reason"),
                whom=body.get("whom"),
                until=body.get("until"),
                position=body.get("position"),
                link=str(body.get("link") or ""),
                fencing_token=body.get("fencing_token"),
                lease_seconds=body.get("lease_seconds"),
                lease_until=body.get("lease_until"),
                recheck_at=body.get("recheck_at"),
                analysis=deploy.get("analysis"),
                deploy=deploy,
                ahead=_optional_int(body.get("ahead")),
                expected_wait_seconds=_optional_int(body.get("expected_wait_seconds")),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise BadServerResponse(
                f"The server's answer about a deploy lacks {error}.",
                hint="Check that SIGNALBOX_URL points at a signalbox server of the same version.",
            ) from None


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


class GateApi:
    """The deploy calls the gate makes, over an injected transport."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    def request(
        self,
        environment: str,
        context: CiContext,
        *,
        plan: bytes | None,
        plan_source: str = "",
        hotfix: int | None = None,
    ) -> DeployAnswer:
        payload: dict[str, Any] = {
            "environment": environment,
            "branch": context.branch,
            "commit": context.commit,
            "actor": context.actor,
            "run_url": context.run_url,
        }
        if plan is not None:
            payload["plan"] = base64.b64encode(plan).decode("ascii")
            payload["plan_source"] = plan_source
        if hotfix is not None:
            payload["hotfix"] = hotfix
        return self._answer("POST", "/api/deploys", json=payload, timeout=120.0)

    def poll(self, last: DeployAnswer, *, wait_seconds: int) -> DeployAnswer:
        """Long-poll: the server answers at once on a change, else after ``wait_seconds``
        with "unchanged", and then ``last`` still holds."""
        deploy_id, since, recheck_at = last.deploy_id, last.version, last.recheck_at
        params: dict[str, Any] = {"since": since, "wait": wait_seconds}
        if recheck_at:
            params["recheck_at"] = recheck_at
        body = self._transport(
            "GET",
            f"/api/deploys/{deploy_id}/decision",
            params=params,
            timeout=wait_seconds + 30.0,
        )
        return last if body.get("unchanged") else DeployAnswer.from_json(body)

    def heartbeat(self, deploy_id: int, fencing_token: int) -> DeployAnswer:
        return self._answer(
            "POST",
            f"/api/deploys/{deploy_id}/heartbeat",
            json={"fencing_token": fencing_token},
            timeout=30.0,
        )

    def finish(
        self, deploy_id: int, fencing_token: int, *, exit_code: int, duration_seconds: float
    ) -> DeployAnswer:
        payload = {
            "fencing_token": fencing_token,
            "exit_code": exit_code,
            "duration_seconds": round(duration_seconds, 3),
        }
        return self._answer("POST", f"/api/deploys/{deploy_id}/finish", json=payload, timeout=30.0)

    def cancel(self, deploy_id: int, *, reason: str) -> DeployAnswer:
        return self._answer(
            "POST", f"/api/deploys/{deploy_id}/cancel", json={"reason": reason}, timeout=30.0
        )

    def _answer(self, method: str, path: str, **options: Any) -> DeployAnswer:
        return DeployAnswer.from_json(self._transport(method, path, **options))


def client_transport(client: ApiClient) -> Transport:
    """A transport over the CLI's one HTTP client (problem+json -> SignalboxError)."""

    def transport(method: str, path: str, **options: Any) -> Mapping[str, Any]:
        body = client.request(
            method,
            path,
            json=options.get("json"),
            params=options.get("params"),
            timeout=options.get("timeout"),
        )
        if not isinstance(body, Mapping):
            raise BadServerResponse(f"The server answered {type(body).__name__}, not an object.")
        return body

    return transport
