"""The one place that maps outcomes and errors to exit codes and one-line messages.

Every exit code is documented in README.md ("Exit codes"); tests/test_docs.py checks it.
"""

from __future__ import annotations

from enum import IntEnum

from signalbox.core import errors


class ExitCode(IntEnum):
    """Exit codes of every signalbox command. ``gate`` passes COMMAND's own code through."""

    OK = 0  # success; for `check`: the verdict is routine
    FAILURE = 1  # the plan could not be read, the server unreachable, or `serve` failed to start
    USAGE = 2  # bad flags, arguments, settings or input values
    NEEDS_APPROVAL = 3  # `check`: the plan needs an approver
    BLOCKED = 4  # `check`: the policy blocks the plan
    REFUSED = 75  # refused for now: held, reserved, frozen, superseded, queue wait expired
    APPROVAL_TIMEOUT = 76  # `gate`: approval not given within --wait
    DENIED = 77  # denied: policy blocked, approval denied, or not allowed (403)


# Most specific class first wins: the lookup walks each error's MRO.
_BY_ERROR: dict[type[errors.SignalboxError], ExitCode] = {
    errors.SignalboxError: ExitCode.FAILURE,
    errors.UsageError: ExitCode.USAGE,
    errors.InvalidInput: ExitCode.USAGE,
    errors.ConfigError: ExitCode.USAGE,
    errors.PlanError: ExitCode.FAILURE,
    errors.NotFound: ExitCode.USAGE,
    errors.Unauthenticated: ExitCode.FAILURE,
    errors.Forbidden: ExitCode.DENIED,
    errors.Conflict: ExitCode.REFUSED,
    errors.PayloadTooLarge: ExitCode.USAGE,
    errors.UndeclaredEvent: ExitCode.FAILURE,
    errors.ServerUnreachable: ExitCode.FAILURE,
}


def exit_code_for(error: errors.SignalboxError) -> ExitCode:
    for cls in type(error).__mro__:
        if cls in _BY_ERROR:
            return _BY_ERROR[cls]
    return ExitCode.FAILURE


# `gate`: the server's refusal ``reason`` -> exit code. Any other reason (held, reserved,
# frozen, superseded, wait-expired, and any this client does not know) is REFUSED for now.
_BY_REFUSAL: dict[str, ExitCode] = {
    "approval-expired": ExitCode.APPROVAL_TIMEOUT,
    "blocked": ExitCode.DENIED,
    "denied": ExitCode.DENIED,
}


def exit_code_for_refusal(reason: str | None) -> ExitCode:
    """75 refused for now, 76 approval not given in time, 77 denied (see docs/gate.md)."""
    return _BY_REFUSAL.get(reason or "", ExitCode.REFUSED)


def one_line(error: errors.SignalboxError) -> str:
    """``ErrorName: message. hint`` — what happened, why, and what to do next."""
    return f"{type(error).__name__}: {error}"


# `preflight`: what a gate started now would be told -> exit code. Go, wait and
# needs-approval are 0 (the pipeline goes on: the gate will wait); a refusal is what the gate
# would exit with for that reason (75 for now, 77 when the plan is blocked or denied).
_PREFLIGHT_GOES = frozenset({"go", "wait", "needs-approval"})


def exit_code_for_preflight(verdict: str, reason: str | None) -> ExitCode:
    """0 go, wait or needs-approval; else the gate's code for ``reason`` (75 or 77)."""
    if verdict in _PREFLIGHT_GOES:
        return ExitCode.OK
    return exit_code_for_refusal(reason)
