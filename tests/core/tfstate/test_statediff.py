from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from signalbox.core.tfstate import diff_states, resource_addresses


def state(*resources: dict[str, object]) -> bytes:
    return json.dumps(
        {"version": 4, "serial": 1, "lineage": "l", "resources": list(resources)}
    ).encode()


def resource(
    type_: str, name: str, *keys: object, mode: str = "managed", module: str | None = None
) -> dict[str, object]:
    found: dict[str, object] = {
        "mode": mode,
        "type": type_,
        "name": name,
        "provider": 'provider["x"]',
        "instances": [
            {
                "schema_version": 0,
                "attributes": {"secret": "s3cr3t"},
                **({} if key is None else {"index_key": key}),
            }
            for key in keys
        ],
    }
    if module:
        found["module"] = module
    return found


def test_addresses_of_every_kind() -> None:
    body = state(
        resource("aws_cognito_user_pool", "main", None),
        resource("aws_instance", "web", 0, 1),
        resource("aws_s3_bucket", "b", "logs", module='module.store["eu"]'),
        resource("aws_iam_policy_document", "p", None, mode="data"),
        resource("terraform_data", "gone"),  # no instances: not in the state
    )
    assert resource_addresses(body) == {
        "aws_cognito_user_pool.main",
        "aws_instance.web[0]",
        "aws_instance.web[1]",
        'module.store["eu"].aws_s3_bucket.b["logs"]',
        "data.aws_iam_policy_document.p",
    }


def test_for_each_keys_are_written_as_terraform_writes_them() -> None:
    body = state(resource("aws_s3_bucket", "b", "café", 'a"b'))
    assert resource_addresses(body) == {'aws_s3_bucket.b["café"]', 'aws_s3_bucket.b["a\\"b"]'}


def test_empty_and_old_format_states_have_no_addresses() -> None:
    assert resource_addresses(b"") == frozenset()
    assert resource_addresses(b'{"version": 3, "modules": []}') == frozenset()


@pytest.mark.parametrize("body", [b"nope", b'{"resources": 5}', b"[]"])
def test_unreadable_states_raise(body: bytes) -> None:
    with pytest.raises(ValueError):
        resource_addresses(body)


def test_the_cognito_pool_removed() -> None:
    before = resource_addresses(
        state(
            resource("aws_cognito_user_pool", "main", None), resource("aws_s3_bucket", "site", None)
        )
    )
    after = resource_addresses(
        state(
            resource("aws_cognito_user_pool", "users", None),
            resource("aws_s3_bucket", "site", None),
        )
    )
    diff = diff_states(before, after)
    assert diff.removed == ("aws_cognito_user_pool.main",)
    assert diff.added == ("aws_cognito_user_pool.users",)


addresses = st.frozensets(st.text(min_size=1, max_size=5), max_size=8)


@given(before=addresses, after=addresses)
def test_diff_properties(before: frozenset[str], after: frozenset[str]) -> None:
    diff = diff_states(before, after)
    assert (before - set(diff.removed)) | set(diff.added) == after
    assert not set(diff.added) & set(diff.removed)
