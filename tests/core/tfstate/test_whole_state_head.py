"""The strict check of a written state body: one JSON object, nothing after it, each
top-level key once, a whole-number serial and a lineage; what is wrong is told with where."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from signalbox.core.tfstate import HeadReading, StateHead, read_whole_state_head

LINEAGE = "5e1f1c9a-0b1c-4f1e-8c5e-3c9f0e6a7b2d"
STATE = {
    "version": 4,
    "terraform_version": "1.15.5",
    "serial": 12,
    "lineage": LINEAGE,
    "outputs": {"serial": {"value": "x", "type": "string"}},
    "resources": [{"serial": 99, "lineage": "nested", "instances": [{"attributes": {}}]}],
    "check_results": None,
}
BODY = json.dumps(STATE, indent=2).encode()


def test_terraforms_state_reads_whole() -> None:
    assert read_whole_state_head(BODY) == HeadReading(StateHead(LINEAGE, 12))
    assert read_whole_state_head(bytearray(BODY)).head == StateHead(LINEAGE, 12)


def test_a_cut_body_is_not_a_state_and_says_where_it_ends() -> None:
    cut = BODY[:-40]
    assert read_whole_state_head(cut) == HeadReading(
        None, f"it ends at byte {len(cut)}, inside its JSON (cut short?)"
    )


@pytest.mark.parametrize("key", ["serial", "lineage", "version"])
def test_a_duplicated_top_level_key_is_refused_wherever_it_is(key: str) -> None:
    again = json.dumps(STATE[key])
    later = BODY[:-2] + f',\n  "{key}": {again}\n}}'.encode()
    reading = read_whole_state_head(later)
    assert reading.head is None
    assert reading.problem.startswith(f"its top-level key '{key}' appears more than once")


def test_a_duplicated_serial_with_another_value_names_the_first_position() -> None:
    body = b'{"serial": 3, "lineage": "L", "serial": 4}'
    assert read_whole_state_head(body).problem == (
        "its top-level key 'serial' appears more than once (at byte 1)"
    )


def test_an_escaped_spelling_of_a_key_is_the_same_key() -> None:
    body = b'{"serial": 3, "lineage": "L", "s\\u0065rial": 3}'
    assert "'serial' appears more than once (at byte 30)" in read_whole_state_head(body).problem


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (BODY + b"{}", f"it has more after its JSON object, from byte {len(BODY)}"),
        (b"[1, 2]", "it is JSON but not a JSON object"),
        (b"", "it ends at byte 0, inside its JSON (cut short?)"),
        (
            b'{"serial": 1,, "lineage": "L"}',
            "it is not valid JSON: object keys must be strings (byte 13)",
        ),
        (b'{"lineage": "L"}', "it has no top-level serial"),
        (b"{}", "it has no top-level serial and lineage"),
        (
            b'{"serial": 1.5, "lineage": "L"}',
            "its serial is not a whole number from 0 to 9223372036854775807",
        ),
        (
            b'{"serial": 1, "lineage": ""}',
            "its lineage is not a string of 1 to 128 characters",
        ),
    ],
)
def test_what_is_wrong_is_told(body: bytes, problem: str) -> None:
    assert read_whole_state_head(body) == HeadReading(None, problem)


def test_nested_duplicates_are_the_resources_business() -> None:
    body = b'{"serial": 1, "lineage": "L", "outputs": {"a": 1, "a": 2}}'
    assert read_whole_state_head(body).head == StateHead("L", 1)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=8,
)
extras = st.dictionaries(
    st.text(max_size=8).filter(lambda k: k not in {"serial", "lineage"}), json_values, max_size=4
)


@given(
    extras,
    st.integers(0, 2**63 - 1),
    st.text(min_size=1, max_size=40),
    st.sampled_from([None, 2]),
)
def test_any_whole_object_reads_and_any_cut_or_doubled_one_does_not(
    extra: dict, serial: int, lineage: str, indent: int | None
) -> None:
    document = {**extra, "serial": serial, "lineage": lineage}
    body = json.dumps(document, indent=indent).encode()
    assert read_whole_state_head(body) == HeadReading(StateHead(lineage, serial))
    for cut in {1, len(body) // 2, len(body) - 1}:
        assert read_whole_state_head(body[:cut]).head is None
    doubled = body[:-1] + b', "serial": ' + str(serial).encode() + b"}"
    assert "'serial' appears more than once" in read_whole_state_head(doubled).problem
