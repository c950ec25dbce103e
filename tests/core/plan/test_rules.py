"""Each finding rule on small synthetic plans: protection, protected addresses, forget,
deferred and incomplete plans, counts and verdicts."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.core.plan.builders import CATALOG, analyse_changes, pairs, plan_bytes, resource

from signalbox.core.plan import Verdict, analyse, parse_policy, read_plans

DB = "aws_db_instance.main"


def update(address: str, before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    return resource(address, ["update"], before=before, after=after)


def ids(*changes: dict[str, Any], **top: Any) -> set[tuple[str, str]]:
    return pairs(analyse_changes(*changes, **top))


def test_protection_switched_off_is_reported_for_booleans_enums_and_force_destroy() -> None:
    analysis = analyse_changes(
        update(DB, {"deletion_protection": True}, {"deletion_protection": False}),
        update(
            "aws_cognito_user_pool.main",
            {"deletion_protection": "ACTIVE"},
            {"deletion_protection": "INACTIVE"},
        ),
        update("aws_s3_bucket.logs", {"force_destroy": False}, {"force_destroy": True}),
    )
    assert pairs(analysis) == {
        ("protection-disabled", DB),
        ("protection-disabled", "aws_cognito_user_pool.main"),
        ("protection-disabled", "aws_s3_bucket.logs"),
    }
    assert analysis.verdict is Verdict.NEEDS_APPROVAL
    finding = analysis.findings[0]
    assert finding.attributes in {("deletion_protection",), ("force_destroy",)}
    assert "INACTIVE" not in " ".join(f.message for f in analysis.findings)


def test_protection_missing_is_advisory_and_only_when_known() -> None:
    analysis = analyse_changes(
        resource(DB, ["create"], after={"deletion_protection": False}),
        resource("aws_db_instance.safe", ["create"], after={"deletion_protection": True}),
        resource(
            "aws_db_instance.later",
            ["create"],
            after={},
            after_unknown={"deletion_protection": True},
        ),
        resource("aws_s3_bucket.unset", ["create"], after={"force_destroy": None}),
        resource(
            "aws_s3_bucket.kept",
            ["no-op"],
            before={"force_destroy": True},
            after={"force_destroy": True},
        ),
        resource(
            "aws_cognito_user_pool.old",
            ["update"],
            before={"deletion_protection": None},
            after={"deletion_protection": None},
        ),
        # an old provider without the argument: nothing to advise
        resource("aws_db_instance.legacy", ["no-op"], before={"name": "x"}, after={"name": "x"}),
    )
    assert pairs(analysis) == {
        ("protection-missing", DB),
        ("protection-missing", "aws_s3_bucket.kept"),
        ("protection-missing", "aws_cognito_user_pool.old"),
    }
    assert analysis.verdict is Verdict.ROUTINE
    (cognito,) = [f for f in analysis.findings if f.address == "aws_cognito_user_pool.old"]
    assert cognito.hint.startswith('Set deletion_protection = "ACTIVE"')


def _key_vault_plan(features: Any) -> bytes:
    expressions = {"features": [features]} if features is not None else {}
    configuration = {
        "provider_config": {"azurerm": {"name": "azurerm", "expressions": expressions}},
        "root_module": {},
    }
    vault = resource("azurerm_key_vault.main", ["create"], after={"name": "kv"})
    return plan_bytes(vault, configuration=configuration)


def test_azurerm_features_are_read_from_the_provider_configuration() -> None:
    purge = {"key_vault": [{"purge_soft_delete_on_destroy": {"constant_value": True}}]}
    keep = {"key_vault": [{"purge_soft_delete_on_destroy": {"constant_value": False}}]}
    found = {}
    for label, features in {"purge": purge, "keep": keep, "absent": None}.items():
        (plan,) = read_plans(_key_vault_plan(features))
        analysis = analyse(plan, catalog=CATALOG, policy=parse_policy("dev", {}))
        found[label] = pairs(analysis)
    assert found == {
        "purge": {("protection-missing", "azurerm_key_vault.main")},
        "keep": set(),
        "absent": set(),
    }


def test_protected_addresses_block_their_destroy_or_replace() -> None:
    changes = [
        resource("aws_cognito_user_pool.main", ["delete"], before={"name": "users"}),
        resource(
            "module.auth.aws_iam_role.r",
            ["create", "delete"],
            before={"name": "a"},
            after={"name": "b"},
            replace_paths=[["name"]],
        ),
        resource("module.authz.aws_iam_role.r", ["delete"], before={"name": "c"}),
    ]
    (plan,) = read_plans(plan_bytes(*changes))
    document = {"policy": {"protected": ["aws_cognito_user_pool.main", "module.auth.*"]}}
    analysis = analyse(plan, catalog=CATALOG, policy=parse_policy("dev", document))
    assert pairs(analysis) == {
        ("protected-destroy", "aws_cognito_user_pool.main"),
        ("stateful-destroy", "aws_cognito_user_pool.main"),
        ("protected-destroy", "module.auth.aws_iam_role.r"),
        ("replace", "module.auth.aws_iam_role.r"),
        ("delete", "module.authz.aws_iam_role.r"),
    }
    assert analysis.verdict is Verdict.BLOCKED
    assert analysis.findings[0].id == "protected-destroy"


def test_a_stateful_replace_names_the_nested_forcing_attribute() -> None:
    analysis = analyse_changes(
        resource(
            DB,
            ["delete", "create"],
            before={"deletion_protection": False},
            after={"deletion_protection": False},
            replace_paths=[["network_interface", 0, "subnet_id"], ["engine"]],
            action_reason="replace_because_cannot_update",
        )
    )
    (replace,) = [f for f in analysis.findings if f.id == "stateful-replace"]
    assert replace.attributes == ("network_interface[0].subnet_id", "engine")
    assert replace.message == (
        "aws_db_instance.main is replaced because network_interface[0].subnet_id, engine changed "
        "and cannot be updated in place: the database will be lost."
    )


def test_forget_moves_imports_and_reads_are_routine_and_counted() -> None:
    analysis = analyse_changes(
        resource("aws_iam_role.a", ["forget"], before={}),
        resource("aws_iam_role.b", ["forget", "create"], before={}, after={}),
        resource(
            "aws_iam_role.c", ["no-op"], before={}, after={}, previous_address="aws_iam_role.x"
        ),
        resource("aws_iam_role.d", ["no-op"], before={}, after={}, importing={"id": "d"}),
        resource("data.aws_ami.u", ["read"], before=None, after={}, mode="data"),
    )
    assert pairs(analysis) == {
        ("forget", "aws_iam_role.a"),
        ("forget", "aws_iam_role.b"),
        ("moved", "aws_iam_role.c"),
        ("import", "aws_iam_role.d"),
    }
    assert analysis.verdict is Verdict.ROUTINE
    # one key per change: the moved and the imported no-ops are not also no-ops, and the
    # forget-create is one forget, not a forget and a create
    assert dict(analysis.counts) == {
        "create": 0,
        "update": 0,
        "delete": 0,
        "replace": 0,
        "read": 1,
        "no-op": 0,
        "forget": 2,
        "import": 1,
        "moved": 1,
        "unknown": 0,
    }
    assert sum(analysis.counts.values()) == 5


def test_deferred_and_incomplete_plans_need_approval_and_errored_ones_are_blocked() -> None:
    deferred = {
        "reason": "provider_config_unknown",
        "resource_change": resource("aws_iam_role.later", ["create"], after={}),
    }
    partial = analyse_changes(deferred_changes=[deferred], complete=False)
    assert pairs(partial) == {("deferred", "aws_iam_role.later"), ("plan-incomplete", "")}
    assert partial.verdict is Verdict.NEEDS_APPROVAL
    errored = analyse_changes(errored=True, complete=False)
    assert pairs(errored) == {("plan-errored", "")}
    assert errored.verdict is Verdict.BLOCKED


def test_policy_verdicts_change_the_outcome() -> None:
    (plan,) = read_plans(plan_bytes(resource("aws_iam_role.a", ["delete"], before={})))
    document = {"environments": {"prod": {"policy": {"delete": "blocked"}}}}
    assert analyse(plan, catalog=CATALOG, policy=parse_policy("dev", document)).verdict is (
        Verdict.ROUTINE
    )
    assert analyse(plan, catalog=CATALOG, policy=parse_policy("prod", document)).verdict is (
        Verdict.BLOCKED
    )


def test_verdicts_are_ordered() -> None:
    assert Verdict.ROUTINE < Verdict.NEEDS_APPROVAL < Verdict.BLOCKED
    assert max([Verdict.NEEDS_APPROVAL, Verdict.BLOCKED, Verdict.ROUTINE]) is Verdict.BLOCKED
    assert sorted(Verdict) == [Verdict.ROUTINE, Verdict.NEEDS_APPROVAL, Verdict.BLOCKED]


def test_a_tainted_stateful_replace_says_why_and_how_to_keep_it() -> None:
    analysis = analyse_changes(
        resource(
            DB,
            ["delete", "create"],
            before={"deletion_protection": True},
            after={"deletion_protection": True},
            action_reason="replace_because_tainted",
        )
    )
    (replace,) = analysis.findings
    assert replace.id == "stateful-replace"
    assert replace.message == (
        "aws_db_instance.main is replaced because it is tainted: the database will be lost."
    )
    assert "untaint" in replace.hint


def _replace(address: str, before: Any, after: Any, **extra: Any) -> dict[str, Any]:
    return resource(address, ["delete", "create"], before=before, after=after, **extra)


def test_replace_causes_without_replace_paths() -> None:
    """The reason when Terraform gives one; otherwise what differs, known values first."""
    analysis = analyse_changes(
        _replace(
            "aws_iam_role.triggered",
            {"name": "a"},
            {"name": "a"},
            action_reason="replace_by_triggers",
        ),
        _replace(
            "aws_iam_role.unknown_only",
            {"id": "1", "name": "a", "tags": {"k": "v"}},
            {"name": "a"},
            after_unknown={"id": True, "tags": {"k": True}},
        ),
        _replace(
            "aws_iam_role.known_and_unknown",
            {"id": "1", "name": "a", "path": "/", "tags": {"k": "v"}},
            {"name": "b", "path": "/"},
            after_unknown={"id": True, "tags": True},
        ),
        _replace("aws_iam_role.same", {"id": "1", "name": "a"}, {"id": "1", "name": "a"}),
        _replace("aws_iam_role.hand_written", None, {"name": "a"}),
    )
    found = {f.address.split(".")[1]: f for f in analysis.findings}
    assert {name: f.attributes for name, f in found.items()} == {
        "triggered": (),
        "unknown_only": ("tags",),
        "known_and_unknown": ("name",),
        "same": (),
        "hand_written": (),
    }
    assert found["triggered"].message.endswith("because a replace_triggered_by reference changed.")
    assert "replace_triggered_by" in found["triggered"].hint
    assert found["same"].message == (
        "aws_iam_role.same is replaced although no value the plan knows changes (probably "
        "tainted or planned with -replace)."
    )
    assert found["unknown_only"].message.endswith("tags is known only after apply).")
    assert found["hand_written"].message.endswith(
        "(the plan does not say which attribute forces it)."
    )
    untainting = {name for name, f in found.items() if "untaint" in f.hint}
    assert untainting == {"same", "unknown_only"}


@settings(max_examples=80, deadline=None)
@given(
    before=st.dictionaries(
        st.sampled_from(["id", "arn", "name", "size", "tags", "zone"]),
        st.one_of(st.none(), st.integers(0, 3), st.sampled_from(["secret-a", "secret-b"])),
    ),
    changed=st.sets(st.sampled_from(["id", "arn", "name", "size", "tags", "zone"])),
    unknown=st.sets(st.sampled_from(["id", "arn", "name", "size", "tags", "zone"])),
)
def test_a_replace_without_paths_names_exactly_the_known_differences(
    before: dict[str, Any], changed: set[str], unknown: set[str]
) -> None:
    after = {n: v for n, v in before.items() if n not in unknown}
    for name in changed - unknown:
        after[name] = "secret-z" if before.get(name) != "secret-z" else None
    analysis = analyse_changes(
        _replace(DB, before, after, after_unknown=dict.fromkeys(unknown, True))
    )
    (finding,) = analysis.findings
    differing = sorted(
        n
        for n in (before.keys() | after.keys()) - unknown - {"id", "arn"}
        if before.get(n) != after.get(n)
    )
    if differing:
        assert finding.attributes == tuple(differing)
        assert "untaint" not in finding.hint
    else:
        assert finding.attributes == tuple(sorted(unknown - {"id", "arn"}))
        assert "untaint" in finding.hint
    assert "secret" not in finding.message + finding.hint


def test_a_protection_known_only_after_apply_may_be_switched_off() -> None:
    analysis = analyse_changes(
        resource(
            DB,
            ["update"],
            before={"deletion_protection": True},
            after={},
            after_unknown={"deletion_protection": True},
        ),
        # unprotected before and unknown after: nothing is switched off
        resource(
            "aws_db_instance.open",
            ["update"],
            before={"deletion_protection": False},
            after={},
            after_unknown={"deletion_protection": True},
        ),
    )
    (finding,) = analysis.findings
    assert (finding.id, finding.address) == ("protection-disabled", DB)
    assert "known only after apply" in finding.message
    assert analysis.verdict is Verdict.NEEDS_APPROVAL
