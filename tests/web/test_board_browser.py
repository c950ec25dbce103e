"""The board in a real browser (Debian's Chromium) against a real `signalbox serve`."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from tests.support.browser import accessibility_problems, screenshot, sign_in
from tests.support.servers import gate_process, run_cli

pytestmark = pytest.mark.slow


def test_a_hold_placed_from_the_cli_appears_on_the_open_board_without_a_reload(
    browser, live, tmp_path
):
    coo = live.token("coo", "stakeholder:dev", "viewer:prod")
    platform = live.token("platform-eng", "developer:dev")
    page = sign_in(browser, live.url, coo)
    dev = page.locator("#env-dev")
    expect(dev.locator(".state")).to_have_text("Free")
    expect(page.locator("#live-status")).to_have_attribute("data-live", "yes")
    page.evaluate("window.__not_reloaded = true")

    placed = run_cli(
        live.url, platform, "hold", "dev", "--reason", "renaming cognito pool", "--for", "4h"
    )
    assert placed.returncode == 0, placed.stderr

    expect(dev.locator(".state")).to_have_text("Held")
    expect(dev).to_contain_text("by platform-eng")
    expect(dev).to_contain_text("renaming cognito pool")
    assert page.evaluate("window.__not_reloaded") is True  # the same page, updated in place
    # the refresh's time is told as the server tells it: the board's zone (the settings'
    # timezone, UTC here), 24-hour clock, not the browser's "4:17 PM"
    expect(page.locator("#live-status")).to_have_text(
        re.compile(r"^Updated \d\d:\d\d UTC \(live\)\.$")
    )
    assert accessibility_problems(page) == []
    screenshot(page, "board", tmp_path)


def test_the_board_works_without_javascript(browser, live):
    viewer = live.token("everyone", "viewer:*")
    context = browser.new_context(base_url=live.url, java_script_enabled=False)
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("API token").fill(viewer)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#env-dev .state")).to_have_text("Free")
    expect(page.locator("#env-prod .state")).to_have_text("Free")
    context.close()


def test_the_pages_fit_a_phone_without_sideways_scrolling(browser, live):
    developer = live.token("platform-eng", "developer:dev")
    ran = gate_process(live.url, developer, "--", "true", branch="main", commit="1a2b3c4d")
    assert ran.wait(timeout=60) == 0  # a deploy for the environment page's table
    opened = run_cli(
        live.url, developer, "incident", "open", "dev", "--title", "users cannot log in"
    )
    assert opened.returncode == 0, opened.stderr
    context = browser.new_context(
        base_url=live.url, viewport={"width": 390, "height": 844}, is_mobile=True
    )
    page = context.new_page()
    page.goto("/login")
    page.get_by_label("API token").fill(developer)
    page.get_by_role("button", name="Sign in").click()
    for path in ("/", "/environments/dev", "/environments/dev/reserve", "/incidents", "/deploys/1"):
        page.goto(path)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} is {width} px wide on a 390 px screen"
    context.close()
