"""A plan's analysis in one line (core.plan.summary): what is lost first, named (destroyed,
then replaced), up to three addresses each and "and N more"; otherwise the counts."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.core.plan.builders import analyse_fixture

from signalbox.core.plan import check_document
from signalbox.core.plan.summary import MAX_NAMED, summary_line

DESTROYS = ("protected-destroy", "stateful-destroy", "delete")
REPLACES = ("stateful-replace", "replace")
OTHERS = ("create", "update", "rename-without-moved", "drift", "forget")


def document(*plans: dict[str, Any]) -> dict[str, Any]:
    return {"schema": "signalbox.check/1", "environment": "dev", "plans": list(plans)}


def plan(findings: list[tuple[str, str]] = (), **counts: int) -> dict[str, Any]:  # type: ignore[assignment]
    return {
        "counts": counts,
        "findings": [{"id": found, "address": address} for found, address in findings],
    }


@pytest.mark.parametrize(
    ("fixture", "line"),
    [
        ("generated/plan_tf103_null.json",
         "destroys null_resource.many[2]; replaces null_resource.repl"),
        ("generated/plan_tf1155_terraform_data.json",
         "destroys terraform_data.gone[0]; replaces terraform_data.cbd, terraform_data.repl"),
        ("public/terraform/show-json-basic-delete.json", "destroys test_instance.test-delete"),
        ("public/terraform/show-json-requires-replace.json", "replaces test_instance.test"),
        ("public/cds-snc-terraform-plan/import.json", "creates 1, imports 2"),
        # the moved resource is also updated: counted once (an update), told as a move too
        ("public/terraform/show-json-moved-drift.json", "updates 2, moves 1"),
        ("public/terraform-json/moved-block.json", "moves 1"),
        ("public/terraform-json/identity.json", "updates 1, imports 1"),
        ("public/tf-summarize/example-tfplan.json", "creates 7"),
        ("generated/plan_tf103_outputs_only.json", "no changes"),
    ],
)  # fmt: skip
def test_real_plans_in_a_line(fixture, line):
    analysis = analyse_fixture(fixture)
    assert summary_line(check_document([analysis], environment="dev")) == line


def test_a_protected_resource_that_is_replaced_is_told_as_replaced_not_destroyed():
    """Its analysis has a protected-destroy finding and a replace one for the same address;
    the line said "destroys test_instance.test; replaces test_instance.test"."""
    analysis = analyse_fixture(
        "public/terraform/show-json-requires-replace.json",
        policy={"protected": ["test_instance.test"]},
    )
    found = {(finding.id, finding.address) for finding in analysis.findings}
    assert found == {("protected-destroy", "test_instance.test"), ("replace", "test_instance.test")}
    assert summary_line(check_document([analysis], environment="dev")) == (
        "replaces test_instance.test"
    )


def test_no_plan_is_an_empty_line():
    assert summary_line(None) == ""
    assert summary_line({}) == ""


def test_destroys_come_before_replaces_whatever_the_order_found():
    found = [("replace", "aws_instance.web"), ("stateful-destroy", "aws_cognito_user_pool.main")]
    assert summary_line(document(plan(found, replace=1, delete=1))) == (
        "destroys aws_cognito_user_pool.main; replaces aws_instance.web"
    )


def test_more_than_three_addresses_end_with_and_n_more():
    found = [("delete", f"null_resource.n[{i}]") for i in range(5)]
    assert summary_line(document(plan(found))) == (
        "destroys null_resource.n[0], null_resource.n[1], null_resource.n[2] and 2 more"
    )


def test_counts_add_up_across_the_plans_of_a_check():
    line = summary_line(document(plan(create=2, update=1), plan(create=1, moved=2)))
    assert line == "creates 3, updates 1, moves 2"


addresses = st.sampled_from([f"aws_s3_bucket.b{i}" for i in range(8)])
findings = st.lists(st.tuples(st.sampled_from(DESTROYS + REPLACES + OTHERS), addresses))
count_keys = st.sampled_from(["create", "update", "replace", "delete", "forget", "import", "moved"])


def _distinct(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _clause(verb: str, named: list[str]) -> str:
    shown = ", ".join(named[:MAX_NAMED])
    more = f" and {len(named) - MAX_NAMED} more" if len(named) > MAX_NAMED else ""
    return f"{verb} {shown}{more}"


@given(findings, st.dictionaries(count_keys, st.integers(min_value=0, max_value=50)))
def test_the_line_names_what_is_lost_in_order_once_each(found, counts):
    line = summary_line(document(plan(found, **counts)))
    destroyed = _distinct([a for kind, a in found if kind in DESTROYS])
    replaced = _distinct([a for kind, a in found if kind in REPLACES])
    destroyed = [a for a in destroyed if a not in replaced]
    if not destroyed and not replaced:
        assert line == (", ".join(f"{k} {v}" for k, v in _said_counts(counts)) or "no changes")
        return
    clauses = []
    if destroyed:
        clauses.append(_clause("destroys", destroyed))
    if replaced:
        clauses.append(_clause("replaces", replaced))
    assert line == "; ".join(clauses)


COUNT_WORDS = {"create": "creates", "update": "updates", "replace": "replaces",
               "delete": "deletes", "forget": "forgets", "import": "imports",
               "moved": "moves"}  # fmt: skip


def _said_counts(counts: dict[str, int]) -> list[tuple[str, int]]:
    return [(words, counts[key]) for key, words in COUNT_WORDS.items() if counts.get(key)]


def test_changes_with_unknown_actions_are_not_told_as_no_changes():
    assert summary_line(document(plan(unknown=2))) == "unknown actions 2"
