"""`signalbox watch [ENV] [--json]`: follow the events live in a terminal.

It reads the server-sent events of ``GET /api/events/stream`` and prints one line per event
(``15:30 dev hold.granted platform-eng held dev for 2h ...``), or with ``--json`` each event
as one JSON line. When the connection drops (the server restarts, the network goes away) it
connects again, with backoff, sending the last event id it printed (``Last-Event-ID``), so
nothing written meanwhile is missed and nothing is printed twice. Ctrl-C ends it, quietly,
with exit code 0.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import typer

from signalbox.cli.client import TOKEN_OPTION, URL_OPTION, ApiClient
from signalbox.core.errors import ServerUnreachable
from signalbox.core.times import to_zone

__all__ = ["WATCH_HELP", "Frame", "event_line", "frames", "watch"]

WATCH_HELP = "\n\n".join(
    (
        "Follow the events live: one line per event as it happens (time, environment, kind, "
        "what happened), in the environment's time zone; --json prints each as one JSON line.",
        "Without ENV, every environment you may read (and global events with read on *). "
        "Only new events are shown. When the connection drops it connects again and goes on "
        "where it stopped. Ctrl-C stops it (exit 0); exits 1 when the server cannot be reached "
        "at start, 2 for an unknown environment, 77 without the read grant.",
        "Example: signalbox watch dev",
        "Example: signalbox watch --json | jq .message",
    )
)

STREAM_PATH = "/api/events/stream"
READ_TIMEOUT_SECONDS = 45.0
"""The server sends a keep-alive every 15 s: this long with nothing means the link is dead."""
RECONNECT_FIRST_SECONDS = 0.5
RECONNECT_MAX_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class Frame:
    """One server-sent event: its ``id``, ``event`` name and ``data`` (lines joined)."""

    id: str | None
    event: str
    data: str


def frames(lines: Iterable[str]) -> Iterator[Frame]:
    """The events of a ``text/event-stream`` (comments and ``retry:`` skipped)."""
    event_id: str | None = None
    name, data = "message", list[str]()
    for line in lines:
        if not line:
            if data:
                yield Frame(event_id, name, "\n".join(data))
            event_id, name, data = None, "message", []
            continue
        if line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "id":
            event_id = value
        elif field == "event":
            name = value
        elif field == "data":
            data.append(value)


def event_line(event: dict[str, Any]) -> str:
    """``HH:MM ENV KIND MESSAGE``, the time in the event's zone (``-`` for a global event)."""
    at = to_zone(datetime.fromisoformat(event["at"]), event.get("timezone") or "UTC")
    return f"{at:%H:%M} {event['environment'] or '-'} {event['kind']} {event['message']}"


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


class _Follower:
    def __init__(self, client: ApiClient, env: str | None) -> None:
        self.client = client
        self.env = env
        self.last_id: str | None = None
        self.connected = False
        """Whether any connection was made (until then, a failure to connect is an error)."""
        self.streaming = False
        """Whether the current attempt got the stream."""

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "text/event-stream"}
        if self.last_id is not None:
            headers["Last-Event-ID"] = self.last_id
        return headers

    def follow_once(self, show: Callable[[dict[str, Any]], None]) -> None:
        """One connection: print its events until it ends (TransportError when it drops)."""
        params = {"env": self.env} if self.env else {}
        with self.client.stream(
            STREAM_PATH, params=params, headers=self._headers(), read_timeout=READ_TIMEOUT_SECONDS
        ) as response:
            where = self.env or "every environment you may read"
            again = " again" if self.connected else ""
            _say(f"Watching{again} {where} (Ctrl-C to stop).")
            self.connected = self.streaming = True
            for frame in frames(response.iter_lines()):
                show(json.loads(frame.data))
                if frame.id is not None:
                    self.last_id = frame.id

    def follow(self, show: Callable[[dict[str, Any]], None]) -> None:
        """Follow until interrupted: connect again after each drop, with backoff (only the
        first connection failing is an error: ServerUnreachable)."""
        import httpx

        delay = RECONNECT_FIRST_SECONDS
        while True:
            self.streaming = False
            try:
                self.follow_once(show)
                lost = "The server ended the stream"
            except httpx.TransportError as failure:
                if not self.connected:
                    raise ServerUnreachable(
                        f"Could not reach the signalbox server at {self.client.base_url} "
                        f"({failure}).",
                        hint="Is it running (signalbox serve)? Check --url or SIGNALBOX_URL.",
                    ) from None
                lost = f"Lost the connection ({type(failure).__name__})"
            if self.streaming:  # it was connected: an outage starts
                _say(f"{lost}; connecting again.")
                delay = RECONNECT_FIRST_SECONDS
            time.sleep(delay)  # backoff between reconnections, not synchronisation
            delay = min(delay * 2, RECONNECT_MAX_SECONDS)


def watch(
    env: str | None = typer.Argument(
        None,
        metavar="ENV",
        help="Only this environment [default: every one you may read].",
        show_default=False,
    ),
    as_json: bool = typer.Option(
        False, "--json", help="Print each event as one line of JSON (as GET /api/events)."
    ),
    url: str | None = URL_OPTION,
    token: str | None = TOKEN_OPTION,
) -> None:
    def show(event: dict[str, Any]) -> None:
        print(json.dumps(event) if as_json else event_line(event), flush=True)

    try:
        _Follower(ApiClient.from_options(url, token), env).follow(show)
    except KeyboardInterrupt:
        return
    except BrokenPipeError:  # `signalbox watch | head`: the reader is gone; end quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
