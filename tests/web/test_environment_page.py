"""The environment page in process: the card in full, the reservations and freeze windows by
day with Cancel for whom the API lets cancel, recent deploys, state versions for who may
read the state, events in words; and cancelling from the page."""

from __future__ import annotations

import base64
import re
from dataclasses import replace
from pathlib import Path

import pytest
from tests.api.conftest import ADMIN
from tests.api.tfstate.states import content_md5, state_body

ROUTINE = base64.b64encode(
    (
        Path(__file__).resolve().parents[2] / "examples/plans/routine-frontend-change.json"
    ).read_bytes()
).decode()
FREEZE = {"cron": "0 16 * * FRI", "duration": "2h", "reason": "weekend freeze"}


@pytest.fixture
def settings(settings):
    """dev with a freeze window every Friday 16:00-18:00 in Berlin."""
    dev = replace(settings.environments["dev"], freeze_windows=(FREEZE,))
    return replace(settings, environments={**settings.environments, "dev": dev})


def reserve(client, headers, starts="15:30", ends="16:30", reason="investor demo"):
    answer = client.post(
        "/api/environments/dev/reservations",
        headers=headers,
        json={"starts": starts, "ends": ends, "reason": reason},
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["reservation"]["id"]


def api_token(client, name: str, *grants: str) -> dict[str, str]:
    answer = client.post("/api/tokens", headers=ADMIN, json={"name": name, "grants": list(grants)})
    assert answer.status_code == 201, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def request_deploy(client, branch: str, commit: str) -> dict:
    body = {
        "environment": "dev",
        "branch": branch,
        "commit": commit,
        "actor": "frontend-dev",
        "plan": ROUTINE,
        "plan_source": "plan.json",
    }
    answer = client.post("/api/deploys", headers=ADMIN, json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()


def book(signed, starts="15:30", ends="16:30", reason="investor demo") -> int:
    """Book from the page as ``signed`` (confirmed: overlaps are not the point here)."""
    answer = signed.post(
        "/environments/dev/reserve",
        data={
            "csrf": signed.form_token,
            "date": "2026-11-26",
            "from": starts,
            "to": ends,
            "reason": reason,
            "confirmed": "yes",
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return max(int(ident) for ident in cancel_buttons(signed.get("/environments/dev").text))


def cancel_buttons(html: str) -> list[str]:
    return re.findall(r'action="/environments/dev/reservations/(\d+)/cancel"', html)


def section(html: str, heading_id: str) -> str:
    start = html.index(f'id="{heading_id}"')
    end = html.find("</section>", start)
    return html[start:end]


def test_the_page_shows_the_card_in_full_and_the_windows_by_day(client, browser_for):
    coo = browser_for("coo", "stakeholder:dev")
    book(coo)
    page = coo.get("/environments/dev")
    assert page.status_code == 200
    assert "<title>dev · signalbox</title>" in page.text
    assert "<h1>dev</h1>" in page.text
    assert 'id="env-dev"' in page.text and '<a href="/environments/dev">dev</a>' not in page.text
    assert "Next reservation" in page.text  # the card, in full
    windows = section(page.text, "reservations-heading")
    assert "Times in Europe/Berlin." in windows
    today = windows.index("Today, Thursday 26 November")
    tomorrow = windows.index("Tomorrow, Friday 27 November")
    demo = windows.index("<q>investor demo</q>")
    freeze = windows.index("<q>weekend freeze</q>")
    assert today < demo < tomorrow < freeze
    assert ">15:30</time>–<time" in windows and ">16:30 CET</time>" in windows
    assert ">16:00</time>–<time" in windows and ">18:00 CET</time>" in windows
    assert windows.count('<span class="tag">Freeze window</span>') == 2  # two Fridays
    assert "Friday 4 December" in windows  # the next two weeks: the second Friday too
    assert "Friday 11 December" not in windows  # beyond two weeks


def test_cancel_is_offered_to_the_owner_and_to_whoever_may_force_release(client, browser_for):
    coo = browser_for("coo", "stakeholder:dev")
    cto = browser_for("cto", "stakeholder:dev")
    mine = book(coo)
    theirs = book(cto, "17:00", "18:00", "board meeting")
    admins = reserve(client, ADMIN, "19:00", "20:00", "admin's own")
    assert cancel_buttons(coo.get("/environments/dev").text) == [str(mine)]
    assert cancel_buttons(cto.get("/environments/dev").text) == [str(theirs)]
    admin = browser_for("root", "admin:dev")
    assert cancel_buttons(admin.get("/environments/dev").text) == [
        str(mine),
        str(theirs),
        str(admins),
    ]
    viewer = browser_for("investor", "viewer:dev")
    seen = viewer.get("/environments/dev").text
    assert cancel_buttons(seen) == [] and "Book a window" not in seen
    assert "<q>board meeting</q>" in seen and "<q>investor demo</q>" in seen
    assert 'href="/environments/dev/reserve">Book a window</a>' in cto.get("/environments/dev").text


def test_recent_deploys_link_to_their_pages_with_state_branch_and_commit(client, browser_for):
    first = request_deploy(client, "main", "c0ffee1234567")
    second = request_deploy(client, "feature/colours", "beefcafe99")
    assert first["decision"] == "go" and second["decision"] == "wait"
    page = browser_for("investor", "viewer:dev").get("/environments/dev")
    deploys = section(page.text, "deploys-heading")
    assert deploys.index(f'href="/deploys/{second["deploy"]["id"]}"') < deploys.index(
        f'href="/deploys/{first["deploy"]["id"]}"'
    )  # newest first
    assert "<td>running</td>" in deploys and "<td>queued</td>" in deploys
    assert "main @ <code>c0ffee1</code>" in deploys
    assert "feature/colours @ <code>beefcaf</code>" in deploys
    assert "frontend-dev" in deploys and "via bootstrap-admin" in deploys


def test_state_versions_show_only_to_who_may_read_the_state_and_never_the_body(client, browser_for):
    token = client.post(
        "/api/tokens", headers=ADMIN, json={"name": "ci-dev", "grants": ["developer:dev"]}
    ).json()["token"]
    basic = {"Authorization": "Basic " + base64.b64encode(f"tf:{token}".encode()).decode()}
    body = state_body(3, "cognito_pool", secret="hunter2-password")
    written = client.post(
        "/tf/dev/network",
        headers={**basic, "Content-MD5": content_md5(body), "Content-Type": "application/json"},
        content=body,
    )
    assert written.status_code == 200, written.text
    developer = browser_for("platform-eng", "developer:dev").get("/environments/dev").text
    versions = section(developer, "versions-heading")
    assert "<td>network</td>" in versions and "<td>3</td>" in versions
    assert "<td>ci-dev</td>" in versions and f"<td>{len(body)} B</td>" in versions
    assert "hunter2" not in developer and "cognito_pool" not in developer
    assert "lineage" not in developer.lower()
    stakeholder = browser_for("coo", "stakeholder:dev").get("/environments/dev").text
    assert 'id="versions-heading"' not in stakeholder


def test_recent_events_are_told_in_words_in_the_environments_zone(client, browser_for):
    reserve(client, ADMIN)
    client.post(
        "/api/environments/dev/hold",
        headers=ADMIN,
        json={"reason": "renaming cognito pool", "duration": "1h"},
    )
    events = section(
        browser_for("investor", "viewer:dev").get("/environments/dev").text, "events-heading"
    )
    assert "renaming cognito pool" in events
    assert "15:30 CET" in events  # the reservation's words, in Berlin time
    assert events.index("renaming cognito pool") < events.index("15:30 CET")  # newest first


def test_unknown_environment_is_the_404_page_and_an_unreadable_one_403(browser_for):
    viewer = browser_for("investor", "viewer:prod")
    unknown = viewer.get("/environments/staging")
    assert unknown.status_code == 404 and "staging" in unknown.text
    assert "<h1>Not found</h1>" in unknown.text
    refused = viewer.get("/environments/dev")
    assert refused.status_code == 403 and "<h1>Not allowed</h1>" in refused.text


def test_the_owner_cancels_from_the_page(client, browser_for):
    coo = browser_for("coo", "stakeholder:dev")
    ident = book(coo)
    answer = coo.post(
        f"/environments/dev/reservations/{ident}/cancel",
        data={"csrf": coo.form_token},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/environments/dev?done=cancelled"
    page = coo.get(answer.headers["location"])
    assert '<p class="notice" role="status">The reservation is cancelled.</p>' in page.text
    assert "<q>investor demo</q>" not in section(page.text, "reservations-heading")
    listed = client.get("/api/reservations?environment=dev", headers=ADMIN).json()
    assert [r for r in listed["reservations"] if r["kind"] == "reservation"] == []
    again = coo.post(
        f"/environments/dev/reservations/{ident}/cancel", data={"csrf": coo.form_token}
    )
    assert again.status_code == 409 and "already cancelled by coo" in again.text
    assert 'role="alert"' in again.text and "<h1>dev</h1>" in again.text


def test_a_notice_comes_from_the_fixed_words_never_from_the_query(browser_for):
    page = browser_for("investor", "viewer:dev").get("/environments/dev?done=<b>pwned</b>")
    assert page.status_code == 200 and "pwned" not in page.text
    assert 'class="notice"' not in page.text


def test_only_the_owner_or_an_admin_may_cancel_whatever_the_page_showed(client, browser_for):
    ident = book(browser_for("cto", "stakeholder:dev"))
    other = browser_for("coo", "stakeholder:dev")
    refused = other.post(
        f"/environments/dev/reservations/{ident}/cancel", data={"csrf": other.form_token}
    )
    assert refused.status_code == 403 and "belongs to cto" in refused.text
    viewer = browser_for("investor", "viewer:dev")
    forged = viewer.post(
        f"/environments/dev/reservations/{ident}/cancel", data={"csrf": viewer.form_token}
    )
    assert forged.status_code == 403 and "stakeholder:dev" in forged.text
    tokenless = browser_for("root", "admin:dev").post(
        f"/environments/dev/reservations/{ident}/cancel", data={}
    )
    assert tokenless.status_code == 403 and "form token" in tokenless.text
    stolen = browser_for("boss", "admin:*").post(
        f"/environments/dev/reservations/{ident}/cancel",
        data={"csrf": browser_for("boss2", "admin:*").form_token},
    )
    assert stolen.status_code == 403  # another session's form token
    listed = client.get("/api/reservations?environment=dev", headers=ADMIN).json()
    assert [r["id"] for r in listed["reservations"] if r["kind"] == "reservation"] == [ident]


def test_a_reservation_is_cancelled_only_under_its_own_environment(client, browser_for):
    ident = reserve(client, ADMIN)
    admin = browser_for("boss", "admin:*")
    wrong = admin.post(
        f"/environments/prod/reservations/{ident}/cancel", data={"csrf": admin.form_token}
    )
    assert wrong.status_code == 404
    forced = admin.post(
        f"/environments/dev/reservations/{ident}/cancel",
        data={"csrf": admin.form_token},
        follow_redirects=False,
    )
    assert forced.status_code == 303
