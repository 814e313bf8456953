"""decode_input, the players' hot decoder: it takes only what decode_client takes, with the same values."""

from __future__ import annotations

import json
import math

import msgpack
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from game_server import protocol as p

MSGPACK = p.CODECS[p.MSGPACK]
JSON = p.CODECS[p.JSON]
INT32 = 2**31 - 1

good_keys = st.sampled_from(["dx", "dy", "fire", "_", "a" * 24, "Ab_9"])
keys = good_keys | st.sampled_from(["a" * 25, "1x", "x-y", "", "é", "x\n", "Δ"]) | st.text(max_size=26)
good_values = st.none() | st.booleans() | st.integers(-(2**31), 2**31 - 1) | st.floats(-1e9, 1e9) | st.text(max_size=32)
values = (
    good_values
    | st.integers(-(2**31) - 2, 2**31 + 1)
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from([1e9 + 1, "\ud800", "x" * 33])
    | st.text(max_size=34)
    | st.lists(st.integers(), max_size=2)
    | st.dictionaries(st.text(max_size=3), st.integers(), max_size=2)
)
numbers = st.integers(0, INT32 + 1) | st.sampled_from([INT32, -1, True, False, 1.0, "1", None]) | st.integers()
typical = st.fixed_dictionaries(
    {
        "type": st.just("match.input"),
        "seq": st.integers(1, INT32),
        "data": st.dictionaries(good_keys, good_values, max_size=8),
    },
    optional={"rid": st.integers(0, INT32)},
)
wild = st.fixed_dictionaries(
    {"type": st.sampled_from(["match.input"] * 4 + ["match.resync", "lobby.chat"]), "seq": numbers},
    optional={"data": st.dictionaries(keys, values, max_size=9), "rid": numbers, "extra": st.integers()},
)
inputs = typical | wild


def encoded(codec: p.Codec, obj: object) -> bytes | str:
    if codec.binary:
        return msgpack.packb(obj, use_bin_type=True)
    return json.dumps(obj)  # (NaN and Infinity go out as such; the decoder refuses them)


def decode_client(codec: p.Codec, frame: bytes | str) -> object:
    try:
        return p.decode_client(codec, frame)
    except p.ProtocolError as exc:
        return exc


@settings(max_examples=600, suppress_health_check=[HealthCheck.too_slow])
@given(obj=inputs, binary=st.booleans())
def test_what_decode_input_takes_decode_client_takes_alike(obj: dict[str, object], binary: bool) -> None:
    codec = MSGPACK if binary else JSON
    try:
        frame = encoded(codec, obj)
    except (OverflowError, UnicodeEncodeError):  # (msgpack: no ints past 64 bits, no lone surrogates)
        assume(False)
    fast = p.decode_input(codec, frame)
    full = decode_client(codec, frame)
    if isinstance(full, p.MatchInput) and len(frame) <= p.MAX_FRAME_BYTES // 4:
        assert fast is not None, obj  # (the usual sizes; bigger frames may take the full decoder)
    if fast is not None:
        assert isinstance(full, p.MatchInput), (obj, full)
        assert (fast.type, fast.seq, fast.rid) == (full.type, full.seq, full.rid)
        assert fast.data == full.data
        assert [type(v) for v in fast.data.values()] == [type(v) for v in full.data.values()]


@pytest.mark.parametrize("codec", [MSGPACK, JSON], ids=["msgpack", "json"])
@pytest.mark.parametrize(
    "obj",
    [
        {"type": "match.input", "seq": 1, "data": {}},
        {"type": "match.input", "seq": INT32, "data": {"dx": 1, "dy": -1, "fire": False}, "rid": 0},
        {"type": "match.input", "seq": 7, "data": {"a" * 24: "x" * 32, "b": -1e9, "c": None, "d": -(2**31)}},
    ],
)
def test_the_usual_inputs_take_the_fast_path(codec: p.Codec, obj: dict[str, object]) -> None:
    frame = p.decode_input(codec, encoded(codec, obj))
    assert frame is not None
    assert (frame.type, frame.seq, frame.data, frame.rid) == (obj["type"], obj["seq"], obj["data"], obj.get("rid"))


@pytest.mark.parametrize("codec", [MSGPACK, JSON], ids=["msgpack", "json"])
@pytest.mark.parametrize(
    "change",
    [
        {"seq": True},
        {"seq": 0},
        {"seq": INT32 + 1},
        {"seq": 1.0},
        {"rid": -1},
        {"rid": True},
        {"data": {"1x": 1}},
        {"data": {"a" * 25: 1}},
        {"data": {f"k{i}": i for i in range(9)}},
        {"data": {"x": 2**31}},
        {"data": {"x": 1e9 + 1}},
        {"data": {"x": math.inf}},
        {"data": {"x": math.nan}},
        {"data": {"x": "x" * 33}},
        {"data": {"x": [1]}},
        {"data": []},
        {"type": "match.resync"},
        {"extra": 1},
    ],
)
def test_anything_unusual_is_left_to_decode_client(codec: p.Codec, change: dict[str, object]) -> None:
    obj = {"type": "match.input", "seq": 5, "data": {"dx": 1}, **change}
    frame = encoded(codec, obj)
    assert p.decode_input(codec, frame) is None
    assert isinstance(decode_client(codec, frame), p.ProtocolError)  # ...which refuses it, with its error


def test_a_lone_surrogate_in_a_json_input_is_left_to_decode_client() -> None:
    frame = '{"type": "match.input", "seq": 5, "data": {"name": "\\ud800"}}'
    assert p.decode_input(JSON, frame) is None
    assert decode_client(JSON, frame).code == p.ErrorCode.MALFORMED  # type: ignore[union-attr]


def test_wrong_frame_kinds_and_oversize_frames_are_left_to_decode_client() -> None:
    obj = {"type": "match.input", "seq": 5, "data": {"dx": 1}}
    assert p.decode_input(MSGPACK, json.dumps(obj)) is None
    assert p.decode_input(JSON, msgpack.packb(obj)) is None
    assert p.decode_input(MSGPACK, msgpack.packb(obj), max_bytes=20) is None
    assert p.decode_input(MSGPACK, b"\xc1") is None  # (not msgpack at all)
