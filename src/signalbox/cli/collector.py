"""Pausing Python's cyclic garbage collector while `signalbox check` reads and analyses plans.

Decoding and analysing a plan allocates hundreds of thousands of container objects and
creates no reference cycles; every allocation burst would otherwise trigger collections that
walk every live object (measured: on big plans the collector, not JSON parsing, dominates).
Reference counting still frees everything as usual; the collector's previous state is
restored on exit. The collector is process-wide state, so this belongs to a short-lived,
single-threaded process such as `signalbox check`, not to the core (which stays pure) nor to
the server, whose request threads would switch it on and off under one another.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["paused_collector"]


@contextmanager
def paused_collector() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
