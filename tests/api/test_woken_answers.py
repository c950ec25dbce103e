"""The gates woken by one change are answered from one decision of their environment
(``api.longpoll.woken_answer``, reached through ``api.parked_polls``): each gets exactly what
the route decides, a decision never outlives a further change, a revoked token is refused."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace

import httpx
import pytest
from tests.api.conftest import ADMIN
from tests.api.test_deploys_api import request

from signalbox.api.context import Server


@pytest.fixture
def settings(settings):
    return replace(settings, longpoll_seconds=600)  # a wait ends by a wake-up, not a timeout


@pytest.fixture
def ci(token_for):
    return token_for("ci-dev", "developer:dev", ci=True)


def _decision(deploy_id: int) -> str:
    return f"/api/deploys/{deploy_id}/decision"


def _queue(client, ci, branches: str) -> tuple[dict, list[dict]]:
    """A running deploy and one waiting behind it per branch, each asked about once through
    the route (so that this process knows its token and environment, and parks its
    re-polls before the framework)."""
    running = request(client, ci, branch="running")
    waiting = [request(client, ci, branch=branch) for branch in branches]
    for answer in waiting:
        params = {"since": answer["version"], "wait": 0}
        polled = client.get(_decision(answer["deploy"]["id"]), params=params, headers=ci)
        assert polled.json()["unchanged"] is True
    return running, waiting


def _finish(client, ci, running: dict) -> None:
    finished = client.post(
        f"/api/deploys/{running['deploy']['id']}/finish",
        headers=ci,
        json={"fencing_token": running["fencing_token"], "exit_code": 0, "duration_seconds": 60},
    )
    assert finished.json()["decision"] == "finished"


def _woken(client, ci, answer: dict) -> httpx.Response:
    """The re-poll of a gate whose last answer was ``answer`` (the environment has changed
    since: it is answered at once)."""
    params = {"since": answer["version"], "wait": 600}
    return client.get(_decision(answer["deploy"]["id"]), params=params, headers=ci)


def test_each_woken_gate_gets_exactly_what_the_route_decides(app, client, ci) -> None:
    running, waiting = _queue(client, ci, "abc")
    _finish(client, ci, running)
    woken = [_woken(client, ci, answer) for answer in waiting]
    assert [answer.json()["decision"] for answer in woken] == ["go", "wait", "wait"]
    assert [answer.json()["position"] for answer in woken[1:]] == [1, 2]
    context: Server = app.state.server
    version = woken[0].json()["version"]
    made = context.batches.latest("dev", at_least=version, now=context.now())
    assert made is not None and made.version == version  # one decision answered them
    for answer, body in zip(waiting[1:], woken[1:], strict=True):
        assert body.content == made.bodies[answer["deploy"]["id"]]
    # the route deciding each alone (a first ask: no `since`) says the same, byte for byte
    for answer, body in zip(waiting, woken, strict=True):
        alone = client.get(_decision(answer["deploy"]["id"]), headers=ci)
        assert json.loads(alone.content) == json.loads(body.content)


def test_a_deploy_that_may_go_but_was_not_asking_is_decided_by_the_route(client, ci) -> None:
    running, (first, second) = _queue(client, ci, "ab")
    _finish(client, ci, running)
    behind = _woken(client, ci, second).json()  # the first's gate is not asking: not started
    assert (behind["decision"], behind["position"], behind["ahead"]) == (
        "wait",
        2,
        first["deploy"]["id"],
    )
    went = _woken(client, ci, first).json()  # its decision has no answer for it: the route's
    assert went["decision"] == "go" and went["fencing_token"] == running["fencing_token"] + 1


def test_a_decision_is_never_served_after_a_further_change(client, ci) -> None:
    running, (first, second, third) = _queue(client, ci, "abc")
    _finish(client, ci, running)
    assert _woken(client, ci, first).json()["decision"] == "go"
    before = _woken(client, ci, third).json()
    assert before["position"] == 2
    cancelled = client.post(
        f"/api/deploys/{second['deploy']['id']}/cancel", headers=ci, json={"reason": "interrupted"}
    )
    assert cancelled.json()["decision"] == "refused"
    # asked from before every change: the decision that told it "2" no longer holds
    after = _woken(client, ci, third).json()
    assert after["version"] > before["version"]
    assert (after["decision"], after["position"]) == ("wait", 1)
    again = _woken(client, ci, before).json()  # and from the version of that decision
    assert (again["version"], again["position"]) == (after["version"], 1)


def test_a_token_revoked_while_its_gate_waits_is_refused_when_woken(app) -> None:
    """The gate parks with a valid token; the token is revoked and the environment changes
    while it waits: woken, it gets the route's 401, not the environment's decision."""

    async def scenario() -> tuple[int, str]:
        context: Server = app.state.server
        transport = httpx.ASGITransport(app=app)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=transport, base_url="http://signalbox") as client,
        ):
            created = await client.post(
                "/api/tokens",
                headers=ADMIN,
                json={"name": "ci-dev", "grants": ["developer:dev"], "ci": True},
            )
            ci = {"Authorization": f"Bearer {created.json()['token']}"}
            running = (await client.post("/api/deploys", headers=ci, json=_body("r"))).json()
            waiting = (await client.post("/api/deploys", headers=ci, json=_body("a"))).json()
            path = _decision(waiting["deploy"]["id"])
            primed = await client.get(path, params={"since": waiting["version"], "wait": 0})
            assert primed.status_code == 401  # (no token: refused by the route)
            primed = await client.get(
                path, params={"since": waiting["version"], "wait": 0}, headers=ci
            )
            assert primed.json()["unchanged"] is True  # the route now knows token and deploy
            parked = asyncio.create_task(
                client.get(path, params={"since": waiting["version"], "wait": 600}, headers=ci)
            )
            while waiting["deploy"]["id"] not in context.feed.waiting_deploys():
                await asyncio.sleep(0)  # until it is parked
            revoked = await client.delete("/api/tokens/ci-dev", headers=ADMIN)
            assert revoked.status_code == 200
            finished = await client.post(
                f"/api/deploys/{running['deploy']['id']}/finish",
                headers=ci,  # revoked: the change is made by the admin instead
                json={"fencing_token": running["fencing_token"], "exit_code": 0},
            )
            assert finished.status_code == 401
            cancelled = await client.post(
                f"/api/deploys/{running['deploy']['id']}/cancel",
                headers=ADMIN,
                json={"reason": "interrupted"},
            )
            assert cancelled.status_code in (200, 409), cancelled.text
            feed = context.feed
            feed.notify("dev", feed.version("dev") + 1)  # the change reached this process
            woken = await asyncio.wait_for(parked, 30)
            return woken.status_code, woken.json().get("code", "")

    assert asyncio.run(scenario()) == (401, "unauthenticated")


def _body(branch: str) -> dict[str, object]:
    return {"environment": "dev", "branch": branch, "commit": "c0ffee123", "plan": None}


def test_a_refusal_is_told_once_from_the_decision_then_by_the_route(client, ci, token_for):
    """A decision's refusals go to the gates that waited for it; a gate asking later is
    answered by the route (the refusal as stored), never from the kept decision."""
    engineer = token_for("platform-eng", "developer:dev")
    running, (first, second) = _queue(client, ci, "ab")
    _finish(client, ci, running)
    held = client.post(
        "/api/environments/dev/hold", headers=engineer, json={"reason": "pool", "duration": "4h"}
    )
    assert held.status_code in (200, 201), held.text
    told = _woken(client, ci, first).json()  # it started the decision: told every reason
    assert (told["decision"], told["reason"], told["whom"]) == ("refused", "held", "platform-eng")
    later = _woken(client, ci, second)
    alone = client.get(_decision(second["deploy"]["id"]), headers=ci)
    assert later.json()["decision"] == "refused"
    assert json.loads(later.content) == json.loads(alone.content)
