"""How many connections `signalbox serve` takes at once: each waiting gate holds one.

Every connection is an open file, and a process may hold only so many (``ulimit -n``). When
the limit is reached, the accept loop fails with EMFILE and new connections wait unanswered
in the kernel's backlog: a gate would hang. So at start the server lifts its soft limit to
the hard one (as Go's runtime does for every program) and takes at most ``connection_cap``
connections, ``RESERVED_FILES`` below it (for the database, its journal, the log and the
state uploads' buffers): past the cap a new request is answered ``503 Service Unavailable``
at once and its connection closed (uvicorn's ``limit_concurrency``); the gate says so and
asks again after 1, 2, 4 ... 30 s (``cli.gate_flow.retrying``).
"""

from __future__ import annotations

import resource

__all__ = ["RESERVED_FILES", "connection_cap"]

RESERVED_FILES = 256


def connection_cap() -> tuple[int, int]:
    """(the soft limit on open files, lifted to the hard one where it can be; the number of
    connections to take at once)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):  # not allowed here: keep the soft limit
            pass
    return soft, max(16, soft - RESERVED_FILES)
