"""The gate's conversation with the server: request, wait, run, report. No Typer here.

``run_gate`` is the whole flow over a ``GateApi`` and a child runner, both injected, so that
tests can drive it without a network or a process. Every line it prints goes to ``say``
(stderr in the command), so COMMAND's own standard output stays clean.
"""

from __future__ import annotations

import contextlib
import functools
import signal
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from types import FrameType
from typing import Any, TypeVar

from signalbox.cli.ci_context import CiContext
from signalbox.cli.exit_codes import ExitCode, exit_code_for_refusal
from signalbox.cli.gate_api import DEFAULT_POLL_SECONDS, DeployAnswer, GateApi
from signalbox.cli.gate_runner import ChildResult, run_child
from signalbox.core.durations import format_duration
from signalbox.core.errors import ServerUnreachable, SignalboxError

__all__ = ["GateRequest", "render_analysis", "run_gate", "still_waiting_line"]

Say = Callable[[str], None]
Runner = Callable[..., ChildResult]

APPROVAL_TIMEOUT = "approval-expired"
MIN_POLL_SECONDS = 1.0  # never ask more often than this while nothing changes
STILL_WAITING_SECONDS = 60.0  # a waiting gate says something at least this often
FINISH_ATTEMPTS = 4  # the outcome is worth a few retries: else the lease lapses (failed)
T = TypeVar("T")

_SEVERITY_ORDER = ("critical", "high", "medium", "low", "info")
_MAX_FINDINGS_SHOWN = 20


@dataclass(frozen=True, slots=True)
class GateRequest:
    environment: str
    context: CiContext
    command: Sequence[str]
    plan: bytes | None = None
    plan_source: str = ""
    wait_seconds: float = 1800.0
    hotfix: int | None = None
    """The open incident this deploy is the hotfix of (`--hotfix N`)."""


class _Interrupted(Exception):
    """SIGINT or SIGTERM while waiting: give the place in the queue back and stop."""


def _severity_rank(finding: Mapping[str, Any]) -> int:
    severity = finding.get("severity")
    return _SEVERITY_ORDER.index(severity) if severity in _SEVERITY_ORDER else len(_SEVERITY_ORDER)


def render_analysis(analysis: Mapping[str, Any] | None) -> list[str]:
    """The plan analysis in a few lines: verdict, counts, findings. Never attribute values."""
    if not analysis:
        return ["plan: none given (the deploy is judged without a plan analysis)"]
    lines = [f"plan: {analysis.get('verdict', 'unknown')}"]
    findings: list[Mapping[str, Any]] = []
    for plan in analysis.get("plans", []):
        counts = plan.get("counts", {})
        shown = ", ".join(f"{n} {action}" for action, n in counts.items() if n)
        lines.append(
            f"  {plan.get('source', 'plan')}: {plan.get('verdict')} ({shown or 'no changes'})"
        )
        findings.extend(plan.get("findings", []))
    findings.sort(key=_severity_rank)
    for finding in findings[:_MAX_FINDINGS_SHOWN]:
        lines.append(
            f"  {finding.get('severity', ''):8} {finding.get('verdict', ''):14} "
            f"{finding.get('id', '')}: {finding.get('message', '')}"
        )
    if len(findings) > _MAX_FINDINGS_SHOWN:
        lines.append(f"  ... and {len(findings) - _MAX_FINDINGS_SHOWN} more findings")
    return lines


def _waiting_line(answer: DeployAnswer) -> str:
    if answer.decision == "needs-approval":
        link = f" or open {answer.link}" if answer.link else ""
        line = f"needs approval: approve with `signalbox approve {answer.deploy_id}`{link}"
        return f"{line}\n  {answer.message}" if answer.message else line
    position = f" at position {answer.position}" if answer.position else ""
    return f"waiting{position}: {answer.message}".rstrip()


def _about_minutes(seconds: float) -> str:
    minutes = max(1, round(seconds / 60))
    return f"about {minutes} min" if minutes < 120 else f"about {round(minutes / 60)} h"


def still_waiting_line(answer: DeployAnswer, *, answered_for: float) -> str:
    """The line a waiting gate prints every minute so a CI log never looks hung:
    ``still waiting: position 2 behind deploy 14 by ci, about 12 min``. The estimate is the
    server's, less the ``answered_for`` seconds since it was given; left out when the server
    could not tell or the time it told has passed (the deploy ahead overran)."""
    if answer.decision == "needs-approval":
        link = f" or open {answer.link}" if answer.link else ""
        return f"still waiting for an approval: `signalbox approve {answer.deploy_id}`{link}"
    parts = [f"position {answer.position}" if answer.position else "in the queue"]
    if answer.ahead is not None:
        by = f" by {answer.whom}" if answer.whom else ""
        parts.append(f"behind deploy {answer.ahead}{by}")
    line = f"still waiting: {' '.join(parts)}"
    if answer.expected_wait_seconds is not None:
        left = answer.expected_wait_seconds - answered_for
        if left > 0:
            line += f", {_about_minutes(left)}"
    return line


@contextlib.contextmanager
def _interruptible() -> Iterator[None]:
    def interrupt(_signum: int, _frame: FrameType | None) -> None:
        raise _Interrupted()

    previous = {sig: signal.signal(sig, interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _wait_for_decision(
    api: GateApi,
    answer: DeployAnswer,
    *,
    deadline: float,
    say: Say,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
) -> DeployAnswer:
    """Long-poll until the answer is go, refused or finished, or the deadline passes.

    A new waiting line is printed when it changes, and a "still waiting" line when a minute
    passed since the last one."""
    shown = ""
    said_at = answered_at = clock()
    while answer.decision in ("wait", "needs-approval"):
        line = _waiting_line(answer)
        if line != shown:
            say(line)
            shown, said_at = line, clock()
        elif clock() - said_at >= STILL_WAITING_SECONDS:
            say(still_waiting_line(answer, answered_for=clock() - answered_at))
            said_at = clock()
        remaining = deadline - clock()
        if remaining <= 0:
            reason = APPROVAL_TIMEOUT if answer.decision == "needs-approval" else "wait-expired"
            return api.cancel(answer.deploy_id, reason=reason)
        hold_for = max(1, min(DEFAULT_POLL_SECONDS, int(remaining + 0.999)))
        asked = clock()
        last, answer = (
            answer,
            retrying(
                functools.partial(api.poll, answer, wait_seconds=hold_for),
                say=say,
                sleep=sleep,
                give_up=lambda delay: clock() + delay > deadline,
            ),
        )
        if answer is not last:
            answered_at = clock()
        elif clock() - asked < MIN_POLL_SECONDS:
            sleep(MIN_POLL_SECONDS - (clock() - asked))  # a server that does not hold: no spin
    return answer


def retrying(
    call: Callable[[], T],
    *,
    say: Say,
    sleep: Callable[[float], None],
    give_up: Callable[[float], bool],
) -> T:
    """``call()``, asked again after 1, 2, 4 ... 30 s while the server cannot be reached
    (restarting, a proxy hiccup), until ``give_up(next_delay)`` says stop."""
    delay = 1.0
    while True:
        try:
            return call()
        except ServerUnreachable as error:
            if give_up(delay):
                raise
            say(f"warning: {error} Asking again in {delay:.0f}s.")
            sleep(delay)
            delay = min(delay * 2, 30.0)


def _run_and_report(
    api: GateApi,
    answer: DeployAnswer,
    request: GateRequest,
    *,
    say: Say,
    runner: Runner,
    sleep: Callable[[float], None],
) -> int:
    token = answer.fencing_token
    if token is None:
        say("error: the server said go without a fencing token; not running the command.")
        return int(ExitCode.FAILURE)
    lease = answer.lease_seconds or 60
    say(
        f"go: running `{' '.join(request.command)}` (deploy {answer.deploy_id}, "
        f"fencing token {token}, lease {lease}s renewed while it runs)"
    )
    try:
        result = runner(
            request.command,
            renew=lambda: api.heartbeat(answer.deploy_id, token),
            renew_every=lease / 3,
            warn=say,
        )
    except OSError as error:
        say(f"error: could not start `{request.command[0]}`: {error.strerror or error}")
        result = ChildResult(exit_code=127, duration_seconds=0.0, lease_lost=False)
    _report_outcome(api, answer.deploy_id, token, result, say=say, sleep=sleep)
    if result.lease_lost:
        say("WARNING: the deploy lease was lost while the command ran; check the environment.")
    return result.exit_code


def _report_outcome(
    api: GateApi,
    deploy_id: int,
    token: int,
    result: ChildResult,
    *,
    say: Say,
    sleep: Callable[[float], None],
) -> None:
    """Tell the server how the command ended (retried FINISH_ATTEMPTS times); if it never
    hears, the lease lapses by itself, so a failure here is only a warning."""
    took = format_duration_precise(result.duration_seconds)
    try:
        attempts = iter(range(FINISH_ATTEMPTS - 1, -1, -1))
        done = retrying(
            lambda: api.finish(
                deploy_id,
                token,
                exit_code=result.exit_code,
                duration_seconds=result.duration_seconds,
            ),
            say=say,
            sleep=sleep,
            give_up=lambda _delay: next(attempts) == 0,
        )
        say(
            f"done: exit code {result.exit_code} after {took}; deploy {done.deploy_id} "
            f"{done.state}, {done.environment} released."
        )
    except SignalboxError as error:
        say(
            f"warning: exit code {result.exit_code} in {took}, but the outcome was not "
            f"recorded: {error}. The lease lapses by itself."
        )


def format_duration_precise(seconds: float) -> str:
    """``3m12s`` for people; tenths of a second below one second."""
    if seconds < 1:
        return f"{seconds:.1f}s"
    return format_duration(timedelta(seconds=round(seconds)))


def _origin(request: GateRequest) -> str:
    """`` (main @ abc1234, by alice)`` from whatever CI context is known; empty when none is."""
    context = request.context
    parts = [" @ ".join(p for p in (context.branch, context.commit[:12]) if p)]
    if context.actor:
        parts.append(f"by {context.actor}")
    known = [part for part in parts if part]
    return f" ({', '.join(known)})" if known else ""


def run_gate(
    api: GateApi,
    request: GateRequest,
    *,
    say: Say,
    runner: Runner = run_child,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    handle_signals: bool = True,
) -> int:
    """Ask for a slot, wait for the decision, run the command on go; the exit code."""
    deadline = clock() + request.wait_seconds
    answer = api.request(
        request.environment,
        request.context,
        plan=request.plan,
        plan_source=request.plan_source,
        hotfix=request.hotfix,
    )
    hotfix = f", hotfix of incident {request.hotfix}" if request.hotfix is not None else ""
    say(
        f"signalbox gate: {request.environment}{hotfix}, deploy {answer.deploy_id}"
        f"{_origin(request)}"
    )
    for line in render_analysis(answer.analysis):
        say(line)
    guard = _interruptible() if handle_signals else contextlib.nullcontext()
    try:
        with guard:
            answer = _wait_for_decision(
                api, answer, deadline=deadline, say=say, clock=clock, sleep=sleep
            )
    except _Interrupted:
        api.cancel(answer.deploy_id, reason="interrupted")
        say(f"interrupted: deploy {answer.deploy_id} cancelled, its place in the queue freed.")
        return 130
    if answer.decision == "go":
        return _run_and_report(api, answer, request, say=say, runner=runner, sleep=sleep)
    if answer.decision == "refused":
        code = int(exit_code_for_refusal(answer.reason))
        say(f"refused ({answer.reason}): {answer.message} [exit {code}]")
        return code
    say(f"error: deploy {answer.deploy_id} is {answer.state}: {answer.message}")
    return int(ExitCode.FAILURE)
