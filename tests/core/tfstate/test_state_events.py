"""The words of the Terraform state events, as people read them in `signalbox events` (times
in the environment's zone, against the injected clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from signalbox.core.events import (
    Event,
    StateDeleted,
    StateForceUnlocked,
    StateKeysRotated,
    StateLocked,
    StateLockRefused,
    StateOutOfBand,
    StatePruned,
    StateRestored,
    StateUnlocked,
    StateWriteRefused,
    StateWritten,
    Telling,
)

NOW = datetime(2026, 11, 26, 14, 44, tzinfo=UTC)
IN_DEV = Telling(actor="platform-eng", environment="dev", timezone="Europe/Berlin", now=NOW)
GLOBAL = Telling(actor="root", environment=None, timezone="UTC", now=NOW)


@pytest.mark.parametrize(
    ("event", "words"),
    [
        (
            StateOutOfBand(
                state="network", serial=12, until=NOW + timedelta(hours=2), fencing_token=3
            ),
            "platform-eng wrote dev/network (serial 12) from outside a deploy: dev is now held "
            "for them until 17:44 CET.",
        ),
        (
            StateWritten(
                state="network", serial=12, lineage="L", md5="ab", size=48_213, is_ci=False
            ),
            "platform-eng wrote dev/network (serial 12, 48 kB).",
        ),
        (
            StateWritten(
                state="app", serial=3, lineage="L", md5="ab", size=812, is_ci=True, deploy_id=7
            ),
            "platform-eng wrote dev/app (serial 3, 812 bytes) in deploy 7.",
        ),
        (
            StateLocked(state="network", lock_id="L1", operation="OperationTypeApply", who="x@y"),
            "platform-eng locked dev/network for OperationTypeApply (x@y).",
        ),
        (
            StateLocked(state="network", lock_id="L1"),
            "platform-eng locked dev/network for Terraform.",
        ),
        (
            StateUnlocked(state="network", lock_id="L1", owner="platform-eng"),
            "platform-eng unlocked dev/network.",
        ),
        (
            StateUnlocked(state="network", lock_id="L1", owner="ci-dev"),
            "platform-eng unlocked dev/network; the lock was ci-dev's.",
        ),
        (
            StateForceUnlocked(state="network", lock_id="L1", owner="ci-dev"),
            "platform-eng force-unlocked dev/network (ci-dev's lock L1).",
        ),
        (
            StatePruned(state="network", serials=(3, 4, 5), kept=100),
            "The bodies of dev/network serials 3, 4 and 5 were pruned: the newest 100 versions "
            "are kept.",
        ),
        (
            StateDeleted(state="network", serial=9),
            "platform-eng deleted dev/network (its versions are kept).",
        ),
        (
            StateRestored(state="network", serial=13, restored_from=10, fencing_token=4),
            "platform-eng restored dev/network to the content of serial 10 (now serial 13).",
        ),
        (
            StateWriteRefused(
                state="network",
                cause="serial",
                refusal="The state's serial 3 does not follow the stored serial 5.",
            ),
            "platform-eng's write of dev/network was refused: The state's serial 3 does not "
            "follow the stored serial 5.",
        ),
        (
            StateLockRefused(
                state="network", cause="held", refusal="dev is held by coo.", whom="coo"
            ),
            "platform-eng's lock of dev/network was refused: dev is held by coo.",
        ),
    ],
    ids=lambda value: value.kind if isinstance(value, Event) else "",
)
def test_state_events_say_what_happened_to_which_state(event, words):
    assert event.words(IN_DEV) == words


def test_rotated_keys_are_counted_in_words():
    assert StateKeysRotated(key_id="2026-11", versions=1).words(GLOBAL) == (
        "1 stored Terraform state version was re-encrypted under key 2026-11."
    )
    assert StateKeysRotated(key_id="2026-11", versions=4).words(GLOBAL) == (
        "4 stored Terraform state versions were re-encrypted under key 2026-11."
    )
