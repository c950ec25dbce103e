"""What a window about to be booked would run into (core.booking): the running deploy, the
queued deploys by their conservative ends, and overlapping reservations and freeze windows."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st
from tests.core.factories import T0, at

from signalbox.core.booking import booking_conflicts, queued_ends, running_ends
from signalbox.core.status import PictureDeploy
from signalbox.core.views import ReservationView

EXPECTED = timedelta(minutes=17)


def shown(ident: int, *, position: int | None, started: float | None = None) -> PictureDeploy:
    return PictureDeploy(
        id=ident,
        requester="ci-dev",
        actor="frontend-dev",
        branch="main",
        commit=f"c0ffee{ident:04d}",
        state="running" if position is None else "queued",
        requested_at=at(-30),
        started_at=at(started) if started is not None else None,
        position=position,
        plan=None,
    )


def window(
    ident: int | None, start: float, end: float, *, owner: str = "cto", kind: str = "reservation"
) -> ReservationView:
    return ReservationView(ident, "dev", owner, "board meeting", at(start), at(end), kind)


def conflicts(start: float, end: float, *, running=None, queue=(), windows=()):
    return booking_conflicts(
        starts=at(start),
        ends=at(end),
        now=T0,
        expected_deploy=EXPECTED,
        running=running,
        queue=list(queue),
        windows=list(windows),
        timezone="Europe/Berlin",
    )


def test_nothing_on_the_environment_means_nothing_to_warn_of():
    assert conflicts(30, 90) == []


def test_a_running_deploy_overlaps_when_it_would_still_run_at_the_start():
    running = shown(7, position=None, started=-10)  # expected to end at T0 + 7 min
    [found] = conflicts(5, 60, running=running)
    assert found.kind == "running" and found.ref == 7 and found.whom == "frontend-dev"
    assert "Deploy 7 (main @ c0ffee0) by frontend-dev (via ci-dev) is running" in found.message
    assert "about 14:51 CET" in found.message and "(14:49 CET)" in found.message
    assert conflicts(7, 60, running=running) == []  # it ends exactly when the window starts


def test_a_deploy_running_longer_than_expected_still_overlaps_a_window_starting_now():
    overdue = shown(7, position=None, started=-40)
    assert running_ends(overdue, expected=EXPECTED, now=T0) == T0
    assert [c.kind for c in conflicts(-1, 60, running=overdue)] == ["running"]
    assert conflicts(1, 60, running=overdue) == []


def test_queued_deploys_end_at_the_latest_one_expected_duration_per_place():
    queue = [shown(8, position=1), shown(9, position=2)]
    # 8 ends by T0 + 17, 9 by T0 + 34
    assert [c.ref for c in conflicts(20, 60, queue=queue)] == [9]
    assert [c.ref for c in conflicts(10, 60, queue=queue)] == [8, 9]
    assert conflicts(34, 60, queue=queue) == []
    [second] = conflicts(20, 60, queue=queue)
    assert "queued (2nd in line)" in second.message and "tell frontend-dev" in second.message


def test_the_queue_starts_when_the_running_deploy_is_expected_to_end():
    running = shown(7, position=None, started=-10)  # ends at T0 + 7
    assert queued_ends(1, running_end=at(7), expected=EXPECTED, now=T0) == at(24)
    found = conflicts(20, 60, running=running, queue=[shown(8, position=1)])
    assert [(c.kind, c.ref) for c in found] == [("queued", 8)]


def test_overlapping_reservations_and_freezes_are_told_by_start_with_whom_to_ask():
    windows = [
        window(None, 50, 70, owner="policy", kind="freeze"),
        window(3, 10, 40),
        window(4, 60, 120),  # starts when ours ends: no overlap
    ]
    found = conflicts(30, 60, windows=windows)
    assert [(c.kind, c.ref, c.whom) for c in found] == [
        ("reservation", 3, "cto"),
        ("freeze", None, None),
    ]
    assert found[0].message.startswith("cto has reserved 14:54 CET–15:24 CET (board meeting).")
    assert "freeze window" in found[1].message


def test_a_window_on_another_day_names_the_day():
    [found] = conflicts(60 * 24, 60 * 25, windows=[window(3, 60 * 24, 60 * 48)])
    assert "reserved Fri 27 Nov 14:44 CET–Sat 28 Nov 14:44 CET" in found.message
    [same_day] = conflicts(60 * 24, 60 * 25, windows=[window(3, 60 * 24, 60 * 25)])
    assert "reserved Fri 27 Nov 14:44 CET–15:44 CET (" in same_day.message


# properties --------------------------------------------------------------------------

minutes = st.integers(min_value=-120, max_value=600)
spans = st.tuples(minutes, st.integers(min_value=1, max_value=240))
windows_strategy = st.lists(spans, max_size=6).map(
    lambda found: [window(i + 1, s, s + d) for i, (s, d) in enumerate(found)]
)


@st.composite
def environments(draw):
    running = None
    if draw(st.booleans()):
        running = shown(1, position=None, started=draw(st.integers(-60, 0)))
    queue = [shown(10 + i, position=i + 1) for i in range(draw(st.integers(0, 4)))]
    return running, queue, draw(windows_strategy)


def _latest_deploy_end(running, queue) -> datetime:
    running_end = running_ends(running, expected=EXPECTED, now=T0) if running else None
    ends = [running_end] if running_end else []
    ends += [
        queued_ends(d.position, running_end=running_end, expected=EXPECTED, now=T0) for d in queue
    ]
    return max(ends, default=T0)


@given(environment=environments(), gap=st.integers(0, 600), length=st.integers(1, 240))
def test_a_window_after_every_deploy_and_clear_of_every_reservation_has_no_conflict(
    environment, gap, length
):
    running, queue, windows = environment
    start = _latest_deploy_end(running, queue) + timedelta(minutes=gap)
    end = start + timedelta(minutes=length)
    clear = [w for w in windows if w.ends <= start or w.starts >= end]
    found = booking_conflicts(
        starts=start,
        ends=end,
        now=T0,
        expected_deploy=EXPECTED,
        running=running,
        queue=queue,
        windows=clear,
    )
    assert found == []


@given(environment=environments(), span=spans)
def test_every_intersecting_reservation_is_reported_and_no_other(environment, span):
    running, queue, windows = environment
    start, end = at(span[0]), at(span[0] + span[1])
    found = booking_conflicts(
        starts=start,
        ends=end,
        now=T0,
        expected_deploy=EXPECTED,
        running=running,
        queue=queue,
        windows=windows,
    )
    intersecting = {w.id for w in windows if w.starts < end and start < w.ends}
    assert {c.ref for c in found if c.kind == "reservation"} == intersecting


@given(environment=environments(), span=spans, later=st.integers(0, 600))
def test_moving_a_window_later_never_adds_a_deploy_conflict(environment, span, later):
    running, queue, _ = environment
    start = at(max(span[0], 0))
    length = timedelta(minutes=span[1])

    def deploy_refs(begin: datetime) -> set[int | None]:
        found = booking_conflicts(
            starts=begin,
            ends=begin + length,
            now=T0,
            expected_deploy=EXPECTED,
            running=running,
            queue=queue,
            windows=[],
        )
        return {c.ref for c in found}

    assert deploy_refs(start + timedelta(minutes=later)) <= deploy_refs(start)
