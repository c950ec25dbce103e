"""The gate's flow against a scripted server: what it prints, what it calls, its exit code.

The server here is a stand-in for the real one (tests/e2e/test_story.py plays the same flows
against a real `signalbox serve`); the child command is real.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from signalbox.cli.ci_context import CiContext
from signalbox.cli.gate_api import GateApi
from signalbox.cli.gate_flow import GateRequest, render_analysis, run_gate
from signalbox.core.errors import ServerUnreachable

ANALYSIS = {
    "schema": "signalbox.check/1",
    "verdict": "needs-approval",
    "plans": [
        {
            "source": "plan.json",
            "verdict": "needs-approval",
            "counts": {"create": 1, "update": 0, "delete": 1, "replace": 0, "no-op": 3},
            "findings": [
                {
                    "id": "stateful-destroy",
                    "severity": "high",
                    "verdict": "needs-approval",
                    "address": "aws_cognito_user_pool.main",
                    "message": "aws_cognito_user_pool.main is destroyed: user accounts are lost.",
                }
            ],
        }
    ],
}


def answer(decision: str, *, state: str = "queued", version: int = 1, **extra: Any) -> dict:
    deploy = {
        "id": 12,
        "environment": "dev",
        "state": state,
        "analysis": extra.pop("analysis", None),
    }
    return {"deploy": deploy, "decision": decision, "version": version, **extra}


class ScriptedServer:
    """Answers each (method, path-suffix) from a queue of answers; records every call."""

    def __init__(self, script: Mapping[str, list[dict]]) -> None:
        self.script = {key: list(values) for key, values in script.items()}
        self.calls: list[tuple[str, str, dict]] = []

    def __call__(self, method: str, path: str, **options: Any) -> Mapping[str, Any]:
        self.calls.append((method, path, options))
        key = path.rsplit("/", 1)[-1]
        return self.script[key].pop(0)

    def called(self, key: str) -> list[dict]:
        return [options for _m, path, options in self.calls if path.endswith(key)]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def run(
    server: ScriptedServer, tmp_path: Path, *, wait: float = 600, clock: Clock | None = None
) -> tuple[int, list[str], Path]:
    marker = tmp_path / "applied"
    request = GateRequest(
        environment="dev",
        context=CiContext(commit="1a2b3c4d", branch="main", actor="ci-dev"),
        command=[sys.executable, "-c", f"open({str(marker)!r}, 'w').write('x')"],
        plan=b'{"format_version": "1.2"}',
        plan_source="plan.json",
        wait_seconds=wait,
    )
    lines: list[str] = []
    code = run_gate(
        GateApi(server),
        request,
        say=lines.append,
        clock=clock or Clock(),
        sleep=lambda _seconds: None,
        handle_signals=False,
    )
    return code, lines, marker


GO = answer(
    "go", state="running", version=2, fencing_token=7, lease_seconds=60, message="dev is yours."
)
FINISHED = answer("finished", state="succeeded", version=3, message="deploy 12 succeeded.")


def test_go_at_once_runs_the_command_and_reports_the_outcome(tmp_path: Path) -> None:
    server = ScriptedServer({"deploys": [GO], "finish": [FINISHED]})
    code, lines, marker = run(server, tmp_path)
    assert code == 0 and marker.exists()
    [finish] = server.called("finish")
    assert finish["json"]["exit_code"] == 0 and finish["json"]["fencing_token"] == 7
    assert any(line.startswith("done: exit code 0") for line in lines)


def test_the_request_carries_the_plan_and_the_ci_context(tmp_path: Path) -> None:
    server = ScriptedServer({"deploys": [GO], "finish": [FINISHED]})
    run(server, tmp_path)
    [request] = server.called("deploys")
    body = request["json"]
    assert (body["environment"], body["branch"], body["commit"]) == ("dev", "main", "1a2b3c4d")
    assert body["plan"] == "eyJmb3JtYXRfdmVyc2lvbiI6ICIxLjIifQ=="  # base64 of the bytes


@pytest.mark.parametrize(
    ("reason", "code"),
    [
        ("held", 75),
        ("reserved", 75),
        ("frozen", 75),
        ("superseded", 75),
        ("wait-expired", 75),
        ("blocked", 77),
        ("denied", 77),
    ],
)
def test_a_refusal_exits_at_once_with_its_code_and_never_runs(
    tmp_path: Path, reason: str, code: int
) -> None:
    message = "dev is held by platform-eng since 13:00 until 17:00: renaming cognito pool."
    refused = answer(
        "refused", state="refused", reason=reason, message=message, whom="platform-eng"
    )
    server = ScriptedServer({"deploys": [refused]})
    exit_code, lines, marker = run(server, tmp_path)
    assert exit_code == code and not marker.exists()
    assert lines[-1] == f"refused ({reason}): {message} [exit {code}]"
    assert not server.called("decision")


def test_needs_approval_shows_how_to_approve_then_goes_once_approved(tmp_path: Path) -> None:
    waiting = answer(
        "needs-approval",
        state="awaiting-approval",
        version=4,
        analysis=ANALYSIS,
        link="http://sb/deploys/12",
        recheck_at="2026-11-26T15:00:00Z",
        message="The plan needs an approver.",
    )
    server = ScriptedServer({"deploys": [waiting], "decision": [GO], "finish": [FINISHED]})
    code, lines, marker = run(server, tmp_path)
    assert code == 0 and marker.exists()
    assert any(
        "approve with `signalbox approve 12` or open http://sb/deploys/12" in line for line in lines
    )
    [poll] = server.called("decision")
    assert poll["params"]["since"] == 4 and poll["params"]["recheck_at"] == "2026-11-26T15:00:00Z"
    assert 1 <= poll["params"]["wait"] <= 25  # the server holds the request; no tight loop


def test_approval_not_given_within_wait_cancels_and_exits_76(tmp_path: Path) -> None:
    clock = Clock()
    waiting = answer("needs-approval", state="awaiting-approval", link="http://sb/deploys/12")

    class SlowServer(ScriptedServer):
        def __call__(self, method: str, path: str, **options: Any) -> Mapping[str, Any]:
            if path.endswith("decision"):
                clock.now += options["params"]["wait"]  # the server held it that long
            return super().__call__(method, path, **options)

    timed_out = answer(
        "refused",
        state="expired",
        reason="approval-expired",
        message="Nobody approved deploy 12 within the wait.",
    )
    server = SlowServer({"deploys": [waiting], "decision": [waiting] * 10, "cancel": [timed_out]})
    code, _lines, marker = run(server, tmp_path, wait=60, clock=clock)
    assert code == 76 and not marker.exists()
    assert server.called("cancel")[0]["json"] == {"reason": "approval-expired"}
    assert len(server.called("decision")) == 3  # 25 + 25 + 10 seconds, then give up


def test_queue_wait_expired_exits_75_and_prints_the_position(tmp_path: Path) -> None:
    queued = answer("wait", position=2, message="Queued behind deploy 11 (running).")
    expired = answer(
        "refused",
        state="expired",
        reason="wait-expired",
        message="Deploy 12 waited 0s in the queue and gave up.",
    )
    server = ScriptedServer({"deploys": [queued], "cancel": [expired]})
    code, lines, _marker = run(server, tmp_path, wait=0)
    assert code == 75
    assert "waiting at position 2: Queued behind deploy 11 (running)." in lines


def test_the_child_exit_code_is_the_gate_exit_code(tmp_path: Path) -> None:
    server = ScriptedServer({"deploys": [GO], "finish": [FINISHED]})
    request = GateRequest(
        environment="dev",
        context=CiContext(),
        command=[sys.executable, "-c", "raise SystemExit(9)"],
    )
    code = run_gate(GateApi(server), request, say=lambda _: None, handle_signals=False)
    assert code == 9
    assert server.called("finish")[0]["json"]["exit_code"] == 9


def test_the_analysis_summary_names_findings_and_counts() -> None:
    lines = render_analysis(ANALYSIS)
    assert lines[0] == "plan: needs-approval"
    assert "1 create, 1 delete, 3 no-op" in lines[1]
    assert "stateful-destroy: aws_cognito_user_pool.main is destroyed" in lines[2]
    assert render_analysis(None)[0].startswith("plan: none given")


def test_an_unchanged_answer_keeps_waiting_on_the_last_one(tmp_path: Path) -> None:
    queued = answer("wait", position=1, version=5, message="Queued behind deploy 11.")
    server = ScriptedServer(
        {
            "deploys": [queued],
            "decision": [{"unchanged": True, "version": 5}, GO],
            "finish": [FINISHED],
        }
    )
    code, lines, marker = run(server, tmp_path)
    assert code == 0 and marker.exists()
    assert [poll["params"]["since"] for poll in server.called("decision")] == [5, 5]
    assert sum(line.startswith("waiting") for line in lines) == 1  # said once, not per poll


class FlakyServer(ScriptedServer):
    """Cannot be reached for the first ``failures`` long-polls (a restart)."""

    def __init__(self, script: Mapping[str, list[dict]], failures: int) -> None:
        super().__init__(script)
        self.failures = failures

    def __call__(self, method: str, path: str, **options: Any) -> Mapping[str, Any]:
        if path.endswith("decision") and self.failures:
            self.failures -= 1
            raise ServerUnreachable("connection refused.")
        return super().__call__(method, path, **options)


def test_a_server_restart_while_waiting_is_ridden_out(tmp_path: Path) -> None:
    queued = answer("wait", position=1, message="Queued.")
    server = FlakyServer({"deploys": [queued], "decision": [GO], "finish": [FINISHED]}, 3)
    slept: list[float] = []
    request = GateRequest(
        environment="dev",
        context=CiContext(),
        command=[sys.executable, "-c", "pass"],
        wait_seconds=600,
    )
    lines: list[str] = []
    code = run_gate(
        GateApi(server),
        request,
        say=lines.append,
        sleep=slept.append,
        clock=Clock(),
        handle_signals=False,
    )
    assert code == 0
    assert slept == [1.0, 2.0, 4.0]
    assert sum("Asking again" in line for line in lines) == 3


def test_an_unreachable_server_past_the_wait_exits_1(tmp_path: Path) -> None:
    queued = answer("wait", position=1, message="Queued.")
    server = FlakyServer({"deploys": [queued]}, failures=100)
    request = GateRequest(environment="dev", context=CiContext(), command=["true"], wait_seconds=5)
    with pytest.raises(ServerUnreachable):  # cli.main prints it and exits 1
        run_gate(
            GateApi(server),
            request,
            say=lambda _: None,
            sleep=lambda _: None,
            clock=Clock(),
            handle_signals=False,
        )


def test_a_server_that_answers_unchanged_at_once_is_not_asked_in_a_tight_loop(
    tmp_path: Path,
) -> None:
    queued = answer("wait", position=1, version=5, message="Queued.")
    unchanged = {"unchanged": True, "version": 5}
    server = ScriptedServer(
        {"deploys": [queued], "decision": [unchanged] * 3 + [GO], "finish": [FINISHED]}
    )
    slept: list[float] = []
    request = GateRequest(
        environment="dev", context=CiContext(), command=[sys.executable, "-c", "pass"]
    )
    code = run_gate(
        GateApi(server),
        request,
        say=lambda _: None,
        sleep=slept.append,
        clock=Clock(),
        handle_signals=False,
    )
    assert code == 0
    assert slept == [1.0, 1.0, 1.0]  # one pause after each instant "unchanged"


@pytest.mark.parametrize(
    ("context", "shown"),
    [
        (
            CiContext(commit="1a2b3c4d5e6f7a8b", branch="main", actor="ci-dev"),
            " (main @ 1a2b3c4d5e6f, by ci-dev)",
        ),
        (CiContext(branch="main"), " (main)"),
        (CiContext(actor="alice"), " (by alice)"),
        (CiContext(), ""),
    ],
)
def test_the_header_shows_only_the_ci_context_that_is_known(context, shown):
    from signalbox.cli.gate_flow import _origin

    request = GateRequest(environment="dev", context=context, command=["true"])
    assert _origin(request) == shown


def test_a_hotfix_gate_sends_the_incident_and_says_so_first(tmp_path: Path) -> None:
    server = ScriptedServer({"deploys": [GO], "finish": [FINISHED]})
    marker = tmp_path / "applied"
    request = GateRequest(
        environment="dev",
        context=CiContext(commit="1a2b3c4d", branch="fix-pool", actor="alice"),
        command=[sys.executable, "-c", f"open({str(marker)!r}, 'w').write('x')"],
        hotfix=3,
    )
    lines: list[str] = []
    code = run_gate(
        GateApi(server), request, say=lines.append, sleep=lambda _s: None, handle_signals=False
    )
    assert code == 0 and marker.exists()
    [asked] = server.called("deploys")
    assert asked["json"]["hotfix"] == 3
    assert (
        lines[0]
        == "signalbox gate: dev, hotfix of incident 3, deploy 12 (fix-pool @ 1a2b3c4d, by alice)"
    )


def test_an_ordinary_gate_sends_no_hotfix(tmp_path: Path) -> None:
    server = ScriptedServer({"deploys": [GO], "finish": [FINISHED]})
    _code, lines, _marker = run(server, tmp_path)
    [asked] = server.called("deploys")
    assert "hotfix" not in asked["json"] and "hotfix" not in lines[0]


class HoldingServer(ScriptedServer):
    """Holds each long-poll as long as asked (on the injected clock), as the real one does
    when nothing changes."""

    def __init__(self, script: Mapping[str, list[dict]], clock: Clock) -> None:
        super().__init__(script)
        self.clock = clock

    def __call__(self, method: str, path: str, **options: Any) -> Mapping[str, Any]:
        if path.endswith("decision"):
            self.clock.now += options["params"]["wait"]
        return super().__call__(method, path, **options)


QUEUED_BEHIND_14 = answer(
    "wait",
    position=2,
    version=5,
    whom="ci",
    ahead=14,
    expected_wait_seconds=12 * 60 + 30,
    message="Deploy 12 is number 2 in the queue for dev, behind deploy 14 (main by ci).",
)
UNCHANGED = {"unchanged": True, "version": 5}


def test_a_waiting_gate_says_it_still_waits_every_minute(tmp_path: Path) -> None:
    clock = Clock()
    polls = 7  # 25 s each: 175 s of waiting
    server = HoldingServer(
        {
            "deploys": [QUEUED_BEHIND_14],
            "decision": [UNCHANGED] * polls + [GO],
            "finish": [FINISHED],
        },
        clock,
    )
    code, lines, marker = run(server, tmp_path, clock=clock)
    assert code == 0 and marker.exists()
    still = [line for line in lines if line.startswith("still waiting")]
    # a line at 75 s and at 150 s, the estimate counting down from the server's 12m30s
    assert still == [
        "still waiting: position 2 behind deploy 14 by ci, about 11 min",
        "still waiting: position 2 behind deploy 14 by ci, about 10 min",
    ]


def test_the_still_waiting_line_leaves_out_an_estimate_it_does_not_have(tmp_path: Path) -> None:
    clock = Clock()
    unknown = answer("wait", position=1, version=5, message="Queued.", ahead=3, whom="ci")
    short = answer(
        "wait",
        position=1,
        version=5,
        message="Queued.",
        ahead=3,
        whom="ci",
        expected_wait_seconds=30,
    )
    for first in (unknown, short):  # none given; one that ran out while waiting
        server = HoldingServer(
            {"deploys": [first], "decision": [UNCHANGED] * 3 + [GO], "finish": [FINISHED]},
            clock,
        )
        _code, lines, _marker = run(server, tmp_path, clock=clock)
        assert "still waiting: position 1 behind deploy 3 by ci" in lines


def test_a_gate_waiting_for_an_approval_says_so_every_minute(tmp_path: Path) -> None:
    clock = Clock()
    waiting = answer(
        "needs-approval", state="awaiting-approval", version=5, link="http://sb/deploys/12"
    )
    server = HoldingServer(
        {"deploys": [waiting], "decision": [UNCHANGED] * 3 + [GO], "finish": [FINISHED]},
        clock,
    )
    _code, lines, _marker = run(server, tmp_path, clock=clock)
    assert (
        lines.count(
            "still waiting for an approval: `signalbox approve 12` or open http://sb/deploys/12"
        )
        == 1
    )
