"""The README's 14:44 apply, against a real `signalbox serve`: refused "for three
independent reasons", each told to CI's log in one sentence with whom to ask (issue 8).

No fake clock: the demo is booked relative to the real now (now+10m to now+70m), which a
17-minute deploy starting now would overlap.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.e2e.test_story import ADMIN, COGNITO_PLAN, CONFIG, GITHUB, Signalbox, gate_args, iso

from signalbox.testing import ServerProcess


@pytest.mark.slow
def test_the_14_44_apply_is_refused_for_three_reasons(tmp_path: Path) -> None:
    config = tmp_path / "signalbox.toml"
    config.write_text(CONFIG)
    env = {
        "SIGNALBOX_DATABASE_URL": f"sqlite:///{tmp_path / 'story.db'}",
        "SIGNALBOX_ADMIN_TOKEN": ADMIN,
    }
    marker = tmp_path / "applied"
    with ServerProcess(config=config, env=env, log=tmp_path / "server.log") as server:
        sb = Signalbox(server.url)
        sb.token("platform-eng", "developer:dev")
        sb.token("coo", "stakeholder:dev")
        sb.token("ci-dev", "developer:dev", ci=True)
        held = sb.run(
            "platform-eng", "hold", "dev", "--reason", "renaming cognito pool", "--for", "4h"
        )
        assert held.returncode == 0, held.stderr
        now = datetime.now(UTC)
        demo = sb.run(
            "coo",
            "reserve",
            "dev",
            "--from",
            iso(now + timedelta(minutes=10)),
            "--to",
            iso(now + timedelta(minutes=70)),
            "--reason",
            "investor demo",
        )
        assert demo.returncode == 0, demo.stderr

        refused = sb.run("ci-dev", *gate_args(COGNITO_PLAN, marker), extra=GITHUB)

    assert refused.returncode == 75, refused.stderr
    log = " ".join(refused.stderr.split())  # the sentences may be wrapped
    assert "refused (held)" in log
    # held, naming the engineer; the demo, naming the COO and the 17 minutes; the approval
    assert "dev is held by platform-eng" in log and "Ask platform-eng" in log
    assert "investor demo" in log and "Ask coo" in log and "17m" in log
    assert "needs approval" in log and "signalbox approve" in log
    assert not marker.exists()
