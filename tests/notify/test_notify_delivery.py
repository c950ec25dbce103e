"""Delivery through real Apprise to a real loopback receiver, on SQLite and PostgreSQL, with a
fake clock: a receiver that fails or is down for a while gets every message once and in order;
retries follow the backoff; a delivery is given up after ``notify_give_up`` and the target
shows it, until ``retry`` sends again; history older than the give-up time is not sent; with
no target nothing is queued."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from tests.notify.notify_helpers import (
    LEASE,
    deliver,
    deliver_once,
    deliveries,
    event_ids,
    notify_settings,
    target,
    waiting_to_fan_out,
)
from tests.services.deploy_helpers import ENGINEER, deploy, engineer_holds_dev

from signalbox.core.notify import retry_at
from signalbox.services.holds import release_hold, renew_hold
from signalbox.services.notify.admin import (
    list_deliveries,
    retry_delivery,
    retry_target,
    target_statuses,
)
from signalbox.services.notify.fan_out import fan_out_once
from signalbox.services.notify.targets import build_targets
from signalbox.storage.tables import DeliveryState, EventRow
from signalbox.storage.uow import UnitOfWork

HOLD_KINDS = ("hold.granted", "hold.released")


def hold_and_release(engine, clock, times: int = 1) -> None:
    """The engineer holds dev and releases it, ``times`` times: two events each."""
    for _ in range(times):
        engineer_holds_dev(engine, clock)
        clock.advance(timedelta(seconds=1))
        release_hold(engine, environment="dev", principal=ENGINEER, now=clock.now())
        clock.advance(timedelta(seconds=1))


def states(engine, name: str) -> list[tuple[str, int]]:
    return [(row.state, row.attempts) for row in deliveries(engine, name)]


def test_a_receiver_that_fails_then_is_down_gets_every_message_once_in_order_and_holds_up_no_other(
    engine, settings, clock, http_receiver, second_http_receiver
):
    flaky, steady = http_receiver, second_http_receiver
    settings = notify_settings(
        settings, target("flaky", flaky.url("json", "/f")), target("steady", steady.url("json"))
    )
    flaky.fail(500)
    hold_and_release(engine, clock, times=2)
    deliver(engine, settings, clock)
    assert len(steady.wait_for(4)) == 4  # the other target is not held up
    assert (len(flaky.attempts), flaky.posts) == (1, [])  # the first failed: the rest wait
    assert states(engine, "flaky") == [("failed", 1)] + [("pending", 0)] * 3

    hold_and_release(engine, clock)  # more changes while it fails
    clock.advance(timedelta(seconds=10))
    deliver(engine, settings, clock)
    assert len(flaky.attempts) == 2 and flaky.posts == []
    flaky.refuse()  # down: connections refused
    clock.advance(timedelta(seconds=20))
    deliver(engine, settings, clock)
    assert states(engine, "flaky")[0] == ("failed", 3)
    [failing] = list_deliveries(engine, failed_only=True)
    assert "Connection error" in (failing.delivery.last_error or "")
    flaky.answer_ok()  # back
    clock.advance(timedelta(seconds=39))
    deliver(engine, settings, clock)
    assert flaky.posts == []  # not due yet: 40 s after the third failure
    clock.advance(timedelta(seconds=1))
    deliver(engine, settings, clock)

    wanted = event_ids(engine, *HOLD_KINDS)
    assert len(wanted) == 6
    assert [p.event_id for p in flaky.wait_for(6)] == wanted  # each once, in order
    assert [p.event_id for p in steady.wait_for(6)] == wanted
    assert len(flaky.attempts) == 2 + 6  # two answered 500, then each message once
    assert {state for state, _ in states(engine, "flaky")} == {"delivered"}


def test_retries_come_when_retry_at_says(engine, settings, clock, http_receiver):
    settings = notify_settings(settings, target("flaky", http_receiver.url("json")))
    http_receiver.fail(503)
    engineer_holds_dev(engine, clock)
    queued_at = clock.now()
    deliver(engine, settings, clock)
    gaps = []
    for attempt in range(1, 8):
        assert len(http_receiver.attempts) == attempt
        [row] = deliveries(engine, "flaky")
        assert (row.state, row.attempts) == ("failed", attempt)
        expected = retry_at(
            attempt=attempt, queued_at=queued_at, now=clock.now(), give_up=settings.give_up_after
        )
        assert row.next_attempt_at == expected
        gaps.append((row.next_attempt_at - clock.now()).total_seconds())
        clock.set(row.next_attempt_at - timedelta(milliseconds=1))
        deliver(engine, settings, clock)
        assert len(http_receiver.attempts) == attempt  # not a moment early
        clock.set(row.next_attempt_at)
        deliver(engine, settings, clock)
    assert gaps == [10, 20, 40, 80, 160, 300, 300]


def test_a_delivery_is_given_up_after_notify_give_up_the_queue_moves_on_and_retry_sends_again(
    engine, settings, clock, http_receiver
):
    settings = notify_settings(
        settings, target("flaky", http_receiver.url("json")), notify_give_up="2m"
    )
    targets = build_targets(settings)
    http_receiver.fail(500)
    hold_and_release(engine, clock)  # two events, queued at the same turn
    granted, released = event_ids(engine, *HOLD_KINDS)
    deliver(engine, settings, clock)
    start = clock.now()
    for seconds in (10, 30):  # failures at 0, 10 and 30 s; the next at 70 s
        clock.set(start + timedelta(seconds=seconds))
        deliver(engine, settings, clock)
    [status] = target_statuses(engine, targets)
    assert status.failing and status.health is not None
    assert status.health.failing is not None and status.health.failing.event_id == granted
    assert status.health.given_up == 0 and status.health.open == 2

    clock.set(start + timedelta(seconds=70))  # the fourth failure: the next (150 s) is too late
    turn = deliver(engine, settings, clock)
    assert turn.gave_up == 1 and turn.failed == 1  # the second message is tried at once
    first, second = deliveries(engine, "flaky")
    assert (first.state, first.attempts) == (DeliveryState.GIVEN_UP, 4)
    assert (second.state, second.attempts) == (DeliveryState.FAILED, 1)
    [status] = target_statuses(engine, targets)
    assert status.failing and status.health.given_up == 1  # type: ignore[union-attr]
    assert status.health.failing.event_id == released  # type: ignore[union-attr]

    for seconds in (80, 100):  # its own give-up time is the same 2 minutes after queuing
        clock.set(start + timedelta(seconds=seconds))
        deliver(engine, settings, clock)
    assert [row.state for row in deliveries(engine, "flaky")] == ["given-up", "given-up"]
    [status] = target_statuses(engine, targets)
    assert not status.failing and status.health.given_up == 2  # type: ignore[union-attr]
    troubled = list_deliveries(engine, failed_only=True)
    assert [read.event.id for read in troubled] == [released, granted]  # newest first
    assert all("error=500" in (read.delivery.last_error or "") for read in troubled)
    assert http_receiver.posts == []

    http_receiver.answer_ok()
    clock.advance(timedelta(hours=1))  # long after: a retry is queued anew, not too old
    assert retry_target(engine, targets, "flaky", now=clock.now()) == 2
    deliver(engine, settings, clock)
    assert [p.event_id for p in http_receiver.wait_for(2)] == [granted, released]
    [status] = target_statuses(engine, targets)
    assert status.health.given_up == 0 and not status.failing  # type: ignore[union-attr]

    # one message sent again on request (a receiver drops it by its event id if it must)
    first = deliveries(engine, "flaky")[0]
    retry_delivery(engine, first.id, now=clock.now())
    deliver(engine, settings, clock)
    assert [p.event_id for p in http_receiver.wait_for(3)] == [granted, released, granted]


def test_events_older_than_the_give_up_time_when_first_seen_are_not_sent(
    engine, settings, clock, http_receiver
):
    """History from before notifications were configured (or a notifier down for longer than
    the give-up time) is not sent; an event just inside the give-up time is."""
    settings = notify_settings(
        settings, target("dev-channel", http_receiver.url("json")), notify_give_up="1h"
    )
    engineer_holds_dev(engine, clock)  # at t
    clock.advance(timedelta(seconds=1))
    release_hold(engine, environment="dev", principal=ENGINEER, now=clock.now())  # at t + 1 s
    clock.advance(timedelta(hours=1))  # now: the hold is 1 h 1 s old, the release 1 h
    turn = deliver(engine, settings, clock)
    assert turn.delivered == 1
    [post] = http_receiver.wait_for(1)
    assert post.title == "dev: hold released"
    assert waiting_to_fan_out(engine) == 0  # the old one is marked, not left waiting
    assert [row.event_id for row in deliveries(engine)] == [post.event_id]


def test_with_no_target_events_are_marked_and_nothing_is_queued(engine, settings, clock):
    hold_and_release(engine, clock, times=3)
    assert waiting_to_fan_out(engine) >= 6
    marked = fan_out_once(engine, {}, now=clock.now(), give_up=settings.give_up_after)
    assert marked >= 6 and waiting_to_fan_out(engine) == 0
    assert deliveries(engine) == []
    with UnitOfWork(engine, read_only=True) as uow:
        stamps = set(uow.session.scalars(select(EventRow.fanned_out_at)))
    assert stamps == {clock.now()}


def test_what_nobody_wants_or_is_not_worth_telling_is_marked_without_a_delivery(
    engine, settings, clock, http_receiver
):
    settings = notify_settings(
        settings, target("dev", http_receiver.url("json"), environments=["dev"])
    )
    engineer_holds_dev(engine, clock)  # told
    renew_hold(
        engine, environment="dev", principal=ENGINEER, now=clock.now(),
        duration=timedelta(hours=3),
    )  # fmt: skip  # 3 h from the start: routine, not told
    renew_hold(
        engine, environment="dev", principal=ENGINEER, now=clock.now() + timedelta(hours=2),
        duration=timedelta(hours=3),
    )  # fmt: skip  # 5 h from the start: past the long hold, told
    release_hold(engine, environment="dev", principal=ENGINEER, now=clock.now())
    running = deploy(engine, settings, clock)  # its own hold: told by deploy.started only
    assert running.decision == "go"
    deliver(engine, settings, clock)
    titles = [p.title for p in http_receiver.wait_for(4)]
    assert titles == ["dev: hold granted", "dev: hold renewed", "dev: hold released",
                      "dev: apply started"]  # fmt: skip
    assert waiting_to_fan_out(engine) == 0
    told = {row.event_id for row in deliveries(engine)}
    renewals = event_ids(engine, "hold.renewed")
    assert renewals[0] not in told and renewals[1] in told


def test_a_failure_in_the_middle_of_a_run_gives_the_rest_back_untried(
    engine, settings, clock, http_receiver
):
    settings = notify_settings(settings, target("dev", http_receiver.url("json")))
    engineer_holds_dev(engine, clock)
    deliver(engine, settings, clock)
    http_receiver.wait_for(1)
    release_hold(engine, environment="dev", principal=ENGINEER, now=clock.now())
    hold_and_release(engine, clock)
    http_receiver.fail(502, times=1)  # the next request fails, then it answers again
    turn = deliver(engine, settings, clock)
    assert (turn.failed, turn.released) == (1, 2)  # claimed as one run of three
    assert states(engine, "dev")[1:] == [("failed", 1), ("pending", 0), ("pending", 0)]
    clock.advance(timedelta(seconds=10))
    deliver(engine, settings, clock)
    assert [p.event_id for p in http_receiver.wait_for(4)] == event_ids(engine, *HOLD_KINDS)


def test_a_target_with_two_urls_is_retried_until_both_take_it_and_the_id_dedupes(
    engine, settings, clock, http_receiver, second_http_receiver
):
    """At least once: the URL that took the message gets it again when the other one failed;
    the event id in the message lets it drop the copy."""
    settings = notify_settings(
        settings, target("both", http_receiver.url("json"), second_http_receiver.url("form"))
    )
    second_http_receiver.fail(500, times=1)
    engineer_holds_dev(engine, clock)
    deliver(engine, settings, clock)
    [row] = deliveries(engine, "both")
    assert row.state == "failed" and "1 of 2 URLs took it" in (row.last_error or "")
    clock.advance(timedelta(seconds=10))
    deliver(engine, settings, clock)
    first, again = http_receiver.wait_for(2)
    assert first.event_id == again.event_id and first.message == again.message
    [only] = second_http_receiver.wait_for(1)
    assert only.event_id == first.event_id


def test_a_target_no_longer_configured_keeps_its_deliveries_until_it_is_back(
    engine, settings, clock, http_receiver
):
    old = notify_settings(settings, target("old", http_receiver.url("json")))
    engineer_holds_dev(engine, clock)
    fan_out_once(engine, build_targets(old), now=clock.now(), give_up=old.give_up_after)
    renamed = notify_settings(settings, target("new", http_receiver.url("json")))
    deliver(engine, renamed, clock)
    [row] = deliveries(engine, "old")
    assert row.state == "pending" and row.attempts == 0  # not claimed, not failed
    assert http_receiver.attempts == []
    [waiting] = [s for s in target_statuses(engine, build_targets(renamed)) if s.name == "old"]
    assert not waiting.configured and waiting.health is not None and waiting.health.open == 1
    deliver(engine, old, clock)  # the target is back: its message goes
    [post] = http_receiver.wait_for(1)
    assert post.title == "dev: hold granted"


def test_a_long_queue_goes_in_runs_in_order(engine, settings, clock, http_receiver):
    settings = notify_settings(settings, target("dev", http_receiver.url("json")))
    hold_and_release(engine, clock, times=13)  # 26 messages: runs of 20 and 6
    turn = deliver(engine, settings, clock)
    wanted = event_ids(engine, *HOLD_KINDS)
    assert turn.delivered == len(wanted) == 26
    assert [p.event_id for p in http_receiver.wait_for(len(wanted))] == wanted


def test_a_receiver_that_hangs_is_a_failure_and_the_message_goes_later(
    engine, settings, clock, http_receiver
):
    """A request that gets no answer times out (Apprise's read timeout, ``rto``): the delivery
    fails and is tried again, nothing is lost."""
    url = http_receiver.url("json", "/slow?rto=0.5&cto=0.5")
    settings = notify_settings(settings, target("slow", url))
    http_receiver.hang()
    engineer_holds_dev(engine, clock)
    deliver(engine, settings, clock)
    assert len(http_receiver.wait_for_hung(1)) == 1
    [row] = deliveries(engine, "slow")
    assert row.state == "failed"
    http_receiver.answer_ok()
    clock.advance(timedelta(seconds=10))
    deliver(engine, settings, clock)
    [post] = http_receiver.wait_for(1)
    assert post.title == "dev: hold granted"


def test_a_run_whose_claim_ran_out_stops_and_gives_the_rest_back(
    engine, settings, clock, http_receiver
):
    """Past its claim another server may take the same deliveries: a server that went on
    sending would interleave its copies with the other's (1, 2, 1, 3, 2, 3). It stops, marks
    what it delivered and gives the rest back."""
    settings = notify_settings(settings, target("dev", http_receiver.url("json")))
    hold_and_release(engine, clock)
    engineer_holds_dev(engine, clock)  # three messages, claimed as one run
    http_receiver.on_post = lambda _post: clock.advance(LEASE + timedelta(seconds=1))
    first = deliver_once(engine, settings, clock)
    assert (first.delivered, first.released) == (1, 2)
    assert states(engine, "dev") == [("delivered", 1), ("pending", 0), ("pending", 0)]
    http_receiver.on_post = None
    deliver(engine, settings, clock)
    assert [p.event_id for p in http_receiver.wait_for(3)] == event_ids(engine, *HOLD_KINDS)
    assert len(http_receiver.attempts) == 3
