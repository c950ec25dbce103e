"""`signalbox watch` reads a text/event-stream: events with their id and name, data over
several lines, comments (keep-alives) and the retry field skipped; a line per event."""

from __future__ import annotations

from signalbox.cli.watch import Frame, event_line, frames


def test_frames_read_events_and_skip_comments_and_retry() -> None:
    stream = [
        "retry: 2000",
        ": following events",
        "",
        "id: 7",
        "event: hold.granted",
        'data: {"a":',
        "data: 1}",
        "",
        ": keep-alive",
        "",
        "data:no space",
        "",
    ]
    assert list(frames(stream)) == [
        Frame("7", "hold.granted", '{"a":\n1}'),
        Frame(None, "message", "no space"),
    ]


def test_an_event_line_is_hh_mm_env_kind_message_in_its_zone() -> None:
    event = {
        "at": "2026-11-26T12:05:00Z",
        "timezone": "Europe/Berlin",
        "environment": "dev",
        "kind": "hold.granted",
        "message": "platform-eng held dev for 2h (until 15:05 CET): renaming the pool.",
    }
    assert event_line(event) == (
        "13:05 dev hold.granted platform-eng held dev for 2h (until 15:05 CET): renaming the pool."
    )
    global_event = {**event, "environment": None, "timezone": "UTC", "kind": "token.created"}
    assert event_line(global_event).startswith("12:05 - token.created ")
