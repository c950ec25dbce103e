"""Booking a window from the page, in process: the form in the environment's zone, the same
reservation as the CLI's, the warning before an overlap ("Book anyway"), bad input kept and
explained, the live check's fragment, and the grant and form-token checks."""

from __future__ import annotations

import base64
import html
import re
from dataclasses import replace
from pathlib import Path

import pytest
from tests.api.conftest import ADMIN

ROUTINE = base64.b64encode(
    (
        Path(__file__).resolve().parents[2] / "examples/plans/routine-frontend-change.json"
    ).read_bytes()
).decode()
FREEZE = {"cron": "0 16 * * FRI", "duration": "2h", "reason": "weekend freeze"}
TODAY = "2026-11-26"  # the fake clock: Thursday 26 November 2026, 13:00 in Berlin


@pytest.fixture
def settings(settings):
    """dev with a freeze window every Friday 16:00-18:00 in Berlin."""
    dev = replace(settings.environments["dev"], freeze_windows=(FREEZE,))
    return replace(settings, environments={**settings.environments, "dev": dev})


def fields(day=TODAY, starts="15:30", ends="16:30", reason="investor demo", **more):
    return {"date": day, "from": starts, "to": ends, "reason": reason, **more}


def post(signed, **form):
    return signed.post(
        "/environments/dev/reserve",
        data={"csrf": signed.form_token, **form},
        follow_redirects=False,
    )


def reservations(client) -> list[dict]:
    listed = client.get("/api/reservations?environment=dev", headers=ADMIN).json()
    return [r for r in listed["reservations"] if r["kind"] == "reservation"]


def request_deploy(client, commit: str) -> dict:
    body = {
        "environment": "dev",
        "branch": "main",
        "commit": commit,
        "actor": "frontend-dev",
        "plan": ROUTINE,
        "plan_source": "plan.json",
    }
    answer = client.post("/api/deploys", headers=ADMIN, json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()


def value_of(html: str, name: str) -> str:
    found = re.search(rf'<input id="booking-\w+" name="{name}" type="\w+" value="([^"]*)"', html)
    assert found, f"no field {name}"
    return found.group(1)


def test_the_form_asks_for_date_times_and_reason_in_the_environments_zone(browser_for):
    coo = browser_for("coo", "stakeholder:dev")
    form = coo.get("/environments/dev/reserve")
    assert form.status_code == 200
    assert "<title>Book a window on dev · signalbox</title>" in form.text
    assert "<h1>Book a window on dev</h1>" in form.text
    for field, kind in (("date", "date"), ("from", "time"), ("to", "time"), ("reason", "text")):
        assert f'<label for="booking-{field}">' in form.text
        assert f'name="{field}" type="{kind}"' in form.text
    assert "(times in Europe/Berlin)" in form.text
    assert value_of(form.text, "date") == TODAY  # today, in Berlin
    assert 'name="reason" type="text" value="" required' in form.text
    assert '<button type="submit">Book</button>' in form.text
    assert 'aria-live="polite"' in form.text and "booking.js" in form.text
    prefilled = coo.get("/environments/dev/reserve?date=2026-11-30&from=15:30&to=16:30").text
    assert value_of(prefilled, "date") == "2026-11-30"
    assert (value_of(prefilled, "from"), value_of(prefilled, "to")) == ("15:30", "16:30")


def test_the_form_needs_the_reserve_grant(browser_for):
    viewer = browser_for("investor", "viewer:dev")
    refused = viewer.get("/environments/dev/reserve")
    assert refused.status_code == 403 and "stakeholder:dev" in refused.text
    assert (
        browser_for("coo", "stakeholder:dev").get("/environments/nope/reserve").status_code == 404
    )
    check = viewer.get("/environments/dev/reserve/check?date=2026-11-26&from=15:30&to=16:30")
    assert check.status_code == 403


def test_a_stakeholder_books_the_same_reservation_as_the_cli(client, browser_for):
    coo = browser_for("coo", "stakeholder:dev")
    booked = post(coo, **fields())
    assert booked.status_code == 303
    assert booked.headers["location"] == "/environments/dev?done=booked"
    page = coo.get(booked.headers["location"])
    assert '<p class="notice" role="status">Booked.' in page.text
    assert "<q>investor demo</q>" in page.text
    [from_page] = reservations(client)
    assert from_page["owner"] == "coo" and from_page["reason"] == "investor demo"
    assert from_page["starts"].startswith("2026-11-26T14:30:00")  # 15:30 in Berlin
    # what `signalbox reserve dev --from 15:30 --to 16:30` sends
    cli = client.post(
        "/api/environments/dev/reservations",
        headers=ADMIN,
        json={"starts": "15:30", "ends": "16:30", "reason": "investor demo"},
    ).json()["reservation"]
    assert (cli["starts"], cli["ends"], cli["timezone"]) == (
        from_page["starts"],
        from_page["ends"],
        from_page["timezone"],
    )


def test_without_a_date_the_times_are_today_as_the_cli_reads_them(client, browser_for):
    coo = browser_for("coo", "stakeholder:dev")
    assert post(coo, **fields(day="")).status_code == 303
    [booked] = reservations(client)
    assert booked["starts"].startswith("2026-11-26T14:30:00")
    assert booked["ends"].startswith("2026-11-26T15:30:00")


def test_a_viewers_forged_post_is_refused_and_books_nothing(client, browser_for):
    viewer = browser_for("investor", "viewer:dev")
    forged = post(viewer, **fields(confirmed="yes"))
    assert forged.status_code == 403 and "<h1>Not allowed</h1>" in forged.text
    other_env = post(browser_for("prod-coo", "stakeholder:prod"), **fields(confirmed="yes"))
    assert other_env.status_code == 403
    assert reservations(client) == []


def test_a_post_without_the_form_token_is_refused_and_books_nothing(client, browser_for):
    coo = browser_for("coo", "stakeholder:dev")
    tokenless = coo.post("/environments/dev/reserve", data=fields(confirmed="yes"))
    assert tokenless.status_code == 403 and "form token" in tokenless.text
    cross_site = coo.post(
        "/environments/dev/reserve",
        data={"csrf": coo.form_token, **fields(confirmed="yes")},
        headers={"Origin": "https://evil.example"},
    )
    assert cross_site.status_code == 403
    assert reservations(client) == []


def test_a_queued_deploy_is_warned_of_then_booked_anyway(client, browser_for):
    running = request_deploy(client, "c0ffee1")  # runs 13:00-13:17 Berlin, expected
    queued = request_deploy(client, "beefcafe")  # may run until 13:34
    assert (running["decision"], queued["decision"]) == ("go", "wait")
    coo = browser_for("coo", "stakeholder:dev")
    warned = post(coo, **fields(starts="13:20", ends="14:00"))
    assert warned.status_code == 409
    assert "Not booked yet: this window overlaps" in warned.text
    queued_id = queued["deploy"]["id"]
    assert f"Deploy {queued_id} (main @ beefcaf) by frontend-dev" in warned.text
    assert "1st in line" in warned.text and "about 13:34 CET" in warned.text
    assert f"Deploy {running['deploy']['id']} " not in warned.text  # ends 13:17: clear
    assert reservations(client) == []
    confirm = re.search(
        r'<form method="post" action="/environments/dev/reserve" class="confirm">'
        r"(.*?)</form>",
        warned.text,
        re.S,
    )
    assert confirm, "no Book anyway form"
    hidden = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', confirm[1]))
    assert hidden == {
        "csrf": coo.form_token,
        "date": TODAY,
        "from": "13:20",
        "to": "14:00",
        "reason": "investor demo",
        "confirmed": "yes",
    }
    assert '<button type="submit">Book anyway</button>' in confirm[1]
    # the editable form keeps the input too
    assert (value_of(warned.text, "from"), value_of(warned.text, "reason")) == (
        "13:20",
        "investor demo",
    )
    anyway = coo.post("/environments/dev/reserve", data=hidden, follow_redirects=False)
    assert anyway.status_code == 303
    [booked] = reservations(client)
    assert booked["starts"].startswith("2026-11-26T12:20:00") and booked["owner"] == "coo"


def test_a_running_deploy_that_would_still_run_is_warned_of(client, browser_for):
    running = request_deploy(client, "c0ffee1")  # expected to end 13:17 Berlin
    warned = post(browser_for("coo", "stakeholder:dev"), **fields(starts="13:10", ends="14:00"))
    assert warned.status_code == 409
    assert f"Deploy {running['deploy']['id']} (main @ c0ffee1)" in warned.text
    assert "is running and is expected to end about 13:17 CET" in warned.text
    assert "Ask frontend-dev" in warned.text


def test_another_reservation_or_a_freeze_is_warned_of_with_whom_to_ask(client, browser_for):
    client.post(
        "/api/environments/dev/reservations",
        headers=ADMIN,
        json={"starts": "15:00", "ends": "16:00", "reason": "<b>rehearsal</b>"},
    )
    coo = browser_for("coo", "stakeholder:dev")
    warned = post(coo, **fields())
    assert warned.status_code == 409
    assert "bootstrap-admin has reserved 15:00 CET–16:00 CET" in warned.text
    assert "(&lt;b&gt;rehearsal&lt;/b&gt;)" in warned.text and "<b>rehearsal" not in warned.text
    assert "Ask bootstrap-admin" in warned.text
    friday = post(coo, **fields(day="2026-11-27", starts="17:00", ends="19:00"))
    assert friday.status_code == 409 and "freeze window" in friday.text
    assert "weekend freeze" in friday.text
    assert len(reservations(client)) == 1  # only the admin's


@pytest.mark.parametrize(
    ("form", "said"),
    [
        (fields(starts="16:30", ends="15:30"), "before or when it starts"),
        (fields(starts="25:99"), "'2026-11-26 25:99' is not a valid date and time."),
        (fields(starts=""), "Give the time the window starts, such as 15:30."),
        (fields(day="30/11/2026"), "'30/11/2026' is not a date."),
        (fields(reason="  "), "A reservation needs a reason"),
        (fields(day="2026-11-25"), "The window ended already"),
    ],
)
def test_bad_input_is_explained_kept_and_changes_nothing(client, browser_for, form, said):
    coo = browser_for("coo", "stakeholder:dev")
    answer = post(coo, **form, confirmed="yes")
    assert answer.status_code == 422
    assert '<p class="problem" role="alert" id="booking-problem">' in answer.text
    assert said in html.unescape(answer.text)
    assert value_of(answer.text, "from") == form["from"]
    assert value_of(answer.text, "date") == form["date"]
    assert value_of(answer.text, "reason") == form["reason"].strip()
    assert reservations(client) == []


def test_the_live_check_tells_the_warnings_before_book_is_pressed(client, browser_for):
    client.post(
        "/api/environments/dev/reservations",
        headers=ADMIN,
        json={"starts": "15:00", "ends": "16:00", "reason": "rehearsal"},
    )
    coo = browser_for("coo", "stakeholder:dev")
    base = "/environments/dev/reserve/check?date=2026-11-26"
    overlapping = coo.get(f"{base}&from=15:30&to=16:30")
    assert overlapping.status_code == 200
    assert "Before you book: this window overlaps" in overlapping.text
    assert "bootstrap-admin has reserved 15:00 CET–16:00 CET (rehearsal)" in overlapping.text
    assert "<html" not in overlapping.text  # a fragment
    clear = coo.get(f"{base}&from=17:00&to=18:00").text
    assert "Nothing overlaps this window" in clear
    bad = coo.get(f"{base}&from=18:00&to=17:00").text
    assert "before or when it starts" in bad and 'class="problem"' in bad
    assert coo.get(f"{base}&from=17:00&to=").text.strip() == ""  # not filled in yet
    assert [r["owner"] for r in reservations(client)] == ["bootstrap-admin"]
