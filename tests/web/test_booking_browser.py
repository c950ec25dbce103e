"""Booking in a real browser (Debian's Chromium) against a real `signalbox serve`: the story's
COO books the investor demo, is warned of the overlap before booking, and books anyway."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect
from tests.support.browser import accessibility_problems, screenshot, sign_in
from tests.support.servers import run_cli

pytestmark = pytest.mark.slow


def test_the_coo_books_the_demo_after_the_warning_of_an_overlapping_rehearsal(
    browser, live, tmp_path
):
    day = (datetime.now(ZoneInfo("Europe/Berlin")).date() + timedelta(days=3)).isoformat()
    rehearsal = run_cli(
        live.url,
        live.admin,
        "reserve",
        "dev",
        "--from",
        f"{day} 15:00",
        "--to",
        f"{day} 16:00",
        "--reason",
        "platform rehearsal",
    )
    assert rehearsal.returncode == 0, rehearsal.stderr
    coo = live.token("coo", "stakeholder:dev")

    page = sign_in(browser, live.url, coo, path="/environments/dev")
    expect(page).to_have_title("dev · signalbox")
    expect(page.get_by_role("heading", level=1)).to_have_text("dev")
    expect(page.locator("ul.windows")).to_contain_text("platform rehearsal")
    assert accessibility_problems(page) == []

    page.get_by_role("link", name="Book a window").click()
    expect(page).to_have_title("Book a window on dev · signalbox")
    expect(page.locator("#booking-zone")).to_have_text("(times in Europe/Berlin)")
    page.get_by_label("Date").fill(day)
    page.get_by_label("From", exact=True).fill("15:30")
    page.get_by_label("To", exact=True).fill("16:30")
    page.get_by_label("Reason").fill("investor demo")
    live_region = page.locator("#booking-check[aria-live=polite]")
    expect(live_region).to_contain_text("Before you book: this window overlaps")
    expect(live_region).to_contain_text("bootstrap-admin has reserved ")
    expect(live_region).to_contain_text(" 15:00 CET–16:00 CET (platform rehearsal)")
    expect(live_region).to_contain_text("Ask bootstrap-admin")
    assert accessibility_problems(page) == []
    screenshot(page, "booking", tmp_path)

    page.get_by_role("button", name="Book", exact=True).click()
    expect(page.locator("#conflicts")).to_contain_text("Not booked yet: this window overlaps")
    expect(page.locator("#conflicts")).to_contain_text("platform rehearsal")
    assert accessibility_problems(page) == []
    page.get_by_role("button", name="Book anyway").click()

    page.wait_for_url(f"{live.url}/environments/dev?done=booked")
    expect(page.locator(".notice")).to_contain_text("Booked.")
    demo = page.locator("li.window", has_text="investor demo")
    expect(demo).to_contain_text("15:30–16:30")
    expect(demo).to_contain_text("coo")
    expect(demo.get_by_role("button", name="Cancel")).to_be_visible()
    listed = run_cli(live.url, live.admin, "reservations", "--env", "dev")
    assert "investor demo" in listed.stdout and "15:30" in listed.stdout, listed.stderr
