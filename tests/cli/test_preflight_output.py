"""`signalbox preflight`: its exit codes (mapped in cli/exit_codes.py alone) and its lines."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from signalbox.cli.exit_codes import ExitCode, exit_code_for_preflight
from signalbox.cli.preflight import preflight_lines


@pytest.mark.parametrize(
    ("verdict", "reason", "code"),
    [
        ("go", None, ExitCode.OK),
        ("wait", None, ExitCode.OK),
        ("needs-approval", None, ExitCode.OK),
        ("refused", "frozen", ExitCode.REFUSED),
        ("refused", "held", ExitCode.REFUSED),
        ("refused", "reserved", ExitCode.REFUSED),
        ("refused", "blocked", ExitCode.DENIED),
        ("refused", "denied", ExitCode.DENIED),
    ],
)
def test_exit_codes(verdict: str, reason: str | None, code: ExitCode) -> None:
    assert exit_code_for_preflight(verdict, reason) is code


NOW = datetime(2026, 11, 26, 13, 50, tzinfo=UTC)


def answer(verdict: str, **extra: object) -> dict[str, object]:
    return {
        "environment": "dev",
        "timezone": "Europe/Berlin",
        "verdict": verdict,
        "reason": None,
        "position": 1,
        "expected_wait_seconds": 0,
        "expected_deploy_seconds": 1020,
        "plan_verdict": "none",
        "analysis": None,
        "reasons": [],
        "hotfix_for": None,
        "superseding": [],
        **extra,
    }


def test_a_refusal_prints_every_reason_with_whom_and_until_in_the_local_zone() -> None:
    reasons = [
        {
            "reason": "frozen",
            "effect": "refused",
            "message": "dev is frozen by incident 3.",
            "whom": "alice",
            "until": "2026-11-26T14:30:00Z",
        },
        {
            "reason": "held",
            "effect": "refused",
            "message": "dev is held by platform-eng.",
            "whom": "platform-eng",
            "until": "2026-11-26T16:00:00Z",
        },
    ]
    lines = preflight_lines(answer("refused", reason="frozen", reasons=reasons), now=NOW)
    assert lines[0] == "refused (frozen): a deploy to dev now would be refused."
    assert lines[-2:] == [
        "  refused (frozen): dev is frozen by incident 3. [ask alice; until 15:30 CET]",
        "  refused (held): dev is held by platform-eng. [ask platform-eng; until 17:00 CET]",
    ]


def test_a_wait_says_where_and_how_long() -> None:
    lines = preflight_lines(
        answer("wait", position=3, expected_wait_seconds=2760, hotfix_for=None), now=NOW
    )
    assert lines[0] == (
        "wait: a deploy to dev now would be number 3 in the queue; expected wait about 46m, "
        "then about 17m to deploy."
    )
