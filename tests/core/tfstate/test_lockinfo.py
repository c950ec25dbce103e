from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from signalbox.core.tfstate import LockInfo, parse_lock_info

TERRAFORM_LOCK = (
    b'{"ID":"3f2a6c2e-1b1d-9d7e-04b8-5a8f0d3c6e11","Operation":"OperationTypeApply",'
    b'"Info":"","Who":"alice@laptop","Version":"1.15.5",'
    b'"Created":"2026-11-26T13:44:01.123456Z","Path":""}'
)


def test_reads_the_seven_fields_terraform_sends() -> None:
    info = parse_lock_info(TERRAFORM_LOCK)
    assert info == LockInfo(
        id="3f2a6c2e-1b1d-9d7e-04b8-5a8f0d3c6e11",
        operation="OperationTypeApply",
        who="alice@laptop",
        version="1.15.5",
        created="2026-11-26T13:44:01.123456Z",
    )
    assert not info.read_only


def test_missing_and_extra_fields_are_tolerated() -> None:
    info = parse_lock_info(b'{"ID": "x", "Operation": "OperationTypePlan", "Extra": [1]}')
    assert info == LockInfo(id="x", operation="OperationTypePlan")
    assert info.read_only


def test_non_string_values_become_text() -> None:
    info = parse_lock_info(b'{"ID": 12, "Info": {"a": 1}, "Who": null}')
    assert info is not None and (info.id, info.info, info.who) == ("12", '{"a":1}', "")


@pytest.mark.parametrize("body", [b"", b"  \n", b"\r\n"])
def test_empty_body_is_a_force_unlock(body: bytes) -> None:
    assert parse_lock_info(body) is None


@pytest.mark.parametrize("body", [b"not json", b"[1,2]", b'"ID"', b"{"])
def test_a_body_that_is_not_an_object_is_refused(body: bytes) -> None:
    with pytest.raises(ValueError):
        parse_lock_info(body)


@pytest.mark.parametrize(
    ("operation", "read_only"),
    [
        ("OperationTypePlan", True),
        ("OperationTypeApply", False),
        ("OperationTypeRefresh", False),  # `terraform refresh` writes the state
        ("state-mv", False),
        ("", False),
    ],
)
def test_only_plans_are_read_only(operation: str, read_only: bool) -> None:
    assert LockInfo(id="x", operation=operation).read_only is read_only


@given(st.builds(LockInfo, *(st.text() for _ in range(7))))
def test_json_round_trip(info: LockInfo) -> None:
    encoded = info.to_json()
    assert list(json.loads(encoded)) == [
        "ID",
        "Operation",
        "Info",
        "Who",
        "Version",
        "Created",
        "Path",
    ]
    assert parse_lock_info(encoded) == info
