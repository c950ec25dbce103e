"""The postmortem and follow-up actions over HTTP (in-process app, real database, fake clock)."""

from __future__ import annotations

from datetime import timedelta

from markdown_it import MarkdownIt
from tests.api.conftest import ADMIN

from signalbox.core.postmortem import from_plain
from signalbox.core.views import Principal
from signalbox.services.incidents.open import open_incident

GITHUB = MarkdownIt("commonmark", {"html": False}).enable("table")


def opened(app, clock, environment="dev"):
    """An incident opened by alice on ``environment``; its id."""
    context = app.state.server
    incident = open_incident(
        context.engine,
        context.settings,
        environment=environment,
        title="users cannot log in",
        severity="sev1",
        opener=Principal("alice", is_ci=False),
        now=clock.now(),
    )
    return incident.view.id


def test_the_postmortem_as_json_and_as_markdown(client, app, clock, token_for):
    incident_id = opened(app, clock)
    clock.advance(timedelta(minutes=5))
    reader = token_for("coo", "stakeholder:dev")
    answer = client.get(f"/api/incidents/{incident_id}/postmortem", headers=reader)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    drafted = from_plain(answer.json())
    assert drafted.incident_id == incident_id and drafted.duration_seconds == 300
    assert drafted.timeline[-1].kind == "incident.opened"
    markdown = client.get(
        f"/api/incidents/{incident_id}/postmortem",
        params={"format": "markdown", "since": "1h"},
        headers=reader,
    )
    assert markdown.status_code == 200
    assert markdown.headers["content-type"].startswith("text/markdown")
    html = GITHUB.render(markdown.text)
    assert html.startswith(f"<h1>Postmortem: incident {incident_id} on dev")
    assert "<table>" in html and "<h2>Follow-up actions</h2>" in html


def test_a_postmortem_needs_read_access_and_a_known_incident_and_window(
    client, app, clock, token_for
):
    incident_id = opened(app, clock)
    outsider = token_for("prod-only", "developer:prod")
    refused = client.get(f"/api/incidents/{incident_id}/postmortem", headers=outsider)
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden"
    missing = client.get("/api/incidents/999/postmortem", headers=ADMIN)
    assert missing.status_code == 404 and missing.json()["code"] == "unknown-incident"
    bad = client.get(f"/api/incidents/{incident_id}/postmortem?since=soon", headers=ADMIN)
    assert bad.status_code == 422 and "duration" in bad.json()["detail"]
    wide = client.get(f"/api/incidents/{incident_id}/postmortem?since=30d", headers=ADMIN)
    assert wide.status_code == 422 and wide.json()["field"] == "since"
    odd = client.get(f"/api/incidents/{incident_id}/postmortem?format=pdf", headers=ADMIN)
    assert odd.status_code == 422


def test_developers_add_and_set_actions_stakeholders_only_read_them(client, app, clock, token_for):
    incident_id = opened(app, clock)
    developer = token_for("bob", "developer:dev")
    stakeholder = token_for("coo", "stakeholder:dev")
    body = {"text": "turn on deletion protection", "owner": "bob", "due": "2026-11-20"}
    refused = client.post(f"/api/incidents/{incident_id}/actions", json=body, headers=stakeholder)
    assert refused.status_code == 403
    added = client.post(f"/api/incidents/{incident_id}/actions", json=body, headers=developer)
    assert added.status_code == 201, added.text
    action = added.json()
    assert (action["status"], action["owner"], action["overdue"]) == ("proposed", "bob", True)
    assert action["environment"] == "dev" and action["created_by"] == "bob"
    change = {"status": "in-progress", "note": "PR open"}
    assert (
        client.post(f"/api/actions/{action['id']}", json=change, headers=stakeholder).status_code
        == 403
    )
    updated = client.post(f"/api/actions/{action['id']}", json=change, headers=developer)
    assert updated.status_code == 200 and updated.json()["note"] == "PR open"
    listed = client.get("/api/actions", params={"open": "true"}, headers=stakeholder).json()
    assert [(a["id"], a["status"]) for a in listed["actions"]] == [(action["id"], "in-progress")]
    done = client.post(f"/api/actions/{action['id']}", json={"status": "done"}, headers=developer)
    assert done.json()["overdue"] is False
    assert client.get("/api/actions?open=true", headers=developer).json()["actions"] == []
    mine = client.get(f"/api/actions?incident={incident_id}", headers=developer).json()
    assert len(mine["actions"]) == 1
    drafted = client.get(f"/api/incidents/{incident_id}/postmortem", headers=developer).json()
    assert [(a["id"], a["status"]) for a in drafted["actions"]] == [(action["id"], "done")]


def test_actions_of_environments_one_cannot_read_are_not_listed(client, app, clock, token_for):
    dev_incident = opened(app, clock)
    client.post(f"/api/incidents/{dev_incident}/actions", json={"text": "x"}, headers=ADMIN)
    prod_only = token_for("ops", "developer:prod")
    assert client.get("/api/actions", headers=prod_only).json()["actions"] == []
    hidden = client.get(f"/api/actions?incident={dev_incident}", headers=prod_only)
    assert hidden.status_code == 403


def test_bad_actions_are_refused_with_the_field(client, app, clock):
    incident_id = opened(app, clock)
    url = f"/api/incidents/{incident_id}/actions"
    empty = client.post(url, json={"text": " "}, headers=ADMIN)
    assert empty.status_code == 422 and empty.json()["field"] == "text"
    late = client.post(url, json={"text": "x", "due": "soon"}, headers=ADMIN)
    assert late.status_code == 422 and late.json()["field"] == "due"
    assert (
        client.post("/api/incidents/999/actions", json={"text": "x"}, headers=ADMIN).status_code
        == 404
    )
    assert (
        client.post("/api/actions/999", json={"status": "done"}, headers=ADMIN).status_code == 404
    )
    added = client.post(url, json={"text": "x"}, headers=ADMIN).json()
    wrong = client.post(f"/api/actions/{added['id']}", json={"status": "finished"}, headers=ADMIN)
    assert wrong.status_code == 422 and "in-progress" in wrong.json()["hint"]
    assert client.get("/api/actions", headers=ADMIN).json()["actions"][0]["status"] == "proposed"


def test_the_markdown_answer_is_documented(client):
    spec = client.get("/openapi.json").json()
    answer = spec["paths"]["/api/incidents/{incident_id}/postmortem"]["get"]["responses"]["200"]
    assert set(answer["content"]) == {"application/json", "text/markdown"}
