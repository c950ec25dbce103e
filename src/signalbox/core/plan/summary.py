"""A plan's analysis in one line, for a notification or a board card:
``destroys aws_cognito_user_pool.main; replaces aws_cognito_user_pool_client.web``.

What is lost comes first (destroyed, then replaced resources), named, up to a few addresses
each; a plan that loses nothing is told by its counts (``creates 2, updates 1, moves 1``).

The counts are a partition (a moved resource that is also updated counts as an update only),
but a line in words may say both: ``moves`` and ``imports`` tell every resource that moves or
is imported (from the ``moved`` and ``import`` findings), whatever else happens to it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["MAX_NAMED", "summary_line"]

MAX_NAMED = 3
"""Addresses named per clause before ``and N more``."""

_DESTROYS = ("protected-destroy", "stateful-destroy", "delete")
_REPLACES = ("stateful-replace", "replace")
# Findings that tell a move or an import, whatever the change's action (its count key).
_TOLD_BY_FINDINGS = ("moved", "import")  # finding ids that are also count keys
_COUNT_WORDS = (
    ("create", "creates"),
    ("update", "updates"),
    ("replace", "replaces"),
    ("delete", "deletes"),
    ("forget", "forgets"),
    ("import", "imports"),
    ("moved", "moves"),
    ("unknown", "unknown actions"),
)


def _named(verb: str, addresses: Sequence[str]) -> str:
    shown = ", ".join(addresses[:MAX_NAMED])
    more = len(addresses) - MAX_NAMED
    return f"{verb} {shown}" + (f" and {more} more" if more > 0 else "")


def summary_line(document: Mapping[str, Any] | None) -> str:
    """``document`` is a ``signalbox.check/1`` analysis (or None: no plan, empty line)."""
    if not document:
        return ""
    destroyed: list[str] = []
    replaced: list[str] = []
    counts: dict[str, int] = {}
    told = dict.fromkeys(_TOLD_BY_FINDINGS, 0)
    for plan in document.get("plans", []):
        for key, value in plan.get("counts", {}).items():
            counts[key] = counts.get(key, 0) + int(value)
        for finding in plan.get("findings", []):
            address = str(finding.get("address") or "")
            found = str(finding.get("id"))
            if not address:
                continue
            if found in _TOLD_BY_FINDINGS:
                told[found] += 1
            if found in _DESTROYS and address not in destroyed:
                destroyed.append(address)
            elif found in _REPLACES and address not in replaced:
                replaced.append(address)
    # a protected resource that is replaced has a protected-destroy finding and a replace
    # one: it is replaced (made anew), not destroyed
    destroyed = [address for address in destroyed if address not in replaced]
    clauses = []
    if destroyed:
        clauses.append(_named("destroys", destroyed))
    if replaced:
        clauses.append(_named("replaces", replaced))
    if clauses:
        return "; ".join(clauses)
    for key, number in told.items():  # a moved update is in "update", and moves too
        counts[key] = max(counts.get(key, 0), number)
    said = [f"{words} {counts[key]}" for key, words in _COUNT_WORDS if counts.get(key)]
    return ", ".join(said) if said else "no changes"
