"""The board in a real browser (Debian's Chromium) against a real `signalbox serve`."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from tests.support.browser import accessibility_problems, screenshot, sign_in
from tests.support.servers import run_cli

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
