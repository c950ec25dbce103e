"""Pausing Python's cyclic garbage collector while a big plan is decoded and analysed.

Decoding and analysing a plan allocates hundreds of thousands of container objects and
creates no reference cycles; every allocation burst would otherwise trigger collections that
walk every live object (the issue measured the collector, not JSON parsing, dominating big
plans). Reference counting still frees everything as usual; the collector's previous state is
restored on exit, so nesting and concurrent callers are safe (it only stays off longer).
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
