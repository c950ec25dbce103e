"""The start-up housekeeping never stops a start: a database it cannot tidy is logged."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from sqlalchemy import create_engine

from signalbox.services.housekeeping import tidy_at_start


def test_a_failed_start_up_tidy_is_logged_not_raised(tmp_path, caplog) -> None:
    unreachable = create_engine(f"sqlite:///{tmp_path / 'no-such-folder' / 'signalbox.db'}")
    with caplog.at_level(logging.WARNING, logger="signalbox"):
        tidy_at_start(unreachable, now=datetime(2026, 11, 30, tzinfo=UTC))
    assert "Start-up housekeeping failed" in caplog.text
