"""Reminders that time alone makes worth telling, written as events and delivered like any
other (SQLite and PostgreSQL, fake clock): a reservation starting soon, once, and not for one
made inside the lead time; an incident without an update, after ``incident_update_every`` and
again a period later, never after it is resolved.

The clock starts at 2026-11-26 12:00 UTC = 13:00 in Europe/Berlin (dev's zone)."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.notify.notify_helpers import deliver, event_ids, notify_settings, target
from tests.services.deploy_helpers import COO

from signalbox.core.views import Principal
from signalbox.services.incidents import open_incident, resolve_incident, update_incident
from signalbox.services.reservations import (
    ReservationCreate,
    cancel_reservation,
    create_reservation,
)

ALICE = Principal("alice", is_ci=False)
NOON = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def reserve(engine, settings, clock, starts: str, ends: str, reason: str = "investor demo"):
    return create_reservation(
        engine, settings, ReservationCreate("dev", starts, ends, reason), owner=COO, now=clock.now()
    )


def at(clock, engine, settings, hours: int, minutes: int, seconds: int = 0):
    """Move the clock to ``hours:minutes:seconds`` UTC today and run the notifier there."""
    clock.set(NOON.replace(hour=hours, minute=minutes, second=seconds))
    return deliver(engine, settings, clock, remind=True)


def titles(receiver) -> list[str]:
    return [post.title for post in receiver.posts]


def test_a_reservation_is_reminded_once_before_it_starts(engine, settings, clock, http_receiver):
    settings = notify_settings(settings, target("dev-channel", http_receiver.url("json")))
    demo = reserve(engine, settings, clock, "15:30", "16:30")  # 14:30 UTC; 15 min before: 14:15
    at(clock, engine, settings, 12, 0)
    assert at(clock, engine, settings, 14, 14, 59).reminded == 0
    assert at(clock, engine, settings, 14, 15).reminded == 1
    for minutes in (16, 20, 29):
        assert at(clock, engine, settings, 14, minutes).reminded == 0
    created, soon = http_receiver.wait_for(2)
    assert created.title == "dev: reservation created"
    assert soon.title == "dev: reservation starts soon"
    assert soon.message.split("\n") == [
        "coo's reservation of dev (investor demo) starts soon: 15:30 CET to 16:30 CET. "
        "Deploys that would run into it are refused until it ends.",
        f"http://127.0.0.1:8787/environments/dev/reservations/{demo.id}",
        f"signalbox event {soon.event_id}",
    ]
    assert event_ids(engine, "reservation.starting-soon") == [soon.event_id]
    assert len(http_receiver.attempts) == 2


def test_a_reservation_made_inside_the_lead_time_is_not_reminded(
    engine, settings, clock, http_receiver
):
    settings = notify_settings(settings, target("dev-channel", http_receiver.url("json")))
    reserve(engine, settings, clock, "13:10", "14:00")  # starts in 10 minutes
    for minutes in (0, 5, 9):
        assert at(clock, engine, settings, 12, minutes).reminded == 0
    assert titles(http_receiver) == ["dev: reservation created"]  # its creation was told


def test_a_cancelled_reservation_or_reminders_off_are_not_reminded(
    engine, settings, clock, http_receiver
):
    settings = notify_settings(settings, target("dev-channel", http_receiver.url("json")))
    first = reserve(engine, settings, clock, "15:30", "16:30")
    cancel_reservation(engine, first.id, by=COO, may_cancel_any=False, now=clock.now())
    assert at(clock, engine, settings, 14, 20).reminded == 0
    off = notify_settings(
        settings, target("dev-channel", http_receiver.url("json")), remind_before="off"
    )
    clock.set(NOON)
    reserve(engine, off, clock, "17:30", "18:30")
    assert at(clock, engine, off, 16, 20).reminded == 0
    assert event_ids(engine, "reservation.starting-soon") == []


def test_an_incident_without_updates_reminds_its_commander_each_period_until_resolved(
    engine, settings, clock, http_receiver
):
    settings = notify_settings(
        settings, target("incidents", http_receiver.url("json"), events=["incident.*"])
    )
    opened = open_incident(
        engine, settings, environment="dev", title="users cannot log in", severity="sev1",
        opener=ALICE, now=clock.now(),
    )  # fmt: skip
    number = opened.view.id
    assert at(clock, engine, settings, 12, 29, 59).reminded == 0
    assert at(clock, engine, settings, 12, 30).reminded == 1  # 30 min without an update
    assert at(clock, engine, settings, 12, 45).reminded == 0
    assert at(clock, engine, settings, 13, 0).reminded == 1  # a period later, again
    clock.set(NOON.replace(hour=13, minute=5))
    update_incident(
        engine, incident_id=number, caller=ALICE, caller_is_admin=False, now=clock.now(),
        status="identified", note="restoring the pool",
    )  # fmt: skip
    assert at(clock, engine, settings, 13, 34).reminded == 0  # counted from the update
    assert at(clock, engine, settings, 13, 35).reminded == 1
    clock.set(NOON.replace(hour=13, minute=40))
    resolve_incident(engine, incident_id=number, caller=ALICE, now=clock.now(), note="restored")
    for hours in (14, 15, 18):
        assert at(clock, engine, settings, hours, 40).reminded == 0

    posts = http_receiver.wait_for(6)
    assert [post.title for post in posts] == [
        "dev: incident opened",
        "dev: incident update due",
        "dev: incident update due",
        "dev: incident updated",
        "dev: incident update due",
        "dev: incident resolved",
    ]
    due = [post for post in posts if post.title == "dev: incident update due"]
    assert [post.sentence for post in due] == [
        f'Incident {number} on dev ("users cannot log in", investigating) has had no update '
        f"since 13:00 CET: alice, post one (`signalbox incident update {number}`) so people "
        "know when dev is back.",
        f'Incident {number} on dev ("users cannot log in", investigating) has had no update '
        f"since 13:00 CET: alice, post one (`signalbox incident update {number}`) so people "
        "know when dev is back.",
        f'Incident {number} on dev ("users cannot log in", identified) has had no update '
        f"since 14:05 CET: alice, post one (`signalbox incident update {number}`) so people "
        "know when dev is back.",
    ]
    assert due[0].message.split("\n")[1] == f"http://127.0.0.1:8787/incidents/{number}"


def test_incident_reminders_off(engine, settings, clock, http_receiver):
    settings = notify_settings(
        settings, target("incidents", http_receiver.url("json")), incident_update_every="off"
    )
    open_incident(
        engine, settings, environment="dev", title="users cannot log in", severity="sev1",
        opener=ALICE, now=clock.now(),
    )  # fmt: skip
    assert at(clock, engine, settings, 18, 0).reminded == 0
    assert event_ids(engine, "incident.update-due") == []
