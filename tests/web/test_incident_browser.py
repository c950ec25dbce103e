"""The incident pages in a real browser (Debian's Chromium) against a real `signalbox serve`:
the commander follows the board's card to the incident, posts an update with an ETA and
reads it in the timeline; axe-core finds no serious violation on the list or the page."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import expect
from tests.support.browser import accessibility_problems, screenshot, sign_in

pytestmark = pytest.mark.slow


def test_the_commander_posts_an_update_with_an_eta_from_the_incident_page(browser, live, tmp_path):
    alice = live.token("alice", "developer:dev")
    opened = httpx.post(
        f"{live.url}/api/incidents",
        headers={"Authorization": f"Bearer {live.admin}"},
        json={
            "environment": "dev",
            "title": "users cannot log in",
            "severity": "sev1",
            "commander": "alice",
            "note": "the user pool is gone",
        },
        timeout=30,
    )
    assert opened.status_code == 201, opened.text
    number = opened.json()["id"]

    page = sign_in(browser, live.url, alice)
    page.locator("#env-dev").get_by_role("link", name=re.compile("users cannot log in")).click()
    page.wait_for_url(f"{live.url}/incidents/{number}")
    expect(page).to_have_title(f"incident {number} on dev · signalbox")
    expect(page.locator("#eta")).to_contain_text("no ETA")

    page.get_by_label("Status").select_option("identified")
    page.get_by_label("New ETA (optional)").fill("45m")
    page.get_by_label("Note").fill("fix pushed, pipeline running")
    page.get_by_role("button", name="Post the update").click()

    expect(page.locator("p.notice")).to_have_text("Your update is posted.")
    latest = page.locator("#timeline ol.timeline > li").last
    expect(latest).to_contain_text("alice posted an update")
    expect(latest).to_contain_text("status identified (was investigating)")
    expect(latest).to_contain_text("ETA")
    expect(latest).to_contain_text("fix pushed, pipeline running")
    expect(page.locator("#eta")).to_contain_text(re.compile(r"\d\d:\d\d CET"))
    assert accessibility_problems(page) == []
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "incident", tmp_path)

    page.get_by_role("link", name="Incidents", exact=True).first.click()
    page.wait_for_url(f"{live.url}/incidents")
    expect(page).to_have_title("Incidents · signalbox")
    expect(page.locator(f"#incident-{number}")).to_contain_text("identified")
    assert accessibility_problems(page) == []
