"""Probable renames: unique both ways, unknowns as wildcards, computed ids ignored."""

from __future__ import annotations

import json
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.core.plan.builders import (
    EMPTY_CATALOG,
    analyse_changes,
    analyse_fixture,
    pairs,
    plan_bytes,
    resource,
)

from signalbox.core.plan import find_renames, moved_block, read_plans
from signalbox.core.plan.renames import MAX_NEAR_PAIRS

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


def changed_renames(*changes: dict[str, Any]) -> set[tuple[str, str, tuple[str, ...]]]:
    """(old, new, attributes that still change) of every rename found."""
    (plan,) = read_plans(plan_bytes(*changes))
    deletes = [c for c in plan.changes if c.action.value == "delete"]
    creates = [c for c in plan.changes if c.action.value == "create"]
    return {
        (r.deleted.address, r.created.address, r.changing) for r in find_renames(deletes, creates)
    }


def test_attributes_are_compared_both_ways() -> None:
    """A value on one side only is a difference: no exact match, but the name still agrees,
    so the rename is found with the attribute that still changes."""
    before = {"id": "1", "name": "role-a", "path": "/"}
    same = {"id": "1", "name": "role-a", "path": "/"}
    old = deleted("aws_iam_role.a", before)
    assert changed_renames(old, created("aws_iam_role.b", same)) == {
        ("aws_iam_role.a", "aws_iam_role.b", ())
    }
    missing_on_create = {"id": "1", "name": "role-a"}  # known and null after apply
    different = {"name": "role-a", "path": "/service/"}
    extra_on_create = {"name": "role-a", "path": "/", "description": "new"}
    found = [
        changed_renames(old, created("aws_iam_role.b", after))
        for after in (missing_on_create, different, extra_on_create)
    ]
    assert found == [
        {("aws_iam_role.a", "aws_iam_role.b", ("path",))},
        {("aws_iam_role.a", "aws_iam_role.b", ("path",))},
        {("aws_iam_role.a", "aws_iam_role.b", ("description",))},
    ]


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


# Renames with changes: the same identity, or all but a few attributes.

DB = {
    "id": "db-1",
    "arn": "arn:aws:rds:db-1",
    "identifier": "orders",
    "engine": "postgres",
    "engine_version": "15.4",
    "instance_class": "db.t3.micro",
    "allocated_storage": 20,
    "deletion_protection": True,
}


def test_the_same_identity_is_a_rename_that_says_what_still_changes() -> None:
    analysis = analyse_changes(
        deleted("aws_db_instance.main", DB),
        created(
            "aws_db_instance.orders",
            {**DB, "instance_class": "db.t3.large", "allocated_storage": 50},
            unknown=("id", "arn"),
        ),
    )
    (rename,) = [f for f in analysis.findings if f.id == "probable-rename"]
    assert rename.message == (
        "aws_db_instance.main is deleted and aws_db_instance.orders created with the same "
        "identifier: probably a rename, though allocated_storage and instance_class also change."
    )
    assert rename.hint == (
        "Add the moved block below so Terraform moves the object instead of destroying it. "
        "After the move, allocated_storage and instance_class still change, in place or by "
        "replacing the object: plan again with the block to see which."
    )
    assert rename.attributes == ("deletion_protection", "engine", "engine_version", "identifier")
    assert rename.related == ("aws_db_instance.main",)
    assert "db.t3" not in rename.message + rename.hint  # names, never values
    # the plan as it stands still destroys the database
    assert ("stateful-destroy", "aws_db_instance.main") in pairs(analysis)


def test_a_replace_in_the_same_plan_proves_an_attribute_forces_a_new_object() -> None:
    analysis = analyse_changes(
        deleted("aws_db_instance.main", DB),
        created("aws_db_instance.orders", {**DB, "engine_version": "16.1"}),
        resource(
            "aws_db_instance.other",
            ["delete", "create"],
            before={**DB, "identifier": "other"},
            after={**DB, "identifier": "other", "engine_version": "16.1"},
            replace_paths=[["engine_version"]],
        ),
    )
    (rename,) = [f for f in analysis.findings if f.id == "probable-rename"]
    assert rename.hint.endswith(
        "After the move, engine_version still changes, and a change to engine_version forces a "
        "replacement (aws_db_instance.other is replaced for it in this plan): revert it to keep "
        "the object."
    )


def test_an_identity_shared_by_two_creates_or_two_deletes_is_no_match() -> None:
    a = {"name": "logs", "retention": 7, "kms": "k1", "class": "STANDARD"}
    two_creates = changed_renames(
        deleted("aws_log.a", a),
        created("aws_log.b", {**a, "retention": 30}),
        created("aws_log.c", {**a, "retention": 90}),
    )
    two_deletes = changed_renames(
        deleted("aws_log.a", a),
        deleted("aws_log.b", {**a, "retention": 30}),
        created("aws_log.c", {**a, "retention": 90}),
    )
    assert two_creates == two_deletes == set()


def test_an_identity_match_needs_as_many_attributes_agreeing_as_differing() -> None:
    """Two unrelated objects called "main": the name agrees, three other attributes differ."""
    old = {"name": "main", "cidr": "10.0.0.0/16", "region": "eu", "tier": "a"}
    new = {"name": "main", "cidr": "10.9.0.0/16", "region": "us", "tier": "b"}
    assert changed_renames(deleted("aws_vpc.a", old), created("aws_vpc.b", new)) == set()
    new["region"] = "eu"  # two agree (name, region), two differ: enough
    assert changed_renames(deleted("aws_vpc.a", old), created("aws_vpc.b", new)) == {
        ("aws_vpc.a", "aws_vpc.b", ("cidr", "tier"))
    }


def test_an_identity_unknown_at_plan_time_or_empty_is_no_evidence() -> None:
    old = {"name": "q", "delay": 5, "fifo": True, "retention": 60, "size": 1}
    new = {"name": "q", "delay": 9, "fifo": False, "retention": 61, "size": 1}
    unknown_name = created("aws_sqs_queue.b", new, unknown=("id", "name"))
    assert changed_renames(deleted("aws_sqs_queue.a", old), unknown_name) == set()
    empty = {**old, "name": ""}
    assert (
        changed_renames(
            deleted("aws_sqs_queue.a", empty),
            created("aws_sqs_queue.b", {**empty, "delay": 9, "fifo": False, "retention": 61}),
        )
        == set()
    )


def test_a_parent_reference_is_not_an_identity() -> None:
    """Two containers of one storage account: only the parent's name agrees."""
    old = {"name": "logs", "storage_account_name": "acct", "access": "private"}
    new = {"name": "images", "storage_account_name": "acct", "access": "blob"}
    found = changed_renames(
        deleted("azurerm_storage_container.logs", old),
        created("azurerm_storage_container.images", new),
    )
    assert found == set()


def test_the_type_own_name_attribute_is_an_identity() -> None:
    old = {"function_name": "ingest", "handler": "main", "runtime": "3.11", "memory_size": 128}
    new = {"function_name": "ingest", "handler": "main", "runtime": "3.12", "memory_size": 256}
    assert changed_renames(
        deleted("aws_lambda_function.a", old), created("aws_lambda_function.b", new)
    ) == {("aws_lambda_function.a", "aws_lambda_function.b", ("memory_size", "runtime"))}


def test_all_but_a_few_attributes_is_a_rename_with_changes() -> None:
    old = {
        "rule": "nightly",
        "input": "{}",
        "bus": "default",
        "role": "r1",
        "retries": 3,
        "timeout": 60,
        "batch": 10,
        "target_id": "t1",
    }
    two_differ = {**old, "input": '{"a":1}', "role": "r2"}
    three_differ = {**two_differ, "bus": "other"}  # 4 still agree, but 3 differ: too many
    assert changed_renames(
        deleted("aws_event_target.a", old),
        created("aws_event_target.b", two_differ, unknown=("id", "target_id")),
    ) == {("aws_event_target.a", "aws_event_target.b", ("input", "role"))}
    assert (
        changed_renames(
            deleted("aws_event_target.a", old),
            created("aws_event_target.b", three_differ, unknown=("id", "target_id")),
        )
        == set()
    )


def test_all_but_a_few_needs_more_agreeing_than_differing_and_uniqueness() -> None:
    old = {"role": "r1", "policy": "p1"}
    assert (
        changed_renames(
            deleted("aws_attachment.a", old),
            created("aws_attachment.b", {"role": "r1", "policy": "p2"}),
        )
        == set()
    )
    wide = {"role": "r1", "policy": "p1", "path": "/x/", "zone": "z"}
    assert (
        changed_renames(
            deleted("aws_attachment.a", wide),
            created("aws_attachment.b", {**wide, "policy": "p2"}),
            created("aws_attachment.c", {**wide, "policy": "p3"}),
        )
        == set()
    )


def test_an_exact_match_comes_first_and_keeps_its_partner() -> None:
    """c equals a exactly; b has a's name with a change. a goes to c, and b stays a create."""
    values = {"name": "role-a", "path": "/", "max": 3600}
    found = changed_renames(
        deleted("aws_iam_role.a", values),
        created("aws_iam_role.b", {**values, "max": 7200}),
        created("aws_iam_role.c", values),
    )
    assert found == {("aws_iam_role.a", "aws_iam_role.c", ())}


def test_an_ambiguous_exact_match_stays_out_of_the_later_passes() -> None:
    values = {"name": "role-a", "path": "/", "max": 3600}
    found = changed_renames(
        deleted("aws_iam_role.a", values),
        created("aws_iam_role.b", values),
        created("aws_iam_role.c", values),
        deleted("aws_iam_role.d", {**values, "max": 1}),
    )
    assert found == set()


def test_the_pairwise_pass_is_bounded_and_identity_still_works_past_the_bound() -> None:
    """60 deletes and 60 creates of one type (3,600 pairs > MAX_NEAR_PAIRS): no "all but a
    few" search, but matches by identity are still found (by hash)."""
    assert MAX_NEAR_PAIRS < 60 * 60
    changes = []
    for i in range(60):
        near = {"rule": f"r{i}", "bus": f"b{i}", "input": "{}", "role": f"x{i}"}
        changes += [
            deleted(f"aws_event_target.old{i}", near),
            created(f"aws_event_target.new{i}", {**near, "input": "[]"}),
        ]
    assert changed_renames(*changes) == set()
    few = changes[:10]  # 5 deletes, 5 creates: the pairwise pass runs
    assert len(changed_renames(*few)) == 5
    named = [
        c
        for i in range(60)
        for c in (
            deleted(f"aws_sqs_queue.old{i}", {"name": f"q{i}", "delay": 1, "fifo": True}),
            created(f"aws_sqs_queue.new{i}", {"name": f"q{i}", "delay": 2, "fifo": True}),
        )
    ]
    assert len(changed_renames(*named)) == 60


@settings(max_examples=60, deadline=None)
@given(names=NAMES, data=st.data())
def test_renames_with_one_change_are_detected_exactly(names: list[str], data: Any) -> None:
    """Distinct resources, each with its own settings; a subset is renamed with one setting
    changed. With a name attribute (kept), the match rests on identity; without one, on all
    but a few attributes. Exactly that subset is found, each with what changes."""
    named = data.draw(st.booleans(), label="resources have a name")
    changes, expected = [], set()
    for position, name in enumerate(names):
        values = {
            "size": position,
            "zone": f"zone-{position}",
            "class": f"class-{position}",
            "owner": f"team-{position}",
        }
        if named:
            values["name"] = f"resource-{position}"
        old, new = f"aws_thing.{name}", f"aws_thing.{name}_renamed"
        kind = data.draw(st.sampled_from(["renamed", "deleted", "kept"]), label=name)
        if kind == "renamed":
            after = {**values, "size": position + 10_000}
            changes += [deleted(old, values), created(new, after)]
            expected.add((old, new, ("size",)))
        elif kind == "deleted":
            changes.append(deleted(old, values))
        else:
            changes.append(resource(old, ["no-op"], before=values, after=values))
    assert changed_renames(*changes) == expected


def test_a_different_name_is_a_different_object() -> None:
    """Everything else agrees, but the cloud name differs: no "all but a few" match."""
    old = {"name": "orders", "path": "/app/", "policy": "p", "max": 3600}
    assert (
        changed_renames(
            deleted("aws_iam_role.a", old), created("aws_iam_role.b", {**old, "name": "billing"})
        )
        == set()
    )


def test_the_rename_with_changes_in_a_real_plan() -> None:
    """issue-522.json with two creates added (MANIFEST.md of generated-rules): the event rule
    keeps its name, the event target (no name) keeps all but its input."""
    analysis = analyse_fixture("generated-rules/issue-522-renamed-with-changes.json")
    found = {
        (f.related[0], f.address, f.attributes, f.moved_block)
        for f in analysis.findings
        if f.id == "probable-rename"
    }
    old_rule = "aws_cloudwatch_event_rule.Metricos_custom_alert_schedule_frequent[0]"
    old_target = "aws_cloudwatch_event_target.Metricos_custom_alert_event_target_frequent[0]"
    new_rule = "aws_cloudwatch_event_rule.alert_schedule_frequent"
    new_target = "aws_cloudwatch_event_target.alert_event_target_frequent"
    assert found == {
        (
            old_rule,
            new_rule,
            ("description", "event_bus_name", "is_enabled", "name", "tags", "tags_all"),
            moved_block(old_rule, new_rule),
        ),
        (old_target, new_target, ("event_bus_name", "rule"), moved_block(old_target, new_target)),
    }
    messages = {f.address: f.message for f in analysis.findings if f.id == "probable-rename"}
    assert messages[new_rule].endswith(
        "with the same name: probably a rename, though name_prefix and schedule_expression "
        "also change."
    )
    assert messages[new_target].endswith(
        "with the same attributes except input: probably a rename."
    )
