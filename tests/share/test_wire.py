"""The binary form of a pull answer (share.wire): the same answer back, and anything but a
well-formed body (cut short, bytes after, sizes beyond the body, a header that is not an
answer) is a WireError (a ValueError), never another error or a partial answer."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from seawatch.share.wire import WireError, decode_answer, encode_answer

NAMES = st.sampled_from(["manifest.dsse.json", "part-001.parquet.enc", "part-002.parquet.enc"])
BUNDLE = st.dictionaries(NAMES, st.binary(max_size=64), max_size=3)
ANSWER = st.fixed_dictionaries(
    {
        "format": st.just("seawatch-pull/1"),
        "after": st.integers(0, 10),
        "checkpoint": st.text(max_size=20),
        "bundles": st.lists(BUNDLE, max_size=3),
    }
)


@settings(max_examples=200)
@given(ANSWER)
def test_the_same_answer_comes_back(answer: dict[str, object]) -> None:
    assert decode_answer(encode_answer(answer)) == answer


@settings(max_examples=100)
@given(ANSWER, st.data())
def test_a_cut_or_extended_body_is_refused(answer: dict[str, object], data: st.DataObject) -> None:
    body = encode_answer(answer)
    cut = data.draw(st.integers(0, len(body) - 1))
    with pytest.raises(WireError):
        decode_answer(body[:cut])
    with pytest.raises(WireError):
        decode_answer(body + data.draw(st.binary(min_size=1, max_size=8)))


@pytest.mark.parametrize(
    "header",
    [
        b"[]",
        b'{"bundles": 3}',
        b'{"bundles": [3]}',
        b'{"bundles": [[["a"]]]}',
        b'{"bundles": [[["a", -1]]]}',
        b'{"bundles": [[["a", 99]]]}',
        b'{"bundles": [[["a", true]]]}',
        b'{"bundles": [[[1, 0]]]}',
        b'{"bundles": [[["a", 0], ["a", 0]]]}',
        b"not json",
    ],
)
def test_a_header_that_is_not_an_answer_is_refused(header: bytes) -> None:
    body = b"seawatch-pull/2\n" + len(header).to_bytes(8, "big") + header
    with pytest.raises(WireError):
        decode_answer(body)


def test_another_format_is_refused() -> None:
    with pytest.raises(WireError):
        decode_answer(json.dumps({"bundles": []}).encode())
    with pytest.raises(WireError):
        decode_answer(b"seawatch-pull/2\n" + (2**40).to_bytes(8, "big") + b"{}")
