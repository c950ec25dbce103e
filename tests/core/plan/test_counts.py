"""A plan's counts are a partition of its resource changes: each change counts once.

A change counts under its action, except a no-op that imports (``import``) or moves
(``moved``); a forget-create is one ``forget``. Before, a moved no-op counted as "1 moved,
1 no-op", an import with an update as an import and an update, a forget-create twice.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.core.plan.builders import EMPTY_CATALOG, analyse_changes, analyse_fixture, resource

from signalbox.core.plan import COUNT_KEYS

# Every action list Terraform writes, and the two harmless ones reading lets through.
ACTION_LISTS = {
    ("create",): "create",
    ("update",): "update",
    ("delete",): "delete",
    ("delete", "create"): "replace",
    ("create", "delete"): "replace",
    ("read",): "read",
    ("no-op",): "no-op",
    ("forget",): "forget",
    ("create", "forget"): "forget",
    ("forget", "create"): "forget",
    (): "unknown",
    ("move",): "unknown",
}


def expected_key(actions: tuple[str, ...], moved: bool, imported: bool) -> str:
    """The oracle, written from the documented rule, not from the code."""
    if actions == ("no-op",) and imported:
        return "import"
    if actions == ("no-op",) and moved:
        return "moved"
    return ACTION_LISTS[actions]


CHANGE = st.tuples(
    st.sampled_from(sorted(ACTION_LISTS)),
    st.booleans(),  # moved (has previous_address)
    st.booleans(),  # imports
    st.sampled_from(["managed", "data"]),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(CHANGE, max_size=30))
def test_counts_are_a_partition_of_the_changes(drawn: list[tuple[Any, bool, bool, str]]) -> None:
    changes, expected = [], dict.fromkeys(COUNT_KEYS, 0)
    for position, (actions, moved, imported, mode) in enumerate(drawn):
        extra: dict[str, Any] = {}
        if moved:
            extra["previous_address"] = f"aws_iam_role.old{position}"
        if imported:
            extra["importing"] = {"id": f"role-{position}"}
        prefix = "data." if mode == "data" else ""
        changes.append(
            resource(
                f"{prefix}aws_iam_role.r{position}",
                list(actions),
                before={"name": f"r{position}"},
                after={"name": f"r{position}"},
                mode=mode,
                **extra,
            )
        )
        expected[expected_key(actions, moved, imported)] += 1
    counts = analyse_changes(*changes, catalog=EMPTY_CATALOG).counts
    assert sum(counts.values()) == len(drawn)
    assert dict(counts) == expected


@pytest.mark.parametrize(
    ("fixture", "counted"),
    [
        # a moved block and nothing else: one moved, not also one no-op
        ("public/terraform-json/moved-block.json", {"moved": 1}),
        # moved and updated: an update (its `moved` finding tells the move)
        ("public/terraform/show-json-moved.json", {"update": 1}),
        # an import that also updates: one update (its `import` finding tells the import)
        ("public/terraform-json/identity.json", {"update": 1}),
        # two imports with nothing else to do, and a create
        ("public/cds-snc-terraform-plan/import.json", {"import": 2, "create": 1}),
    ],
)
def test_real_plans_count_each_resource_once(fixture: str, counted: dict[str, int]) -> None:
    analysis = analyse_fixture(fixture)
    assert {key: n for key, n in analysis.counts.items() if n} == counted
    assert sum(analysis.counts.values()) == len(analysis.plan.changes)
