"""The story in a real browser (Debian's Chromium) against a real `signalbox serve`: the COO
books the demo, platform-eng's hold appears on his open board, the gate's approval link opens
the deploy page where its requester cannot approve and another approver does, the waiting
gate goes; forged and token-less POSTs change nothing."""

from __future__ import annotations

import json
import re
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.sync_api import expect
from tests.support.browser import sign_in
from tests.support.servers import approval_link, gate_process, lines_of, run_cli

pytestmark = pytest.mark.slow

COGNITO = Path(__file__).resolve().parents[2] / "examples/plans/cognito-renamed-without-moved.json"


def deploy_state(url: str, admin: str, deploy_id: str) -> str:
    answer = httpx.get(
        f"{url}/api/deploys/{deploy_id}", headers={"Authorization": f"Bearer {admin}"}
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["state"])


def test_the_story_in_the_browser(browser, live, tmp_path):
    coo = live.token("coo", "stakeholder:dev")
    platform = live.token("platform-eng", "developer:dev")
    lead1 = live.token("lead1", "developer:dev", "approver:dev")
    lead2 = live.token("lead2", "approver:dev")

    # the COO books tomorrow's investor demo, 15:30-16:30 in dev's zone
    tomorrow = (datetime.now(ZoneInfo("Europe/Berlin")).date() + timedelta(days=1)).isoformat()
    board = sign_in(browser, live.url, coo)
    board.goto("/environments/dev/reserve")
    board.get_by_label("Date").fill(tomorrow)
    board.get_by_label("From", exact=True).fill("15:30")
    board.get_by_label("To", exact=True).fill("16:30")
    board.get_by_label("Reason").fill("investor demo")
    board.get_by_role("button", name="Book", exact=True).click()
    expect(board).to_have_url(re.compile(r"/environments/dev\?done=booked"))
    expect(board.locator("ul.windows")).to_contain_text("investor demo")
    listed = run_cli(live.url, live.admin, "reservations", "--env", "dev", "--json")
    assert listed.returncode == 0, listed.stderr
    reservations = json.loads(listed.stdout)["reservations"]
    [demo] = [found for found in reservations if found["reason"] == "investor demo"]
    berlin = ZoneInfo("Europe/Berlin")
    assert demo["owner"] == "coo"  # the reservation `signalbox reserve` makes, as his
    starts = datetime.fromisoformat(demo["starts"]).astimezone(berlin)
    ends = datetime.fromisoformat(demo["ends"]).astimezone(berlin)
    assert (starts.strftime("%Y-%m-%d %H:%M"), f"{ends:%H:%M}") == (f"{tomorrow} 15:30", "16:30")

    # his board is open when platform-eng holds dev from the CLI: it appears, no reload
    board.goto("/")
    expect(board.locator("#live-status")).to_have_attribute("data-live", "yes")
    board.evaluate("window.__not_reloaded = true")
    held = run_cli(live.url, platform, "hold", "dev", "--reason", "renaming cognito pool")
    assert held.returncode == 0, held.stderr
    expect(board.locator("#env-dev .state")).to_have_text("Held")
    expect(board.locator("#env-dev")).to_contain_text("renaming cognito pool")
    assert board.evaluate("window.__not_reloaded") is True
    released = run_cli(live.url, platform, "release", "dev")
    assert released.returncode == 0, released.stderr

    # CI's gate on the plan that destroys the user pool waits for an approval, with a link
    applied = tmp_path / "applied"
    gate = gate_process(
        live.url,
        lead1,
        "--plan",
        str(COGNITO),
        "--wait",
        "5m",
        "--",
        sys.executable,
        "-c",
        f"import pathlib; pathlib.Path({str(applied)!r}).write_text('applied')",
        branch="main",
        commit="1a2b3c4d",
    )
    try:
        link = approval_link(lines_of(gate))
        path = link.removeprefix(live.url)
        deploy_id = path.rsplit("/", 1)[1]

        # its requester opens the link: the page, but no Approve button
        own = sign_in(browser, live.url, lead1, path=path)
        expect(own.locator("h1")).to_have_text(f"Deploy {deploy_id} to dev")
        expect(own.get_by_role("button", name=re.compile("Approve"))).to_have_count(0)

        # the COO forges an approve POST with his own session and form token: refused
        coo_token = board.locator("input[name=csrf]").first.get_attribute("value")
        forged = board.request.post(f"{path}/approve", form={"csrf": coo_token or ""})
        assert forged.status == 403
        # an approver's POST without the form token: refused
        approver = sign_in(browser, live.url, lead2, path=path)
        tokenless = approver.request.post(f"{path}/approve", form={"reason": "ok"})
        assert tokenless.status == 403
        assert deploy_state(live.url, live.admin, deploy_id) == "awaiting-approval"
        assert gate.poll() is None

        # another approver approves from the page; the waiting gate goes
        approver.reload()
        approver.get_by_role("button", name=f"Approve deploy {deploy_id}").click()
        expect(approver.locator("#approval")).to_contain_text("Approved by lead2")
        assert gate.wait(timeout=60) == 0
        assert applied.read_text() == "applied"
    finally:
        if gate.poll() is None:
            gate.kill()
            gate.wait(timeout=10)
