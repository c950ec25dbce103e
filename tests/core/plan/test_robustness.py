"""Property tests: whatever bytes or JSON arrive, reading and analysis either work or raise a
documented PlanError, never anything else."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.core.plan.builders import CATALOG

from signalbox.core.errors import PlanError
from signalbox.core.plan import analyse, check_document, parse_policy, read_plans
from signalbox.core.plan.addresses import instance_address

POLICY = parse_policy("dev", {"policy": {"protected": ["aws_s3_bucket.*"]}})

JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
JSON = st.recursive(
    JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=30,
)
KEYS = st.sampled_from(
    [
        "address",
        "module_address",
        "mode",
        "type",
        "name",
        "index",
        "provider_name",
        "action_reason",
        "previous_address",
        "deposed",
        "change",
    ]
)
CHANGE_KEYS = st.sampled_from(
    [
        "actions",
        "before",
        "after",
        "after_unknown",
        "before_sensitive",
        "after_sensitive",
        "replace_paths",
        "importing",
    ]
)
ACTIONS = st.sampled_from(
    [
        ["create"],
        ["delete"],
        ["update"],
        ["no-op"],
        ["read"],
        ["forget"],
        ["delete", "create"],
        ["create", "delete"],
        ["forget", "create"],
        ["create", "forget"],
    ]
)
SMALL_JSON = st.recursive(
    JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from(["a", "b", "id", "constant_value"]), children, max_size=3)
    ),
    max_leaves=6,
)
ATTRIBUTES = st.dictionaries(
    st.sampled_from(["id", "name", "deletion_protection", "force_destroy", "tags", "size"]),
    SMALL_JSON,
    max_size=5,
)


@st.composite
def plan_like(draw: st.DrawFn) -> dict[str, Any]:
    """Documents shaped like plans, with arbitrary values where values go."""
    changes = []
    for _ in range(draw(st.integers(0, 6))):
        change: dict[str, Any] = {
            "actions": draw(ACTIONS),
            "before": draw(ATTRIBUTES | SMALL_JSON),
            "after": draw(ATTRIBUTES | SMALL_JSON),
            "after_unknown": draw(ATTRIBUTES | SMALL_JSON),
        }
        change.update(draw(st.just({}) | st.dictionaries(CHANGE_KEYS, SMALL_JSON, max_size=1)))
        resource_type = draw(st.sampled_from(["aws_s3_bucket", "aws_db_instance", "aws_iam_role"]))
        name = draw(st.sampled_from(["a", "b", "c"]))
        mode = draw(st.sampled_from(["managed", "data"]))
        module = draw(st.sampled_from(["", "module.m"]))
        index = draw(st.sampled_from([None, 0, "k"]))
        address = instance_address(module, mode, resource_type, name, index)
        entry: dict[str, Any] = {
            "address": address,
            "type": resource_type,
            "name": name,
            "mode": mode,
            "change": change,
        }
        if module:
            entry["module_address"] = module
        if index is not None:
            entry["index"] = index
        entry.update(draw(st.just({}) | st.dictionaries(KEYS, SMALL_JSON, max_size=1)))
        changes.append(entry)
    document: dict[str, Any] = {
        "format_version": draw(st.sampled_from(["1.2", "1.2", "1.2", "0.1", "2.0", "x"])),
        "planned_values": {},
        "resource_changes": changes,
    }
    extras = {
        "errored": st.booleans(),
        "complete": st.booleans(),
        "terraform_version": st.text(max_size=5),
        "deferred_changes": st.lists(
            st.fixed_dictionaries(
                {
                    "reason": st.text(max_size=5),
                    "resource_change": st.just(
                        {
                            "address": "a_b.c",
                            "type": "a_b",
                            "name": "c",
                            "change": {"actions": ["create"]},
                        }
                    ),
                }
            ),
            max_size=2,
        ),
        "configuration": st.fixed_dictionaries(
            {
                "provider_config": st.dictionaries(
                    st.sampled_from(["aws", "azurerm"]),
                    st.fixed_dictionaries({"expressions": SMALL_JSON}),
                )
            }
        ),
        "resource_drift": st.just(
            [{"type": "aws_s3_bucket", "name": "d", "change": {"actions": ["delete"]}}]
        ),
    }
    for key, strategy in extras.items():
        if draw(st.booleans()):
            document[key] = draw(strategy)
    return document


def _read_and_analyse(data: bytes) -> None:
    try:
        plans = read_plans(data, source="fuzz")
    except PlanError as error:
        assert error.message and error.code.startswith("plan-")
        return
    analyses = [analyse(plan, catalog=CATALOG, policy=POLICY) for plan in plans]
    orjson.dumps(check_document(analyses, environment="dev"))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_crash(data: bytes) -> None:
    _read_and_analyse(data)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(JSON)
def test_arbitrary_json_never_crashes(value: Any) -> None:
    _read_and_analyse(orjson.dumps(value))


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(plan_like())
def test_plan_shaped_json_with_arbitrary_values_never_crashes(document: dict[str, Any]) -> None:
    _read_and_analyse(orjson.dumps(document))


@pytest.mark.parametrize(
    "data",
    [
        b"[" * 100_000,
        b'{"a":' * 100_000,
        b'{"format_version": "1.2", "planned_values": 1e999}',
        b'{"format_version":"1.2","planned_values":{},"resource_changes":[{"change":{"actions":'
        b'["delete"],"before":{"name":1e999}},"type":"t","name":"n"}]}',
    ],
)
def test_pathological_inputs_raise_plan_errors_or_read(data: bytes) -> None:
    _read_and_analyse(data)
