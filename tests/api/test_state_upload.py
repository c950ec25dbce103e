"""The upload reader: a request body cut into segments while its state head is found."""

from __future__ import annotations

import hashlib

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st

from signalbox.api.state_upload import BodyReceiver, decode_content_md5
from signalbox.core.errors import InvalidInput, PayloadTooLarge
from signalbox.core.tfstate import StateHead


@given(body=st.binary(max_size=2000), piece=st.integers(1, 300), size=st.integers(1, 200))
def test_segments_cover_the_body_and_only_the_last_is_final(body, piece, size):
    receiver = BodyReceiver(limit=10_000, segment_size=size)
    segments = []
    for start in range(0, len(body), piece):
        segments += receiver.add(body[start : start + piece])
    segments.append(receiver.finish())
    assert b"".join(s.plain for s in segments) == body
    assert [s.index for s in segments] == list(range(len(segments)))
    assert [s.final for s in segments] == [False] * (len(segments) - 1) + [True]
    assert all(len(s.plain) == size for s in segments[:-1]) and len(segments[-1].plain) <= size


def test_the_head_is_found_and_the_limit_is_enforced():
    receiver = BodyReceiver(limit=100)
    receiver.add(b'{"serial": 3, "lineage": "x"}')
    receiver.finish()
    assert receiver.head == StateHead("x", 3)
    with pytest.raises(PayloadTooLarge):
        BodyReceiver(limit=3).add(b"1234")


def test_a_body_that_is_not_a_state_has_no_head():
    receiver = BodyReceiver(limit=100)
    receiver.add(b'{"hello": "world"}')
    receiver.finish()
    assert receiver.head is None


def test_segments_of_a_stream_end_with_the_final_one():
    receiver = BodyReceiver(limit=10_000, segment_size=4)

    async def pieces():
        yield b'{"serial"'
        yield b': 2, "lineage": "L"}'

    async def collect():
        return [segment async for segment in receiver.segments(pieces())]

    segments = anyio.run(collect)
    assert b"".join(s.plain for s in segments) == b'{"serial": 2, "lineage": "L"}'
    assert [s.final for s in segments][-2:] == [False, True]
    assert receiver.head == StateHead("L", 2)


def test_an_empty_body_is_one_empty_final_segment():
    receiver = BodyReceiver(limit=10)
    assert receiver.add(b"") == []
    final = receiver.finish()
    assert (final.index, final.final, final.plain) == (0, True, b"")


def test_content_md5_header():
    assert decode_content_md5(None) is None
    assert decode_content_md5("1B2M2Y8AsgTpgAmY7PhCfg==") == hashlib.md5(b"").digest()
    with pytest.raises(InvalidInput):
        decode_content_md5("not-md5")
