"""`signalbox check` pauses the cyclic garbage collector and restores it as it was."""

from __future__ import annotations

import gc

import pytest

from signalbox.cli.collector import paused_collector


@pytest.mark.parametrize("enabled", [True, False])
def test_the_collector_is_off_inside_and_as_it_was_after(enabled: bool) -> None:
    was = gc.isenabled()
    try:
        gc.enable() if enabled else gc.disable()
        with pytest.raises(RuntimeError), paused_collector():
            assert not gc.isenabled()
            raise RuntimeError("a failed check restores the collector too")
        assert gc.isenabled() is enabled
    finally:
        gc.enable() if was else gc.disable()
