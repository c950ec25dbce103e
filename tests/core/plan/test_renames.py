"""Probable renames: unique both ways, unknowns as wildcards, computed ids ignored."""

from __future__ import annotations

import json
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.core.plan.builders import EMPTY_CATALOG, analyse_changes, pairs, plan_bytes, resource

from signalbox.core.plan import find_renames, moved_block, read_plans

USERS = {"id": "abc", "input": "every user", "output": "every user", "triggers_replace": None}


def deleted(address: str, values: dict[str, Any]) -> dict[str, Any]:
    return resource(address, ["delete"], before=values)


def created(
    address: str, values: dict[str, Any], unknown: tuple[str, ...] = ("id",)
) -> dict[str, Any]:
    after = {name: value for name, value in values.items() if name not in unknown}
    return resource(address, ["create"], after=after, after_unknown=dict.fromkeys(unknown, True))


def renamed(*changes: dict[str, Any]) -> set[tuple[str, str]]:
    (plan,) = read_plans(plan_bytes(*changes))
    deletes = [c for c in plan.changes if c.action.value == "delete"]
    creates = [c for c in plan.changes if c.action.value == "create"]
    return {(r.deleted.address, r.created.address) for r in find_renames(deletes, creates)}


def test_the_contract_example() -> None:
    analysis = analyse_changes(
        deleted("terraform_data.users", USERS),
        created("terraform_data.users_new", USERS, unknown=("id", "output")),
        catalog=EMPTY_CATALOG,
    )
    (rename,) = [f for f in analysis.findings if f.id == "probable-rename"]
    assert rename.to_json() == {
        "id": "probable-rename",
        "severity": "medium",
        "verdict": "routine",
        "address": "terraform_data.users_new",
        "message": "terraform_data.users is deleted and terraform_data.users_new created with "
        "the same attributes: probably a rename.",
        "hint": "Add the moved block below so Terraform moves the object instead of destroying it.",
        "related": ["terraform_data.users"],
        "attributes": ["input"],
        "moved_block": "moved {\n  from = terraform_data.users\n"
        "  to   = terraform_data.users_new\n}\n",
    }
    assert pairs(analysis) == {
        ("delete", "terraform_data.users"),
        ("probable-rename", "terraform_data.users_new"),
    }


def test_a_stateful_rename_still_needs_approval_and_says_how_to_fix_it() -> None:
    pool = {
        "id": "eu-west-1_x",
        "arn": "arn:aws:cognito",
        "name": "users",
        "mfa": "ON",
        "deletion_protection": "INACTIVE",
    }
    analysis = analyse_changes(
        deleted("aws_cognito_user_pool.pool", pool),
        created("module.auth.aws_cognito_user_pool.users", pool, unknown=("id", "arn")),
    )
    assert pairs(analysis) == {
        ("stateful-destroy", "aws_cognito_user_pool.pool"),
        ("probable-rename", "module.auth.aws_cognito_user_pool.users"),
        ("protection-missing", "module.auth.aws_cognito_user_pool.users"),
    }
    assert analysis.verdict.value == "needs-approval"


def test_module_and_index_addresses_are_kept_in_the_moved_block() -> None:
    values = {"id": "i-1", "bucket": "logs-eu"}
    found = renamed(
        deleted('module.a.aws_s3_object.y["k"]', values),
        created("module.b[0].aws_s3_object.y[0]", values),
    )
    assert found == {('module.a.aws_s3_object.y["k"]', "module.b[0].aws_s3_object.y[0]")}
    assert moved_block('module.a.aws_s3_object.y["k"]', "module.b[0].aws_s3_object.y[0]") == (
        'moved {\n  from = module.a.aws_s3_object.y["k"]\n'
        "  to   = module.b[0].aws_s3_object.y[0]\n}\n"
    )


def test_values_unknown_until_apply_are_wildcards() -> None:
    before = {"id": "1", "name": "queue-a", "url": "https://sqs/queue-a", "delay": 5}
    after_unknown_url = created("aws_sqs_queue.b", before, unknown=("id", "url"))
    assert renamed(deleted("aws_sqs_queue.a", before), after_unknown_url) == {
        ("aws_sqs_queue.a", "aws_sqs_queue.b")
    }


def test_computed_identifiers_are_ignored() -> None:
    before = {"id": "1", "arn": "arn:1", "name": "role-a"}
    after = {"id": "2", "arn": "arn:2", "name": "role-a"}  # known but different: still ignored
    assert renamed(deleted("aws_iam_role.a", before), created("aws_iam_role.b", after, ())) == {
        ("aws_iam_role.a", "aws_iam_role.b")
    }


def test_attributes_are_compared_both_ways() -> None:
    before = {"id": "1", "name": "role-a", "path": "/"}
    same = {"id": "1", "name": "role-a", "path": "/"}
    assert renamed(deleted("aws_iam_role.a", before), created("aws_iam_role.b", same))
    missing_on_create = {"id": "1", "name": "role-a"}  # known and null after apply
    assert not renamed(
        deleted("aws_iam_role.a", before), created("aws_iam_role.b", missing_on_create)
    )
    different = {"name": "role-a", "path": "/service/"}
    assert not renamed(deleted("aws_iam_role.a", before), created("aws_iam_role.b", different))
    extra_on_create = {"name": "role-a", "path": "/", "description": "new"}
    assert not renamed(
        deleted("aws_iam_role.a", before), created("aws_iam_role.b", extra_on_create)
    )


def test_an_ambiguous_match_is_no_match() -> None:
    values = {"id": "1", "name": "same"}
    two_deletes = renamed(
        deleted("aws_iam_role.a", values),
        deleted("aws_iam_role.b", values),
        created("aws_iam_role.c", values),
    )
    two_creates = renamed(
        deleted("aws_iam_role.a", values),
        created("aws_iam_role.b", values),
        created("aws_iam_role.c", values),
    )
    wildcard_matches_both = renamed(
        deleted("aws_iam_role.a", {"name": "a", "path": "/x/"}),
        deleted("aws_iam_role.b", {"name": "b", "path": "/x/"}),
        created("aws_iam_role.c", {"name": "a", "path": "/x/"}, unknown=("name",)),
    )
    assert two_deletes == two_creates == wildcard_matches_both == set()


def test_a_match_needs_one_real_value_in_common() -> None:
    nothing_but_defaults = {"id": "1", "enabled": False, "tags": {}, "description": ""}
    assert not renamed(
        deleted("aws_iam_role.a", nothing_but_defaults),
        created("aws_iam_role.b", nothing_but_defaults),
    )


def test_types_and_replaced_or_deposed_objects_are_not_matched() -> None:
    values = {"id": "1", "name": "same"}
    assert not renamed(deleted("aws_iam_role.a", values), created("aws_iam_user.b", values))
    deposed = {**deleted("aws_iam_role.a", values), "deposed": "00ff"}
    analysis = analyse_changes(deposed, created("aws_iam_role.b", values), catalog=EMPTY_CATALOG)
    assert "probable-rename" not in {finding.id for finding in analysis.findings}


def test_many_identical_candidates_stay_cheap_and_unmatched() -> None:
    values = {"id": "1", "name": "same"}
    changes = [deleted(f"aws_iam_role.d{i}", values) for i in range(2000)]
    changes += [created(f"aws_iam_role.c{i}", values) for i in range(2000)]
    assert renamed(*changes) == set()


NAMES = st.lists(
    st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True), min_size=1, max_size=12, unique=True
)


@settings(max_examples=60, deadline=None)
@given(names=NAMES, data=st.data())
def test_renaming_any_subset_of_resources_is_detected_exactly(names: list[str], data: Any) -> None:
    """Start from a plan of distinct resources, rename a subset, delete some, create some: the
    renames found are exactly the renamed subset."""
    renamed_names = data.draw(st.sets(st.sampled_from(names)), label="renamed")
    deleted_names = data.draw(st.sets(st.sampled_from(names)), label="deleted") - renamed_names
    resource_type = data.draw(st.sampled_from(["aws_iam_role", "aws_s3_bucket"]), label="type")
    module = data.draw(st.sampled_from(["", "module.app.", 'module.m["k"].']), label="module")
    changes, expected = [], set()
    for position, name in enumerate(names):
        values = {"id": f"id-{position}", "name": f"resource-{position}", "size": position}
        old = f"{module}{resource_type}.{name}"
        if name in renamed_names:
            new = f"{resource_type}.{name}_renamed[{position}]"
            if data.draw(st.booleans(), label="id known at plan time"):
                create = created(new, {**values, "id": f"new-{position}"}, unknown=())
            else:
                create = created(new, values)
            changes += [deleted(old, values), create]
            expected.add((old, new))
        elif name in deleted_names:
            changes.append(deleted(old, values))
        else:
            fresh = {"name": f"fresh-{position}", "size": position + 1000}
            changes.append(created(f"{resource_type}.{name}_new", fresh))
            changes.append(resource(old, ["no-op"], before=values, after=values))
    assert renamed(*changes) == expected


def test_values_compare_equal_whatever_the_json_layout() -> None:
    """A plan pretty-printed by another tool (keys in another order, indented) still matches."""
    old = deleted("aws_iam_role.a", {"id": "1", "name": "r", "tags": {"a": 1, "b": [1, 2]}})
    new = created("aws_iam_role.b", {"name": "r", "tags": {"b": [1, 2], "a": 1}})
    pretty = json.dumps(orjson.loads(plan_bytes(old, new)), indent=1).encode()
    (plan,) = read_plans(pretty)
    (rename,) = find_renames(plan.changes[:1], plan.changes[1:])
    assert (rename.deleted.address, rename.created.address, rename.attributes) == (
        "aws_iam_role.a",
        "aws_iam_role.b",
        ("name", "tags"),
    )
