"""Reading fails closed: a damaged plan stops the check (a PlanError, exit 1) or reads to the
same verdict as the intact plan, never a milder one.

The property runs on real plans whose intact verdict needs a person (needs-approval or blocked
under the test CATALOG), chosen so that the verdict does not hinge on an attribute value: a
changed value that is still valid (``"ACTIVE"`` read as ``"ACTIVF"``) makes another valid plan,
which no reader can tell from the real one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.core.plan.builders import CATALOG, DEFAULT_POLICY, FIXTURES, fixture_bytes, plan_bytes
from tests.core.plan.builders import resource as change_entry

from signalbox.core.errors import PlanError, PlanUnreadable
from signalbox.core.plan import (
    Catalog,
    Policy,
    Severity,
    Verdict,
    analyse,
    parse_policy,
    read_plans,
)
from signalbox.core.plan.schema import TERRAFORM_PLAN_KEYS
from signalbox.services.plan_check import shipped_catalog

DAMAGED = FIXTURES / "derived" / "reading"
MULTI_ENV = "public/tfplan-validator/multi-env-dev3.json"
PROTECTED = parse_policy("dev", {"policy": {"protected": ["module.environment.local_file.foo*"]}})
EXAMPLES = FIXTURES.parents[2] / "examples" / "plans"
RENAMES_NEED_APPROVAL = parse_policy("dev", {"policy": {"probable-rename": "needs-approval"}})


def _compact(relative: str) -> bytes:
    document = json.loads(fixture_bytes(relative))
    return json.dumps(document, separators=(",", ":")).encode() + b"\n"


CASES: dict[str, tuple[bytes, Policy]] = {
    "fixture-delete": (
        fixture_bytes("public/tfplan-validator/fixture-delete.json"),
        DEFAULT_POLICY,
    ),
    "fixture-delete-compact": (
        _compact("public/tfplan-validator/fixture-delete.json"),
        DEFAULT_POLICY,
    ),
    "fixture-delete-create": (
        fixture_bytes("public/tfplan-validator/fixture-delete-create.json"),
        DEFAULT_POLICY,
    ),
    "multi-env-dev3": (fixture_bytes(MULTI_ENV), DEFAULT_POLICY),
    "multi-env-dev3-protected": (fixture_bytes(MULTI_ENV), PROTECTED),
    "plan-error": (fixture_bytes("public/terraform/show-json-plan-error.json"), DEFAULT_POLICY),
    # protection-disabled: a damaged argument name in `before` must not make it protection-missing
    "database-protection-off": (
        (EXAMPLES / "database-protection-off.json").read_bytes(),
        DEFAULT_POLICY,
    ),
}
# Not a case: a verdict that hinges on a probable rename (a policy may make it need approval).
# A rename is found by comparing values, and a damaged value or attribute name reads as another
# valid plan in which the two objects differ; the damage that can be caught (a provider_name)
# has its own test below.
RENAMED = (
    fixture_bytes("public/tfplan2md/azuredevops-terraform-plan2.json"),
    RENAMES_NEED_APPROVAL,
)
# a case whose verdict needs the shipped catalog goes here (none yet: an azapi destroy is
# stateful by the Azure type string in `before`, a value whose damage reads as another valid
# type, so it has targeted tests below instead of the byte property)
CASE_CATALOGS: dict[str, Catalog] = {}


def _catalog(name: str) -> Catalog:
    return CASE_CATALOGS.get(name, CATALOG)


# the exhaustive sweep: small plans, bytes that end, open and break JSON structure
SWEPT = (
    "fixture-delete-compact",
    "multi-env-dev3-protected",
    "plan-error",
    "database-protection-off",
)
SWEEP_BYTES = b'}"x ,'


Serious = frozenset[tuple[str, str]]


def outcome(data: bytes, policy: Policy, catalog: Catalog = CATALOG) -> tuple[Verdict, Serious]:
    """The worst verdict, and the (id, address) of every high or critical finding."""
    analyses = [
        analyse(plan, catalog=catalog, policy=policy)
        for plan in read_plans(data, source="damaged.json")
    ]
    serious = frozenset(
        (finding.id, finding.address)
        for analysis in analyses
        for finding in analysis.findings
        if finding.severity.rank <= Severity.HIGH.rank
    )
    return max(analysis.verdict for analysis in analyses), serious


def verdict(data: bytes, policy: Policy, catalog: Catalog = CATALOG) -> Verdict:
    return outcome(data, policy, catalog)[0]


def fails_closed(
    data: bytes, policy: Policy, intact: tuple[Verdict, Serious], catalog: Catalog = CATALOG
) -> bool:
    """True when ``data`` stops the check, or reads to at least the intact verdict with at
    least the intact plan's high and critical findings (losing one of two destroys is not
    hidden by the other)."""
    try:
        found, serious = outcome(data, policy, catalog)
    except PlanError:
        return True
    return found >= intact[0] and serious >= intact[1]


def corrupt(data: bytes, operation: str, position: int, byte: int) -> bytes:
    if operation == "replace":
        return data[:position] + bytes([byte]) + data[position + 1 :]
    if operation == "insert":
        return data[:position] + bytes([byte]) + data[position:]
    return data[:position] + data[position + 1 :]


@pytest.mark.parametrize("name", sorted(CASES))
def test_every_case_needs_a_person_when_intact(name: str) -> None:
    data, policy = CASES[name]
    expected = Verdict.BLOCKED if name in ("multi-env-dev3-protected", "plan-error") else None
    assert verdict(data, policy, _catalog(name)) is (expected or Verdict.NEEDS_APPROVAL)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(sorted(CASES)),
    operation=st.sampled_from(["replace", "insert", "delete"]),
    where=st.floats(min_value=0, max_value=1, exclude_max=True),
    byte=st.integers(0, 255),
)
def test_any_single_byte_corruption_stops_the_check_or_keeps_the_verdict(
    name: str, operation: str, where: float, byte: int
) -> None:
    data, policy = CASES[name]
    catalog = _catalog(name)
    damaged = corrupt(data, operation, int(where * len(data)), byte)
    assert fails_closed(damaged, policy, outcome(data, policy, catalog), catalog)


def _variants(data: bytes) -> Iterator[tuple[str, int, int]]:
    for position in range(len(data)):
        for byte in SWEEP_BYTES:
            if data[position] != byte:
                yield "replace", position, byte
        yield "delete", position, 0
        yield "insert", position, ord("}")


@pytest.mark.parametrize("name", SWEPT)
def test_every_position_of_small_real_plans_fails_closed(name: str) -> None:
    data, policy = CASES[name]
    catalog = _catalog(name)
    intact = outcome(data, policy, catalog)
    fail_open = [
        (operation, position, chr(byte))
        for operation, position, byte in _variants(data)
        if not fails_closed(corrupt(data, operation, position, byte), policy, intact, catalog)
    ]
    assert fail_open == []


# ------------------------------------------------------------------------------ top-level keys


def _damaged(name: str) -> bytes:
    return (DAMAGED / name).read_bytes()


def test_a_damaged_resource_changes_key_stops_the_check() -> None:
    with pytest.raises(PlanUnreadable) as raised:
        read_plans(_damaged("multi-env-dev3.resource-changez.txt"), source="dev3.json")
    assert raised.value.message.startswith(
        'dev3.json has a key "resource_changez" where Terraform writes "resource_changes"'
    )


def test_a_damaged_errored_key_stops_the_check() -> None:
    with pytest.raises(PlanUnreadable, match='"errorex" where Terraform writes "errored"'):
        read_plans(_damaged("show-json-plan-error.errorex.txt"))


def _one_letter_changed(key: str) -> str:
    return key[:-1] + ("x" if key[-1] != "x" else "y")


@pytest.mark.parametrize("key", sorted(TERRAFORM_PLAN_KEYS))
def test_every_key_terraform_writes_is_guarded(key: str) -> None:
    document = orjson.loads(fixture_bytes(MULTI_ENV))
    document.pop(key, None)
    document[_one_letter_changed(key)] = document.get(key, {})
    with pytest.raises(PlanUnreadable, match=f'where Terraform writes "{key}"'):
        read_plans(orjson.dumps(document))


@pytest.mark.parametrize(
    "damaged", ["resource_chagnes", "resource_chnges", "resource_changess", "Resource_changes"]
)
def test_a_swapped_missing_or_extra_letter_is_one_edit(damaged: str) -> None:
    document = orjson.loads(fixture_bytes(MULTI_ENV))
    document[damaged] = document.pop("resource_changes")
    with pytest.raises(PlanUnreadable, match='where Terraform writes "resource_changes"'):
        read_plans(orjson.dumps(document))


@pytest.mark.parametrize(
    "key", ["future_top_level", "resource_changes_v2", "error", "plans", "erroring"]
)
def test_keys_far_from_every_known_one_are_ignored(key: str) -> None:
    change = change_entry("aws_s3_bucket.logs", ["delete"], before={})
    (plan,) = read_plans(plan_bytes(change, **{key: {"a": 1}}))
    assert [c.address for c in plan.changes] == ["aws_s3_bucket.logs"]


def test_a_near_key_next_to_the_key_itself_is_a_newer_key_not_damage() -> None:
    (plan,) = read_plans(plan_bytes(errored=True, errorer=False))
    assert plan.errored is True


# ------------------------------------------------------------------------------ resource parts


def _multi_env_with(old: bytes, new: bytes) -> bytes:
    data = fixture_bytes(MULTI_ENV)
    marker = b'"resource_changes":'
    head, tail = data.split(marker)
    assert tail.count(old) >= 1, old
    return head + marker + tail.replace(old, new, 1)


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("multi-env-dev3.address-changed.txt", "module.environment.local_file.fox[0]"),
        ("multi-env-dev3.type-changed.txt", "module.environment.local_file.foo[0]"),
    ],
)
def test_an_address_that_disagrees_with_its_parts_stops_the_check(name: str, says: str) -> None:
    with pytest.raises(PlanUnreadable) as raised:
        read_plans(_damaged(name), source="dev3.json")
    assert raised.value.message.startswith(f"dev3.json: resource_changes[1] ({says}) has an ")
    assert "does not agree with its module_address, mode, type, name and index" in str(raised.value)


@pytest.mark.parametrize(
    ("old", "new", "says"),
    [
        (b'"mode":"managed"', b'"mode":"managex"', 'has mode "managex"'),
        (b'"mode":"managed"', b'"mode":"data"', "does not agree"),
        (b'"name":"bar"', b'"name":"baz"', "does not agree"),
        (b'"index":0', b'"index":1', "does not agree"),
        (b'"index":0', b'"index":"0"', "does not agree"),
        (b'"module_address":"module.environment"', b'"module_address":"module.env"', "agree"),
        (b'"type":"local_file"', b'"type":""', "no type or no name"),
        (b'"type":"local_file"', b'"typx":"local_file"', "no type or no name"),
        (b'"name":"bar"', b'"namx":"bar"', "no type or no name"),
        (b'"address":"module.environment.local_file.bar[0]"', b'"address":"x.bar[0]"', "agree"),
    ],
)
def test_each_part_of_an_address_is_checked(old: bytes, new: bytes, says: str) -> None:
    with pytest.raises(PlanUnreadable, match=says):
        read_plans(_multi_env_with(old, new))


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (b'"module_address":"module.environment",', b""),  # hand-written plans leave it out
        (b'"index":0,', b""),
        (b'"address":"module.environment.local_file.bar[0]",', b""),  # rebuilt from its parts
    ],
)
def test_an_absent_module_address_index_or_address_is_not_damage(old: bytes, new: bytes) -> None:
    data = _multi_env_with(old, new)
    assert verdict(data, PROTECTED) is Verdict.BLOCKED
    (plan,) = read_plans(data)
    assert plan.changes[0].address == "module.environment.local_file.bar[0]"


@pytest.mark.parametrize(
    ("address", "index", "mode"),
    [
        ('aws_s3_bucket.b["eu-west-1"]', "eu-west-1", "managed"),
        ('aws_s3_bucket.b["a${b}"]', "a${b}", "managed"),  # Terraform writes "a$${b}"
        ('aws_s3_bucket.b["a$${b}"]', "a${b}", "managed"),
        ('aws_s3_bucket.b["q\\"uote"]', 'q"uote', "managed"),
        ('aws_s3_bucket.b["ünïcode"]', "ünïcode", "managed"),
        ("module.m.data.aws_s3_bucket.b[3]", 3, "data"),
        ('module.m["k"].module.n[0].aws_s3_bucket.b', None, "managed"),
    ],
)
def test_addresses_terraform_writes_agree_with_their_parts(
    address: str, index: object, mode: str
) -> None:
    entry = change_entry(address, ["no-op"], before={}, after={}, mode=mode)
    entry["name"] = "b"
    entry.pop("module_address", None)
    if index is not None:
        entry["index"] = index
    (plan,) = read_plans(plan_bytes(entry))
    assert plan.changes[0].address == address


def test_a_deferred_change_whose_address_disagrees_stops_the_check() -> None:
    entry = change_entry("aws_s3_bucket.logs", ["delete"], before={})
    entry["type"] = "aws_s3_buckex"
    deferred = [{"reason": "provider_config_unknown", "resource_change": entry}]
    with pytest.raises(PlanUnreadable, match=r"deferred_changes\[0\] \(aws_s3_bucket\.logs\)"):
        read_plans(plan_bytes(deferred_changes=deferred))


# ------------------------------------------------------------------------------ values


def test_a_replace_without_before_stops_the_check() -> None:
    with pytest.raises(PlanUnreadable) as raised:
        read_plans(_damaged("fixture-delete-create.beforx.txt"), source="replace.json")
    assert raised.value.message.startswith(
        'replace.json: resource_changes[0] (local_file.foo) is a replace without its "before" '
        "value, which Terraform always writes"
    )


@pytest.mark.parametrize("actions", [["update"], ["no-op"], ["delete", "create"]])
@pytest.mark.parametrize("missing", ["before", "after"])
def test_updates_no_ops_and_replaces_need_both_values(actions: list[str], missing: str) -> None:
    entry = change_entry("aws_db_instance.main", actions, before={"a": 1}, after={"a": 1})
    del entry["change"][missing]
    with pytest.raises(PlanUnreadable, match=f'without its "{missing}" value'):
        read_plans(plan_bytes(entry))


def test_creates_deletes_and_reads_may_leave_out_the_value_they_do_not_have() -> None:
    created = change_entry("aws_db_instance.new", ["create"], after={"a": 1})
    deleted = change_entry("aws_db_instance.old", ["delete"], before={"a": 1})
    read = change_entry("data.aws_ami.x", ["read"], mode="data", after={})
    del created["change"]["before"], deleted["change"]["after"], read["change"]["before"]
    (plan,) = read_plans(plan_bytes(created, deleted, read))
    assert len(plan.changes) == 3


def test_a_backslash_that_makes_an_escape_in_a_key_stops_the_check() -> None:
    data = CASES["fixture-delete"][0]
    damaged = data.replace(b'"resource_changes"', b'"reso\\rce_changes"')
    with pytest.raises(PlanUnreadable, match=r'has a key "reso\?ce_changes", which is not a name'):
        read_plans(damaged)


def test_a_byte_that_is_not_utf8_inside_a_value_stops_the_check() -> None:
    data = CASES["fixture-delete-create"][0]
    position = data.index(b'"content_base64"', data.index(b'"after"')) + 2
    damaged = data[:position] + b"\xc3" + data[position + 1 :]
    with pytest.raises(PlanUnreadable, match="not valid JSON: text that is not UTF-8") as raised:
        read_plans(damaged)
    assert raised.value.details["offset"] == position


# ------------------------------------------------------------------------------ values and groups


@pytest.mark.parametrize("side", ["before", "after"])
def test_a_damaged_protection_argument_on_one_side_still_needs_approval(side: str) -> None:
    data, policy = CASES["database-protection-off"]
    document = json.loads(data)
    values = document["resource_changes"][0]["change"][side]
    values["deletion_protectiox"] = values.pop("deletion_protection")
    (plan,) = read_plans(json.dumps(document).encode())
    analysis = analyse(plan, catalog=CATALOG, policy=policy)
    (finding,) = [f for f in analysis.findings if f.id == "protection-disabled"]
    assert "on one side of this plan only" in finding.message
    assert analysis.verdict is Verdict.NEEDS_APPROVAL


def test_a_protection_argument_missing_on_both_sides_is_a_provider_without_it() -> None:
    data, policy = CASES["database-protection-off"]
    document = json.loads(data)
    change = document["resource_changes"][0]["change"]
    del change["before"]["deletion_protection"], change["after"]["deletion_protection"]
    (plan,) = read_plans(json.dumps(document).encode())
    analysis = analyse(plan, catalog=CATALOG, policy=policy)
    assert "protection-disabled" not in {f.id for f in analysis.findings}


def test_a_damaged_provider_name_does_not_lose_a_probable_rename() -> None:
    data, policy = RENAMED
    intact = analyse(read_plans(data)[0], catalog=CATALOG, policy=policy)
    document = json.loads(data)
    for change in document["resource_changes"]:
        if change["address"] == "azuredevops_build_definition.example":
            change["provider_namx"] = change.pop("provider_name")
    (plan,) = read_plans(json.dumps(document).encode())
    damaged = analyse(plan, catalog=CATALOG, policy=policy)
    renames = [f.address for f in damaged.findings if f.id == "probable-rename"]
    assert renames == [f.address for f in intact.findings if f.id == "probable-rename"] != []
    assert damaged.verdict is Verdict.NEEDS_APPROVAL


AZAPI_DESTROYED = "derived/azapi-delete-automation-account.json"


@pytest.mark.parametrize(
    ("old", "new"), [(b'"before"', b'"beforx"'), (b'"type": "Microsoft', b'"typx": "Microsoft')]
)
def test_an_azapi_destroy_without_its_azure_type_still_needs_approval(
    old: bytes, new: bytes
) -> None:
    data = fixture_bytes(AZAPI_DESTROYED)
    assert verdict(data, DEFAULT_POLICY, shipped_catalog()) is Verdict.NEEDS_APPROVAL
    damaged = data.replace(old, new, 1)
    assert damaged != data
    (plan,) = read_plans(damaged)
    analysis = analyse(plan, catalog=shipped_catalog(), policy=DEFAULT_POLICY)
    (finding,) = [f for f in analysis.findings if f.id == "stateful-destroy"]
    assert "the plan does not name its Azure type" in finding.message
    assert analysis.verdict is Verdict.NEEDS_APPROVAL
