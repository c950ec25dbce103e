"""An event read back from the log is told in words, or by its stored message when its data
cannot be told: never an error that every later read of the log would meet again."""

from __future__ import annotations

from datetime import UTC, datetime

from signalbox.core.events import SCHEMA_VERSION, IncidentResolved, to_data
from signalbox.services.events import told
from signalbox.storage.tables import EventRow

NOW = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)


def _row(event: IncidentResolved) -> EventRow:
    return EventRow(
        environment="dev",
        at=NOW,
        actor="alice",
        kind=event.kind,
        message="alice resolved incident 3.",
        data=to_data(event),
        schema_version=SCHEMA_VERSION,
    )


def resolved(duration_seconds: float) -> IncidentResolved:
    return IncidentResolved(
        incident_id=3, title="users cannot log in", severity="sev1", status="resolved",
        commander="alice", freezes=True, duration_seconds=duration_seconds,
    )  # fmt: skip


def test_an_event_is_told_again_in_words():
    assert told(_row(resolved(3600)), "Europe/Berlin", NOW) != "alice resolved incident 3."


def test_an_event_whose_data_cannot_be_told_reads_as_its_stored_message():
    assert told(_row(resolved(1e15)), "Europe/Berlin", NOW) == "alice resolved incident 3."
