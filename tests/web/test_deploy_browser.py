"""The deploy page in a real browser (Debian's Chromium) against a real `signalbox serve`, with
a real `signalbox gate` waiting for the approval its page gives."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from playwright.sync_api import expect
from tests.support.browser import accessibility_problems, screenshot, sign_in
from tests.support.servers import approval_link, gate_process, lines_of

pytestmark = pytest.mark.slow

COGNITO = Path(__file__).resolve().parents[2] / "examples/plans/cognito-renamed-without-moved.json"


def test_an_approver_approves_from_the_gates_link_and_the_waiting_gate_goes(
    browser, live, tmp_path
):
    requester = live.token("lead1", "developer:dev", "approver:dev")
    approver = live.token("lead2", "approver:dev")
    applied = tmp_path / "applied"
    gate = gate_process(
        live.url,
        requester,
        "--plan",
        str(COGNITO),
        "--actor",
        "frontend-dev",
        "--run-url",
        "https://ci.example/runs/7",
        "--wait",
        "5m",
        "--",
        sys.executable,
        "-c",
        f"import pathlib; pathlib.Path({str(applied)!r}).write_text('applied')",
        branch="rename-pool",
        commit="5b58bd8e",
    )
    try:
        link = approval_link(lines_of(gate))
        path = link.removeprefix(live.url)
        assert path.startswith("/deploys/"), link  # the page, not the JSON API
        deploy_id = path.rsplit("/", 1)[1]

        # the requester (an approver too) opens the link: a sign-in first, then the page
        # (through ?next=), but no buttons
        context = browser.new_context(base_url=live.url)
        own = context.new_page()
        own.goto(link)
        expect(own).to_have_url(re.compile(r"/login\?next="))
        own.get_by_label("API token").fill(requester)
        own.get_by_role("button", name="Sign in").click()
        own.wait_for_url(link)
        expect(own).to_have_title(f"deploy {deploy_id} to dev · signalbox")
        expect(own.locator("#awaiting")).to_contain_text("Awaiting approval from")
        expect(own.get_by_text("You asked for this deploy")).to_be_visible()
        expect(own.get_by_role("button", name=re.compile("Approve"))).to_have_count(0)
        context.close()

        # another approver: the findings, the moved block, then Approve
        page = sign_in(browser, live.url, approver, path=path)
        expect(page.locator("h1")).to_have_text(f"Deploy {deploy_id} to dev")
        expect(page.locator("#verdict")).to_contain_text("Needs approval.")
        expect(page.locator(".finding").first).to_contain_text("stateful-destroy")
        expect(page.locator("pre.moved")).to_contain_text("to   = aws_cognito_user_pool.users")
        expect(page.get_by_label("Why deny it (required: the requester reads it)")).to_be_visible()
        assert accessibility_problems(page) == []
        screenshot(page, "deploy", tmp_path)
        assert gate.poll() is None  # still waiting for the approval

        page.get_by_role("button", name=f"Approve deploy {deploy_id}").click()
        page.wait_for_url(f"{live.url}{path}?done=approved")
        expect(page.locator("#done")).to_contain_text("You approved this deploy.")
        expect(page.locator("#approval")).to_contain_text("Approved by lead2")
        assert accessibility_problems(page) == []

        assert gate.wait(timeout=60) == 0  # woken by the approval, it ran its command
        assert applied.read_text() == "applied"
    finally:
        if gate.poll() is None:
            gate.kill()
            gate.wait(timeout=10)
