"""What `signalbox status` adds per environment: next reservation, queue, last deploy."""

from __future__ import annotations

from datetime import UTC, datetime

from signalbox.cli.deploys import figure_cells, merge_figures

NOW = datetime(2026, 11, 26, 14, 45, tzinfo=UTC)
DEMO = {
    "id": 1,
    "environment": "dev",
    "owner": "coo",
    "reason": "investor demo",
    "starts": "2026-11-26T14:30:00+00:00",
    "ends": "2026-11-26T15:30:00+00:00",
    "kind": "reservation",
    "timezone": "Europe/Berlin",
}
LAST = {
    "id": 4,
    "state": "succeeded",
    "requester": "ci-dev",
    "actor": "frontend-dev",
    "requested_at": "2026-11-26T13:00:00+00:00",
    "finished_at": "2026-11-26T13:17:00+00:00",
}


def test_an_ok_environment_inside_a_reservation_reads_reserved() -> None:
    environments = [
        {"name": "dev", "state": "ok", "timezone": "Europe/Berlin"},
        {"name": "prod", "state": "held", "timezone": "UTC"},
    ]
    figures = {
        "dev": {"queue_length": 2, "next_reservation": DEMO, "last_deploy": LAST},
        "prod": {"queue_length": 0, "next_reservation": None, "last_deploy": None},
    }
    merge_figures(environments, figures, now=NOW)
    assert [e["state"] for e in environments] == ["reserved", "held"]
    assert environments[0]["deploys"]["queue_length"] == 2


def test_the_cells_show_the_window_the_queue_and_the_last_deploy() -> None:
    figures = {"queue_length": 2, "next_reservation": DEMO, "last_deploy": LAST}
    upcoming, queue, last = figure_cells(figures, "Europe/Berlin")
    assert "coo: investor demo" in upcoming and "CET" in upcoming
    assert queue == "2"
    assert last.startswith("#4 succeeded")
    assert figure_cells(None, "UTC") == ("", "", "")
