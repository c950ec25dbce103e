"""The gate's refusal over HTTP lists every reason (issue 8): ``reasons`` beside the
protocol's ``reason``/``whom``/``until``, every sentence in ``message``."""

from __future__ import annotations

import base64
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COGNITO = base64.b64encode(
    (ROOT / "examples/plans/cognito-renamed-without-moved.json").read_bytes()
).decode()


def test_the_refused_answer_lists_every_reason(client, token_for) -> None:
    engineer = token_for("platform-eng", "developer:dev")
    coo = token_for("coo", "stakeholder:dev")
    ci = token_for("ci-dev", "developer:dev", ci=True)
    held = client.post(
        "/api/environments/dev/hold",
        headers=engineer,
        json={"reason": "renaming cognito pool", "duration": "4h"},
    )
    assert held.status_code in (200, 201), held.text
    booked = client.post(
        "/api/environments/dev/reservations",
        headers=coo,
        json={"starts": "13:15", "ends": "14:15", "reason": "investor demo"},
    )
    assert booked.status_code in (200, 201), booked.text
    body = {
        "environment": "dev",
        "branch": "main",
        "commit": "c0ffee123",
        "actor": "frontend-dev",
        "run_url": "https://ci/1",
        "plan": COGNITO,
        "plan_source": "plan.json",
    }
    answer = client.post("/api/deploys", headers=ci, json=body)
    assert answer.status_code == 200, answer.text
    refused = answer.json()
    assert (refused["decision"], refused["reason"], refused["whom"]) == (
        "refused",
        "held",
        "platform-eng",
    )
    reasons = refused["reasons"]
    assert [(r["reason"], r["whom"]) for r in reasons] == [
        ("held", "platform-eng"),
        ("reserved", "coo"),
        ("needs-approval", None),
    ]
    assert refused["message"] == " ".join(r["message"] for r in reasons)
    assert "17:00 CET" in reasons[0]["message"] and "investor demo" in reasons[1]["message"]
    assert reasons[0]["until"] is not None and reasons[2]["until"] is None
