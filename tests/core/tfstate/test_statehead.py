from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from signalbox.core.tfstate import StateHead, StateHeadScanner, read_state_head, rewrite_serial

TERRAFORM_STATE = {
    "version": 4,
    "terraform_version": "1.15.5",
    "serial": 12,
    "lineage": "5e1f1c9a-0b1c-4f1e-8c5e-3c9f0e6a7b2d",
    "outputs": {"name": {"value": "x", "type": "string"}},
    "resources": [],
    "check_results": None,
}


def test_reads_terraforms_head() -> None:
    body = json.dumps(TERRAFORM_STATE, indent=2).encode()
    assert read_state_head(body) == StateHead("5e1f1c9a-0b1c-4f1e-8c5e-3c9f0e6a7b2d", 12)


def test_nested_serial_and_lineage_are_not_the_states() -> None:
    state = {
        "resources": [{"serial": 99, "lineage": "nested", "x": {"serial": 1}}],
        "outputs": {"lineage": {"value": "nope"}},
        "lineage": "top",
        "serial": 3,
    }
    assert read_state_head(json.dumps(state).encode()) == StateHead("top", 3)


def test_strings_with_escapes_and_braces_do_not_confuse_it() -> None:
    body = b'{"a": "x\\" } \\\\", "b": ["]", "{"], "serial": 2, "lineage": "l\\u00e9"}'
    assert read_state_head(body) == StateHead("l\u00e9", 2)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json at all",
        b"[1, 2]",
        b'{"serial": 1}',
        b'{"lineage": "x"}',
        b'{"serial": "1", "lineage": "x"}',
        b'{"serial": -1, "lineage": "x"}',
        b'{"serial": true, "lineage": "x"}',
        b'{"serial": 1, "lineage": 5}',
        b'{"serial": 9223372036854775808, "lineage": "x"}',
        b'{"serial": 1, "lineage": ""}',
        b'{"serial": 1, "lineage": "' + b"x" * 129 + b'"}',
        b'{"a": {"serial": 1, "lineage": "x"}}',
    ],
)
def test_bodies_without_a_top_level_head(body: bytes) -> None:
    assert read_state_head(body) is None


def test_it_stops_reading_once_the_head_is_found() -> None:
    scanner = StateHeadScanner()
    scanner.feed(b'{"version": 4, "serial": 1, "lineage": "a", "resources": [')
    assert scanner.done
    scanner.feed(b"this part is never parsed " * 1000)
    assert scanner.head == StateHead("a", 1)


keys = st.text(st.characters(blacklist_categories=("Cs",)), max_size=8)
values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=10,
)


@given(
    before=st.dictionaries(
        keys.filter(lambda k: k not in ("serial", "lineage")), values, max_size=4
    ),
    serial=st.integers(0, 2**63 - 1),
    lineage=st.text(min_size=1, max_size=20),
    cuts=st.lists(st.integers(0, 10_000), max_size=6),
    indent=st.sampled_from([None, 2]),
)
def test_any_chunking_finds_the_same_head(
    before: dict[str, object], serial: int, lineage: str, cuts: list[int], indent: int | None
) -> None:
    state = {**before, "serial": serial, "nested": {"serial": -5}, "lineage": lineage}
    body = json.dumps(state, indent=indent).encode()
    scanner = StateHeadScanner()
    start = 0
    for cut in sorted(c % (len(body) + 1) for c in cuts):
        scanner.feed(body[start:cut])
        start = cut
    scanner.feed(body[start:])
    scanner.finish()
    assert scanner.head == StateHead(lineage, serial)


@given(
    serial=st.integers(0, 10**12),
    new=st.integers(0, 10**12),
    cuts=st.lists(st.integers(0, 400), max_size=5),
    indent=st.sampled_from([None, 2]),
)
def test_rewrite_serial_changes_only_the_top_level_serial(
    serial: int, new: int, cuts: list[int], indent: int | None
) -> None:
    state = {
        "version": 4,
        "serial": serial,
        "lineage": "l",
        "resources": [{"serial": serial, "x": "y" * 50}],
    }
    body = json.dumps(state, indent=indent).encode()
    pieces, start = [], 0
    for cut in sorted(c % (len(body) + 1) for c in cuts):
        pieces.append(body[start:cut])
        start = cut
    pieces.append(body[start:])
    rewritten = json.loads(b"".join(rewrite_serial(pieces, new)))
    assert rewritten == {**state, "serial": new}


def test_rewrite_serial_needs_a_serial() -> None:
    with pytest.raises(ValueError):
        list(rewrite_serial([b'{"lineage": "x"}'], 3))
