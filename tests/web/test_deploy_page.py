"""The deploy page in process: what it says of a routine and of a needs-approval deploy, its
findings grouped, who is offered Approve and Deny, and that every POST is checked again on the
server and changes nothing when refused."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import pytest
from tests.api.conftest import ADMIN, token_for  # noqa: F401  (fixture)
from tests.core.plan.builders import plan_bytes, resource
from tests.support.incidents import insert_incident

ROOT = Path(__file__).resolve().parents[2]
ROUTINE = (ROOT / "examples/plans/routine-frontend-change.json").read_bytes()
COGNITO = (ROOT / "examples/plans/cognito-renamed-without-moved.json").read_bytes()

WORKERS = plan_bytes(  # twelve workers gone for the same reason, and a database
    *(
        resource(
            f"terraform_data.worker[{n}]",
            ["delete"],
            before={"input": "x"},
            action_reason="delete_because_count_index",
        )
        for n in (10, 2, 0, 11, 1, 3, 4, 5, 6, 7, 8, 9)
    ),
    resource(
        "aws_db_instance.orders",
        ["delete"],
        before={"deletion_protection": False, "password": "hunter2"},
        action_reason="delete_because_no_resource_config",
    ),
)


@pytest.fixture
def ci(token_for):  # noqa: F811
    return token_for("ci-dev", "developer:dev", ci=True)


def request_deploy(client, headers, plan: bytes | None, *, branch="main", run_url="https://ci/1"):
    body = {
        "environment": "dev",
        "branch": branch,
        "commit": "c0ffee1234567",
        "actor": "frontend-dev",
        "run_url": run_url,
        "plan": base64.b64encode(plan).decode() if plan is not None else None,
        "plan_source": "plan.json",
    }
    answer = client.post("/api/deploys", headers=headers, json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()


def api_deploy(client, deploy_id: int) -> dict:
    return client.get(f"/api/deploys/{deploy_id}", headers=ADMIN).json()


def events(client) -> list[str]:
    return [e["kind"] for e in client.get("/api/events?env=dev", headers=ADMIN).json()["events"]]


def text_of(html: str) -> str:
    """The page's words without tags, spaces collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))


def test_a_routine_deploy_says_who_what_and_that_no_approval_is_needed(client, ci, browser_for):
    go = request_deploy(client, ci, ROUTINE)
    deploy_id = go["deploy"]["id"]
    page = browser_for("coo", "stakeholder:dev").get(f"/deploys/{deploy_id}")
    assert page.status_code == 200
    assert f"<title>deploy {deploy_id} to dev · signalbox</title>" in page.text
    words = text_of(page.text)
    assert f"Deploy {deploy_id} to dev" in words
    assert "ci-dev (a CI token), for frontend-dev, who started the pipeline" in words
    assert "c0ffee1234567" in words and "main" in words
    assert '<a href="https://ci/1"' in page.text
    assert '<a href="/environments/dev">dev</a>' in page.text
    assert "State Running." in words
    assert "Routine. Nothing in this plan needs an approval." in words
    assert "Not needed: the plan is routine." in words
    assert "Approve deploy" not in page.text and "Deny deploy" not in page.text
    # the time in dev's zone (Berlin), with the UTC instant for the browser
    assert re.search(r'<time datetime="2026-11-26T\d\d:\d\d:\d\dZ"', page.text)


def test_a_pipeline_link_that_is_not_http_is_not_a_link(client, ci, browser_for):
    go = request_deploy(client, ci, ROUTINE, run_url="javascript:alert(1)")
    page = browser_for("coo", "stakeholder:dev").get(f"/deploys/{go['deploy']['id']}")
    assert "javascript:" not in page.text
    assert "Pipeline" not in text_of(page.text)


def test_a_needs_approval_deploy_shows_its_findings_grouped_and_its_moved_block(
    client, ci, browser_for
):
    waiting = request_deploy(client, ci, COGNITO)
    assert waiting["decision"] == "needs-approval"
    deploy_id = waiting["deploy"]["id"]
    page = browser_for("coo", "stakeholder:dev").get(f"/deploys/{deploy_id}")
    words = text_of(page.text)
    assert "State Awaiting approval." in words
    assert "Needs approval. This plan changes something that is hard to undo" in words
    assert "Awaiting approval from an approver other than ci-dev" in words
    # most severe first, in words (not only in colour)
    labels = ("High stateful-destroy on", "Medium probable-rename on", "Low replace on")
    order = [words.index(label) for label in labels]
    assert order == sorted(order)
    assert "aws_cognito_user_pool.main is destroyed because its configuration was removed" in words
    assert (
        '<pre class="moved"><code>moved {\n  from = aws_cognito_user_pool.main\n'
        "  to   = aws_cognito_user_pool.users\n}\n</code></pre>"
    ) in page.text
    assert "was aws_cognito_user_pool.main" in words
    assert "add a <code>moved</code> block" in page.text  # the hint's code, not backticks
    assert "hunter2" not in page.text


def test_many_addresses_for_one_cause_are_one_group_in_natural_order(client, ci, browser_for):
    waiting = request_deploy(client, ci, WORKERS)
    page = browser_for("lead", "approver:dev").get(f"/deploys/{waiting['deploy']['id']}")
    words = text_of(page.text)
    assert "Changes: 13 to delete." in words
    assert "Low delete on terraform_data (12 addresses)" in words
    assert words.count("because its count index is no longer in range") == 1  # said once
    shown = re.findall(r"<code>(terraform_data\.worker\[\d+\])</code>", page.text)
    assert shown == [f"terraform_data.worker[{n}]" for n in range(12)]  # 0..7, then the rest
    assert "and 4 more" in words
    assert words.index("High stateful-destroy on aws_db_instance") < words.index("Low delete")
    assert "hunter2" not in page.text


def test_the_requester_sees_no_buttons_and_an_approver_does(client, ci, browser_for):
    waiting = request_deploy(client, ci, COGNITO)
    deploy_id = waiting["deploy"]["id"]
    # the actor who started the pipeline is its requester too
    actor = browser_for("frontend-dev", "approver:dev").get(f"/deploys/{deploy_id}")
    assert "Approve deploy" not in actor.text
    assert "You asked for this deploy, so another approver must approve it." in actor.text
    lead = browser_for("lead", "approver:dev").get(f"/deploys/{deploy_id}")
    assert f"Approve deploy {deploy_id}</button>" in lead.text
    assert f"Deny deploy {deploy_id}</button>" in lead.text
    assert '<label for="deny-reason">' in lead.text and 'id="deny-reason"' in lead.text
    viewer = browser_for("coo", "stakeholder:dev").get(f"/deploys/{deploy_id}")
    assert "Approve deploy" not in viewer.text


def test_an_approval_redirects_with_a_notice_and_the_api_shows_it(client, ci, browser_for):
    waiting = request_deploy(client, ci, COGNITO)
    deploy_id = waiting["deploy"]["id"]
    lead = browser_for("lead", "approver:dev")
    answer = lead.post(
        f"/deploys/{deploy_id}/approve",
        data={"csrf": lead.form_token, "reason": "moved block follows"},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/deploys/{deploy_id}?done=approved"
    page = lead.get(answer.headers["location"])
    words = text_of(page.text)
    assert "You approved this deploy." in words
    assert "Approved by lead" in words and "moved block follows" in words
    assert "Approve deploy" not in page.text  # decided: nothing left to offer
    assert "approval.granted" in events(client)
    again = client.get(f"/api/deploys/{deploy_id}/decision", headers=ci).json()
    assert again["decision"] == "go"
    assert api_deploy(client, deploy_id)["state"] == "running"


def test_a_denial_needs_a_reason_checked_on_the_server(client, ci, browser_for):
    waiting = request_deploy(client, ci, COGNITO)
    deploy_id = waiting["deploy"]["id"]
    lead = browser_for("lead", "approver:dev")
    empty = lead.post(f"/deploys/{deploy_id}/deny", data={"csrf": lead.form_token, "reason": "   "})
    assert empty.status_code == 422
    assert '<p class="problem" role="alert" id="decision-problem">' in empty.text
    assert "A denial needs a reason" in empty.text
    assert "approval.denied" not in events(client)
    assert api_deploy(client, deploy_id)["state"] == "awaiting-approval"

    denied = lead.post(
        f"/deploys/{deploy_id}/deny",
        data={"csrf": lead.form_token, "reason": "add the moved block"},
        follow_redirects=False,
    )
    assert denied.headers["location"] == f"/deploys/{deploy_id}?done=denied"
    words = text_of(lead.get(denied.headers["location"]).text)
    assert "You denied this deploy." in words
    assert "Denied by lead" in words and "add the moved block" in words
    assert "approval.denied" in events(client)
    answer = client.get(f"/api/deploys/{deploy_id}/decision", headers=ci).json()
    assert (answer["decision"], answer["reason"]) == ("refused", "denied")


def test_a_stakeholders_forged_approval_is_refused_and_changes_nothing(client, ci, browser_for):
    waiting = request_deploy(client, ci, COGNITO)
    deploy_id = waiting["deploy"]["id"]
    coo = browser_for("coo", "stakeholder:dev")
    forged = coo.post(f"/deploys/{deploy_id}/approve", data={"csrf": coo.form_token})
    assert forged.status_code == 403
    assert "coo" in forged.text and "approver:dev" in forged.text
    assert "approval.granted" not in events(client)
    assert api_deploy(client, deploy_id)["state"] == "awaiting-approval"


def test_the_requester_cannot_approve_their_own_deploy_by_post(client, ci, browser_for):
    waiting = request_deploy(client, ci, COGNITO)
    deploy_id = waiting["deploy"]["id"]
    actor = browser_for("frontend-dev", "approver:dev")
    own = actor.post(f"/deploys/{deploy_id}/approve", data={"csrf": actor.form_token})
    assert own.status_code == 403
    assert "another approver must approve it" in own.text
    assert "approval.granted" not in events(client)


def test_a_post_without_the_form_token_is_refused_and_changes_nothing(client, ci, browser_for):
    waiting = request_deploy(client, ci, COGNITO)
    deploy_id = waiting["deploy"]["id"]
    lead = browser_for("lead", "approver:dev")
    missing = lead.post(f"/deploys/{deploy_id}/approve", data={"reason": "x"})
    assert missing.status_code == 403
    wrong = lead.post(f"/deploys/{deploy_id}/approve", data={"csrf": "not-the-token"})
    assert wrong.status_code == 403
    assert "approval.granted" not in events(client)
    assert api_deploy(client, deploy_id)["state"] == "awaiting-approval"


def test_a_decided_deploy_cannot_be_decided_again(client, ci, browser_for):
    go = request_deploy(client, ci, ROUTINE)
    lead = browser_for("lead", "approver:dev")
    client.post(
        f"/api/deploys/{go['deploy']['id']}/finish",
        headers=ci,
        json={"fencing_token": go["fencing_token"], "exit_code": 0, "duration_seconds": 5},
    )
    late = lead.post(f"/deploys/{go['deploy']['id']}/approve", data={"csrf": lead.form_token})
    assert late.status_code == 409
    assert "there is nothing left to approve or deny" in late.text


def test_unknown_deploy_and_other_environments(client, token_for, browser_for):  # noqa: F811
    viewer = browser_for("coo", "stakeholder:dev")
    missing = viewer.get("/deploys/999")
    assert missing.status_code == 404 and "There is no deploy 999." in missing.text
    prod_ci = token_for("ci-prod", "developer:prod", ci=True)
    answer = client.post(
        "/api/deploys",
        headers=prod_ci,
        json={"environment": "prod", "plan": base64.b64encode(ROUTINE).decode()},
    ).json()
    hidden = viewer.get(f"/deploys/{answer['deploy']['id']}")
    assert hidden.status_code == 403
    assert "frontend" not in hidden.text


def test_the_page_needs_a_sign_in_and_comes_back_to_it(client, ci):
    waiting = request_deploy(client, ci, COGNITO)
    path = f"/deploys/{waiting['deploy']['id']}"
    answer = client.get(path, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/login?next={path}"


def test_the_commander_of_the_incident_may_approve_its_hotfix_here(
    client, ci, browser_for, database, clock
):
    incident = insert_incident(database, now=clock.now(), responders=["bob"])
    body = {
        "environment": "dev",
        "actor": "bob",
        "hotfix": incident,
        "plan": base64.b64encode(COGNITO).decode(),
    }
    fix = client.post("/api/deploys", headers=ci, json=body).json()
    assert fix["decision"] == "needs-approval"
    deploy_id = fix["deploy"]["id"]
    commander = browser_for("alice", "developer:dev")  # no approver role
    page = commander.get(f"/deploys/{deploy_id}")
    words = text_of(page.text)
    assert f"a hotfix of incident {incident}" in words
    assert "Awaiting approval from alice (the commander of incident" in words
    assert f"Approve deploy {deploy_id}</button>" in page.text
    responder = browser_for("mallory", "developer:dev")
    assert "Approve deploy" not in responder.get(f"/deploys/{deploy_id}").text
    forged = responder.post(f"/deploys/{deploy_id}/approve", data={"csrf": responder.form_token})
    assert forged.status_code == 403
    approved = commander.post(f"/deploys/{deploy_id}/approve", data={"csrf": commander.form_token})
    assert approved.status_code == 200  # followed to the page
    assert f"Approved by alice as commander of incident {incident}" in text_of(approved.text)


def test_backticked_words_in_a_finding_are_code_and_the_rest_is_escaped() -> None:
    from signalbox.web.render import code_spans

    told = code_spans("add a `moved` block; <b>not</b> `terraform untaint` & `x<y>`")
    assert str(told) == (
        "add a <code>moved</code> block; &lt;b&gt;not&lt;/b&gt; <code>terraform untaint</code>"
        " &amp; <code>x&lt;y&gt;</code>"
    )
