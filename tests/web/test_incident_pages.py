"""The incident pages in process: the list, an incident's page, who may post to it (as the
API decides), the update, resolve and reopen forms through the same services, and the
postmortem draft as sections and as the CLI's Markdown."""

from __future__ import annotations

import base64
import re
from datetime import timedelta
from pathlib import Path

import pytest
from tests.api.conftest import ADMIN


def open_incident(client, environment: str = "dev", **fields) -> int:
    body = {
        "environment": environment,
        "title": "users cannot log in",
        "severity": "sev1",
        "commander": "alice",
        **fields,
    }
    answer = client.post("/api/incidents", headers=ADMIN, json=body)
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def updates_of(client, number: int) -> list[dict]:
    answer = client.get(f"/api/incidents/{number}", headers=ADMIN)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["updates"])


def section(html: str, heading_id: str) -> str:
    """The text of the <section> labelled by ``heading_id`` (up to the next h2)."""
    start = html.index(f'id="{heading_id}"')
    following = html.find("<h2", start + 1)
    return html[start : following if following != -1 else len(html)]


def test_the_list_shows_open_incidents_first_then_resolved_ones_in_each_zone(client, browser_for):
    old = open_incident(client, "prod", title="payments slow", severity="sev3")
    client.post(f"/api/incidents/{old}/resolve", headers=ADMIN, json={"note": "scaled up"})
    current = open_incident(client, eta="15:28")  # 15:28 in Berlin, 14:28 UTC
    everyone = browser_for("lead", "viewer:*")

    answer = everyone.get("/incidents")
    assert answer.status_code == 200
    assert "<title>Incidents · signalbox</title>" in answer.text
    opened, resolved = (
        section(answer.text, "open-heading"),
        section(answer.text, "resolved-heading"),
    )
    assert f'href="/incidents/{current}">users cannot log in</a>' in opened
    assert "payments slow" not in opened
    assert f'href="/incidents/{old}">payments slow</a>' in resolved
    assert ">sev1<" in opened and ">investigating<" in opened and "<td>alice</td>" in opened
    # dev's times in Berlin (13:00 CET opened, ETA 15:28 CET), prod's in UTC
    assert 'datetime="2026-11-26T12:00:00Z"' in opened and ">13:00 CET</time>" in opened
    assert 'datetime="2026-11-26T14:28:00Z"' in opened and ">15:28 CET</time>" in opened
    assert ">12:00 UTC</time>" in resolved and "by bootstrap-admin" in resolved


def test_the_list_shows_only_the_environments_the_viewer_may_read(client, browser_for):
    open_incident(client, "prod", title="payments slow")
    open_incident(client, "dev")
    dev_only = browser_for("coo", "stakeholder:dev")
    text = dev_only.get("/incidents").text
    assert "users cannot log in" in text and "payments slow" not in text


def test_an_incident_page_says_where_it_stands_in_the_environments_zone(client, browser_for):
    reserved = client.post(
        "/api/environments/dev/reservations",
        headers=ADMIN,
        json={"starts": "15:30", "ends": "16:30", "reason": "investor demo"},
    )
    assert reserved.status_code == 201, reserved.text
    number = open_incident(client, eta="15:45", note="pool gone")
    page = browser_for("coo", "stakeholder:dev").get(f"/incidents/{number}")
    assert page.status_code == 200
    assert f"<title>incident {number} on dev · signalbox</title>" in page.text
    assert f"Incident {number} on dev: users cannot log in</h1>" in page.text
    now = section(page.text, "now-heading")
    assert "investigating" in now and "dev is frozen" in now and ">sev1<" in now
    assert "<dd>alice</dd>" in now and "none named" in now
    assert ">15:45 CET</time>" in now  # the ETA in Berlin
    assert ">13:00 CET</time> by bootstrap-admin" in now
    risk = section(page.text, "risk-heading")
    assert "investor demo" in risk and ">15:30 CET</time>" in risk
    timeline = section(page.text, "timeline-heading")
    assert "<strong>bootstrap-admin</strong> opened it" in timeline
    assert "pool gone" in timeline and "commander alice" in timeline


def test_an_incident_without_an_eta_says_so_in_words(client, browser_for):
    number = open_incident(client)
    page = browser_for("coo", "stakeholder:dev").get(f"/incidents/{number}")
    assert "no ETA: nobody has said when dev should work again" in page.text


def test_an_unknown_incident_is_a_404_page_and_another_environments_is_403(client, browser_for):
    number = open_incident(client, "prod", title="payments slow")
    dev_only = browser_for("coo", "stakeholder:dev")
    missing = dev_only.get("/incidents/999")
    assert missing.status_code == 404 and "<h1>Not found</h1>" in missing.text
    hidden = dev_only.get(f"/incidents/{number}")
    assert hidden.status_code == 403 and "payments slow" not in hidden.text


def test_a_page_needs_a_sign_in(client):
    number = open_incident(client)
    answer = client.get(f"/incidents/{number}", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/login?next=/incidents/{number}"


@pytest.mark.parametrize("grants", [("viewer:dev",), ("stakeholder:dev",), ("approver:dev",)])
def test_who_may_not_change_incidents_sees_no_form(client, browser_for, grants):
    number = open_incident(client)
    page = browser_for("reader", *grants).get(f"/incidents/{number}").text
    assert f'action="/incidents/{number}/update"' not in page
    assert f'action="/incidents/{number}/resolve"' not in page
    assert "needs the developer role on dev" in page


def test_a_developer_sees_the_update_and_resolve_forms_but_not_the_hand_over(client, browser_for):
    number = open_incident(client)
    page = browser_for("bob", "developer:dev").get(f"/incidents/{number}").text
    assert f'action="/incidents/{number}/update"' in page
    assert f'action="/incidents/{number}/resolve"' in page
    assert 'name="commander"' not in page  # a hand-over is the commander's or an admin's
    for status in ("investigating", "identified", "mitigated", "monitoring"):
        assert f'<option value="{status}">' in page
    assert '<option value="resolved"' not in page
    assert "a time in Europe/Berlin" in page  # the ETA's forms, next to the field


def test_the_commander_may_also_hand_over_and_name_responders(client, browser_for):
    number = open_incident(client)
    page = browser_for("alice", "developer:dev").get(f"/incidents/{number}").text
    assert 'name="commander"' in page and 'name="responders"' in page


def test_a_commander_without_open_incident_gets_no_form_as_the_api_refuses_them(
    client, browser_for
):
    number = open_incident(client, commander="carol")
    carol = browser_for("carol", "viewer:dev")
    assert f'action="/incidents/{number}/update"' not in carol.get(f"/incidents/{number}").text
    refused = carol.post(
        f"/incidents/{number}/update", data={"csrf": carol.form_token, "note": "on it"}
    )
    assert refused.status_code == 403


def test_a_forged_update_from_a_viewer_is_refused_and_changes_nothing(client, browser_for):
    number = open_incident(client)
    viewer = browser_for("coo", "stakeholder:dev")
    answer = viewer.post(
        f"/incidents/{number}/update",
        data={"csrf": viewer.form_token, "status": "identified", "note": "forged"},
        follow_redirects=False,
    )
    assert answer.status_code == 403
    assert "coo may not open-incident on dev" in answer.text
    assert [u["kind"] for u in updates_of(client, number)] == ["opened"]


def test_an_update_without_the_form_token_is_refused(client, browser_for):
    number = open_incident(client)
    bob = browser_for("bob", "developer:dev")
    answer = bob.post(
        f"/incidents/{number}/update", data={"note": "no token"}, follow_redirects=False
    )
    assert answer.status_code == 403
    assert "no valid form token" in answer.text
    assert [u["kind"] for u in updates_of(client, number)] == ["opened"]


def test_an_eta_it_cannot_read_is_said_next_to_the_form_with_the_input_kept(client, browser_for):
    number = open_incident(client)
    bob = browser_for("bob", "developer:dev")
    answer = bob.post(
        f"/incidents/{number}/update",
        data={"csrf": bob.form_token, "status": "identified", "eta": "soonish", "note": "fix <b>"},
        follow_redirects=False,
    )
    assert answer.status_code == 422
    update = section(answer.text, "update-heading")
    assert 'role="alert"' in update
    assert "The ETA &#39;soonish&#39; is neither a duration nor a time." in update
    assert "Give a duration from now (30m, 1h30m)" in update
    assert (
        'value="soonish" aria-invalid="true" aria-describedby="update-eta-hint update-problem"'
        in (update)
    )
    assert '<option value="identified" selected>' in update
    assert "fix &lt;b&gt;</textarea>" in update  # kept, escaped
    incident = client.get(f"/api/incidents/{number}", headers=ADMIN).json()
    assert incident["status"] == "investigating" and incident["eta"] is None
    assert len(incident["updates"]) == 1


def test_an_update_with_nothing_to_say_is_refused_in_the_services_words(client, browser_for):
    number = open_incident(client)
    bob = browser_for("bob", "developer:dev")
    answer = bob.post(f"/incidents/{number}/update", data={"csrf": bob.form_token})
    assert answer.status_code == 422
    assert f"An update of incident {number} needs something to say." in answer.text
    assert len(updates_of(client, number)) == 1


def test_a_hand_over_by_someone_else_than_the_commander_is_refused(client, browser_for):
    number = open_incident(client)
    bob = browser_for("bob", "developer:dev")
    answer = bob.post(
        f"/incidents/{number}/update", data={"csrf": bob.form_token, "commander": "bob"}
    )
    assert answer.status_code == 403
    assert f"Only incident {number}&#39;s commander (alice) or an admin may hand it over" in (
        answer.text
    )
    assert client.get(f"/api/incidents/{number}", headers=ADMIN).json()["commander"] == "alice"


def test_a_good_update_redirects_with_a_notice_and_shows_in_the_timeline_and_the_api(
    client, browser_for, clock
):
    number = open_incident(client)
    clock.advance(timedelta(minutes=10))
    bob = browser_for("bob", "developer:dev")
    answer = bob.post(
        f"/incidents/{number}/update",
        data={"csrf": bob.form_token, "status": "identified", "eta": "15:28", "note": "fix pushed"},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/incidents/{number}?done=updated#timeline"
    page = bob.get(answer.headers["location"]).text
    assert '<p class="notice" role="status">Your update is posted.</p>' in page
    timeline = section(page, "timeline-heading")
    assert ">13:10 CET</time> · <strong>bob</strong> posted an update" in timeline
    assert "status <strong>identified</strong> (was investigating)" in timeline
    assert "ETA <time" in timeline and ">15:28 CET</time>" in timeline
    assert "fix pushed" in timeline
    assert timeline.index("opened it") < timeline.index("posted an update")
    incident = client.get(f"/api/incidents/{number}", headers=ADMIN).json()
    assert incident["status"] == "identified" and incident["eta"] == "2026-11-26T14:28:00Z"
    assert incident["updates"][-1] == {
        "kind": "update",
        "at": "2026-11-26T12:10:00Z",
        "author": "bob",
        "status": "identified",
        "commander": "alice",
        "eta": "2026-11-26T14:28:00Z",
        "note": "fix pushed",
    }


def test_the_notice_is_from_a_fixed_list_never_the_query(client, browser_for):
    number = open_incident(client)
    page = browser_for("bob", "developer:dev").get(f"/incidents/{number}?done=<script>x").text
    assert "<script>x" not in page and 'class="notice"' not in page


def test_the_commander_names_a_responder_from_the_page(client, browser_for):
    number = open_incident(client)
    alice = browser_for("alice", "developer:dev")
    answer = alice.post(
        f"/incidents/{number}/update",
        data={"csrf": alice.form_token, "responders": "bob, carol"},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    incident = client.get(f"/api/incidents/{number}", headers=ADMIN).json()
    assert incident["responders"] == ["bob", "carol"]
    assert "<dd>bob, carol" in alice.get(f"/incidents/{number}").text


def test_resolve_then_reopen_from_the_page(client, browser_for):
    held = client.post(
        "/api/environments/dev/hold", headers=ADMIN, json={"reason": "renaming", "duration": "4h"}
    )
    assert held.status_code == 200
    number = open_incident(client)
    bob = browser_for("bob", "developer:dev")
    resolved = bob.post(
        f"/incidents/{number}/resolve",
        data={"csrf": bob.form_token, "note": "pool restored"},
        follow_redirects=False,
    )
    assert resolved.status_code == 303
    page = bob.get(resolved.headers["location"]).text
    assert "The incident is resolved" in page
    assert "<strong>bob</strong> resolved it" in page and "pool restored" in page
    assert f'action="/incidents/{number}/update"' not in page
    assert f'action="/incidents/{number}/reopen"' in page
    api = client.get(f"/api/incidents/{number}", headers=ADMIN).json()
    assert api["status"] == "resolved" and api["resolved_by"] == "bob"
    dev = client.get("/api/environments/dev", headers=ADMIN).json()
    assert dev["incident"] is None and dev["hold"]["owner"] == "bootstrap-admin"

    again = bob.post(f"/incidents/{number}/resolve", data={"csrf": bob.form_token})
    assert again.status_code == 409 and "cannot be resolved again" in again.text

    reopened = bob.post(
        f"/incidents/{number}/reopen",
        data={"csrf": bob.form_token, "note": "errors again"},
        follow_redirects=False,
    )
    assert reopened.status_code == 303
    page = bob.get(reopened.headers["location"]).text
    assert "The incident is open again" in page and "<strong>bob</strong> reopened it" in page
    assert client.get(f"/api/incidents/{number}", headers=ADMIN).json()["status"] == (
        "investigating"
    )


def test_a_viewer_cannot_resolve_by_a_forged_post(client, browser_for):
    number = open_incident(client)
    viewer = browser_for("coo", "stakeholder:dev")
    answer = viewer.post(f"/incidents/{number}/resolve", data={"csrf": viewer.form_token})
    assert answer.status_code == 403
    assert client.get(f"/api/incidents/{number}", headers=ADMIN).json()["status"] == (
        "investigating"
    )


def test_the_postmortem_draft_is_shown_as_sections(client, browser_for, clock):
    number = open_incident(client, note="pool gone")
    added = client.post(
        f"/api/incidents/{number}/actions",
        headers=ADMIN,
        json={"text": "Turn on deletion protection", "owner": "platform-eng", "due": "2026-11-25"},
    )
    assert added.status_code == 201, added.text
    clock.advance(timedelta(minutes=41))
    client.post(f"/api/incidents/{number}/resolve", headers=ADMIN, json={"note": "done"})
    page = browser_for("coo", "stakeholder:dev").get(f"/incidents/{number}").text
    draft = page[page.index('id="postmortem-heading"') :]
    headings = re.findall(r"<h3 id=\"[^\"]+\">([^<]+)</h3>", draft)
    assert headings == [
        "Summary",
        "Impact",
        "The changes before the break",
        "Timeline (Europe/Berlin)",
        "Updates as posted",
        "What went well",
        "What went badly",
        "Where we got lucky",
        "Follow-up actions",
    ]
    assert "<dt>Duration</dt><dd>41 min</dd>" in draft
    assert "the opening (no change found before it)" in draft
    assert "To be written by the people involved." in draft
    assert "Turn on deletion protection" in draft and "platform-eng" in draft
    assert 'proposed <strong class="warn">(overdue)</strong>' in draft
    assert f'href="/incidents/{number}/postmortem.md"' in draft
    assert "# Postmortem" not in draft and "| Field |" not in draft  # not raw Markdown
    assert 'action="/incidents/' not in draft  # a stakeholder changes no action


def test_the_markdown_download_is_what_the_api_and_the_cli_renderer_give(client, browser_for):
    number = open_incident(client, note="pool gone")
    client.post(f"/api/incidents/{number}/updates", headers=ADMIN, json={"status": "mitigated"})
    coo = browser_for("coo", "stakeholder:dev")
    download = coo.get(f"/incidents/{number}/postmortem.md")
    assert download.status_code == 200
    assert download.headers["content-type"] == "text/markdown; charset=utf-8"
    assert "attachment" in download.headers["content-disposition"]
    api = client.get(f"/api/incidents/{number}/postmortem?format=markdown", headers=ADMIN)
    assert api.status_code == 200
    assert download.text == api.text
    assert download.text.startswith(f"# Postmortem: incident {number} on dev: users cannot log in")
    week = coo.get(f"/incidents/{number}/postmortem.md?since=1d").text
    assert (
        week
        == client.get(
            f"/api/incidents/{number}/postmortem?format=markdown&since=1d", headers=ADMIN
        ).text
    )


def test_the_markdown_download_needs_read_on_the_environment(client, browser_for):
    number = open_incident(client, "prod", title="payments slow")
    answer = browser_for("coo", "stakeholder:dev").get(f"/incidents/{number}/postmortem.md")
    assert answer.status_code == 403 and "payments slow" not in answer.text


def test_a_developer_adds_and_moves_a_follow_up_action(client, browser_for):
    number = open_incident(client)
    bob = browser_for("bob", "developer:dev")
    bad = bob.post(
        f"/incidents/{number}/actions",
        data={"csrf": bob.form_token, "action_text": "protect the pool", "action_due": "soon"},
    )
    assert bad.status_code == 422 and "The due date &#39;soon&#39; is not a date." in bad.text
    assert 'value="protect the pool"' in bad.text
    added = bob.post(
        f"/incidents/{number}/actions",
        data={
            "csrf": bob.form_token,
            "action_text": "protect the pool",
            "action_due": "2026-12-04",
        },
        follow_redirects=False,
    )
    assert added.status_code == 303
    listed = client.get(f"/api/actions?incident={number}", headers=ADMIN).json()["actions"]
    assert [(a["text"], a["status"], a["due"]) for a in listed] == [
        ("protect the pool", "proposed", "2026-12-04")
    ]
    action = listed[0]["id"]
    moved = bob.post(
        f"/incidents/{number}/actions/{action}",
        data={"csrf": bob.form_token, "status": "in-progress"},
        follow_redirects=False,
    )
    assert moved.status_code == 303
    assert moved.headers["location"] == f"/incidents/{number}?done=action-set#actions"
    assert (
        client.get(f"/api/actions?incident={number}", headers=ADMIN).json()["actions"][0]["status"]
        == "in-progress"
    )


def test_a_viewer_cannot_add_or_move_an_action_by_a_forged_post(client, browser_for):
    number = open_incident(client)
    added = client.post(
        f"/api/incidents/{number}/actions", headers=ADMIN, json={"text": "protect the pool"}
    ).json()
    viewer = browser_for("coo", "stakeholder:dev")
    refused = viewer.post(
        f"/incidents/{number}/actions", data={"csrf": viewer.form_token, "action_text": "x"}
    )
    assert refused.status_code == 403
    moved = viewer.post(
        f"/incidents/{number}/actions/{added['id']}",
        data={"csrf": viewer.form_token, "status": "done"},
    )
    assert moved.status_code == 403
    listed = client.get(f"/api/actions?incident={number}", headers=ADMIN).json()["actions"]
    assert [(a["text"], a["status"]) for a in listed] == [("protect the pool", "proposed")]


def test_the_incidents_hotfix_deploys_are_listed_with_links(client, browser_for):
    routine = Path(__file__).resolve().parents[2] / "examples/plans/routine-frontend-change.json"
    number = open_incident(client)
    ci = client.post(
        "/api/tokens",
        headers=ADMIN,
        json={"name": "ci-dev", "grants": ["developer:dev"], "ci": True},
    ).json()["token"]
    fix = client.post(
        "/api/deploys",
        headers={"Authorization": f"Bearer {ci}"},
        json={
            "environment": "dev",
            "branch": "fix-pool",
            "commit": "c0ffee123",
            "actor": "alice",
            "plan": base64.b64encode(routine.read_bytes()).decode(),
            "plan_source": "plan.json",
            "hotfix": number,
        },
    )
    assert fix.status_code in (200, 201, 202), fix.text
    deploy = fix.json()["deploy"]["id"]
    page = browser_for("coo", "stakeholder:dev").get(f"/incidents/{number}").text
    hotfixes = section(page, "hotfix-heading")
    assert f'<a href="/deploys/{deploy}">Deploy {deploy}</a> by alice (fix-pool @ c0ffee1)' in (
        hotfixes
    )
