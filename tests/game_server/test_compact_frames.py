"""Deltas with increments, and the compact msgpack form of deltas (protocol.frames)."""

from __future__ import annotations

import statistics
from typing import Any

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.bench import arena_match
from engine.delta import diff, names, patch
from engine.match import Frame, Match
from engine.rng import Rng
from game_server import protocol as p
from game_server.engine_bridge import frame_message, frame_plain
from game_server.protocol import frames

keys = st.sampled_from(["x", "y", "players", "0", "1", "17", "007", "-1", "", "é", "123456789", "12345678901234567890"])
ints = st.integers(-(2**40), 2**40)
leaves = st.one_of(
    ints,
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=3),
    st.lists(st.one_of(ints, st.dictionaries(keys, ints, max_size=2)), max_size=3),
)
trees = st.recursive(leaves, lambda inner: st.dictionaries(keys, inner, max_size=5), max_leaves=20).filter(
    lambda t: isinstance(t, dict)
)


def strict(value: Any) -> Any:
    """A value where True and 1 (and 1.0) differ, for comparisons."""
    if isinstance(value, dict):
        return {k: strict(v) for k, v in value.items()}
    if isinstance(value, list):
        return [strict(v) for v in value]
    return (type(value).__name__, value)


@settings(max_examples=300, deadline=None)
@given(old=trees, new=trees)
def test_patch_of_diff_gives_the_new_tree_with_its_types(old: dict[str, Any], new: dict[str, Any]):
    assert strict(patch(old, diff(old, new))) == strict(new)


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ({"x": {"a": 0, "b": None}}, {"x": {"a": False, "b": None}}),  # found by the property test above
        ({"x": [1, 2]}, {"x": [1.0, 2]}),
        ({"x": {"p": [[True]]}}, {"x": {"p": [[1]]}}),
    ],
)
def test_a_change_of_type_inside_an_equal_looking_container_is_sent(old: dict[str, Any], new: dict[str, Any]):
    # `==` takes 0 for False and 1 for 1.0; a JSON client would then keep the old type.
    assert diff(old, new) != {}
    assert strict(patch(old, diff(old, new))) == strict(new)


def test_small_int_changes_travel_as_increments_and_others_are_set():
    old = {"x": 2000, "score": 3, "on": True, "flag": 1, "v": 1.5, "far": 5}
    new = {"x": 2040, "score": 4, "on": False, "flag": True, "v": 2.5, "far": -5}
    assert diff(old, new) == {
        "set": {"on": False, "flag": True, "v": 2.5, "far": -5},
        "add": {"x": 40, "score": 1},
    }


def test_a_nested_delta_applies_to_an_empty_map_where_the_old_value_is_not_one():
    assert patch({"a": None}, {"sub": {"a": {"set": {"b": 1}}}}) == {"a": {"b": 1}}


def compact_round_trip(old: dict[str, Any], new: dict[str, Any], known: tuple[str, ...], base: int) -> dict[str, Any]:
    message = {"type": "delta", "tick": 41, "base": base, "t": 1732470004100.5, "delta": diff(old, new)}
    raw = p.pack_delta(message, known)
    items = msgpack.unpackb(raw, raw=False, strict_map_key=False)
    assert isinstance(items, list)  # not a map: no key strings
    back = p.unpack_delta(items, known)
    assert {k: back[k] for k in ("type", "tick", "base", "t")} == {k: message[k] for k in ("type", "tick", "base", "t")}
    return back


@settings(max_examples=300, deadline=None)
@given(old=trees, new=trees, data=st.data())
def test_a_compact_delta_rebuilds_the_new_tree(old: dict[str, Any], new: dict[str, Any], data: st.DataObject):
    every = names([old, new])
    known = tuple(sorted(data.draw(st.sets(st.sampled_from(every)) if every else st.just(set()))))
    base = data.draw(st.sampled_from([40, 39, 7]))
    back = compact_round_trip(old, new, known or ("x",), base)
    assert strict(patch(old, back["delta"])) == strict(new)


def arena_frames(ticks: int, players: int = 4) -> tuple[Match, dict[str, Any], list[Frame]]:
    """An arena match where every player sends an input every tick and turns now and then."""
    match = arena_match(players)
    bots = Rng(players)
    moves = dict.fromkeys(match.seats, (1, 0))
    snapshot = frame_plain(match.snapshot(None))
    frames: list[Frame] = []
    for tick in range(ticks):
        for seat in match.seats:
            if bots.random() < 0.1:
                moves[seat] = (bots.randint(-1, 1), bots.randint(-1, 1))
            match.receive_input(seat, tick + 1, {"dx": moves[seat][0], "dy": moves[seat][1]})
        frames.extend(o for o in match.advance() if isinstance(o, Frame))
    return match, snapshot, frames


def test_a_socket_reader_follows_a_live_arena_match_from_its_snapshot():
    match, snapshot, frames = arena_frames(400)
    reader = p.FrameReader()
    assert reader.read(p.pack_delta(frame_plain(frames[0]), frames[0].names)) is None  # before the snapshot
    doc = reader.read(msgpack.packb(snapshot))["doc"]
    assert snapshot["keys"] == list(frames[0].names)
    compact, maps = [], []
    for frame in frames:
        plain = frame_plain(frame)
        raw = p.encode_all(plain, frame.names)[p.MSGPACK]
        msg = reader.read(raw)
        assert msg["tick"] == frame.tick and msg["base"] == frame.base
        doc = patch(doc, msg["delta"])
        compact.append(len(raw))
        maps.append(len(msgpack.packb(plain)))
    assert doc == match.snapshot(None).body
    assert doc["acks"] == {str(seat): 400 for seat in range(4)}
    # What a player pays per tick: under 80 bytes (Colyseus's arena patch: ~77 with its header),
    # under half of the map form.
    assert statistics.median(compact) < 80, statistics.median(compact)
    assert statistics.median(compact) < statistics.median(maps) / 2


def test_json_keeps_the_map_form_and_msgpack_sends_the_compact_one():
    _, _, frames = arena_frames(3)
    frame = frames[-1]
    model = frame_message(frame)
    for encodings in (p.encode_all(frame_plain(frame), frame.names), p.LazyEncodings(frame_plain(frame), frame.names)):
        assert isinstance(msgpack.unpackb(encodings[p.MSGPACK], strict_map_key=False), list)
        assert p.CODECS[p.JSON].loads(encodings[p.JSON])["type"] == "delta"
    assert isinstance(msgpack.unpackb(p.encode(p.CODECS[p.MSGPACK], model), strict_map_key=False), list)
    assert p.CODECS[p.JSON].loads(p.encode(p.CODECS[p.JSON], model))["delta"] == frame.body
    without_names = p.Delta(**frame_plain(frame))  # a delta built by hand stays a map
    assert isinstance(msgpack.unpackb(p.encode(p.CODECS[p.MSGPACK], without_names)), dict)


@pytest.mark.parametrize(
    "items",
    [
        [1, 2.0],  # too short
        [1, 2.0, {}, 0, [], 9],  # too long
        ["1", 2.0, {}],  # tick not an int
        [1, "t", {}],  # t not a number
        [1, 2.0, []],  # node not a map
        [1, 2.0, {"x": 1}],  # a key code that is not an int
        [1, 2.0, {-2: 1}],  # an extra name that is not there
        [1, 2.0, {-2: 1}, 0, [7]],  # an extra name that is not a string
        [1, 2.0, {1: "a"}],  # an increment that is not an int
        [1, 2.0, {None: 3}],  # deleted keys not in a list
        [1, 2.0, {0: {"k": 1}}],  # a nested key code that is not an int
    ],
)
def test_a_malformed_compact_delta_is_a_value_error(items: list[Any]):
    reader = p.FrameReader()
    reader.names = ["acks", "game"]
    with pytest.raises(ValueError):
        reader.read(msgpack.packb(items))


@settings(max_examples=300, deadline=None)
@given(
    raw=st.binary(max_size=40)
    | st.builds(
        msgpack.packb,
        st.lists(
            ints | st.none() | st.dictionaries(ints | st.none(), ints | st.lists(ints)),
            max_size=5,
        ),
    )
)
def test_any_bytes_read_as_a_value_or_a_value_error(raw: bytes):
    reader = p.FrameReader()
    reader.names = ["acks", "game"]
    try:
        reader.read(raw)
    except ValueError:  # the one error a client has to handle
        pass


def test_number_keys_pack_the_same_once_remembered_and_past_the_memory(monkeypatch):
    monkeypatch.setattr(frames, "NUMBER_CODES_MAX", 3)
    known = ("x", "zz-numbers-test")  # (a names tuple of this test's own: no number remembered for it yet)
    new = {str(n): {"x": n} for n in range(8)}
    message = {"type": "delta", "tick": 41, "base": 40, "t": 1.5, "delta": diff({}, new)}
    first = p.pack_delta(message, known)
    assert len(frames._index(known)) == len(known) + 3  # three numbers remembered, no more
    assert p.pack_delta(message, known) == first
    back = p.unpack_delta(msgpack.unpackb(first, raw=False, strict_map_key=False), known)
    assert strict(patch({}, back["delta"])) == strict(new)
