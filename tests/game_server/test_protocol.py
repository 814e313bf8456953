"""The wire protocol: every message round-trips in both codecs; every limit has its error code."""

from __future__ import annotations

import json
import typing
from pathlib import Path
from unittest import mock

import msgpack
import pytest
from pydantic import BaseModel, TypeAdapter

from engine.game import Player
from engine.games.arena import Arena
from engine.match import Frame, Match
from game_server import protocol as p
from game_server.engine_bridge import frame_message, frame_plain
from game_server.protocol.docs import render
from game_server.protocol.examples import CLIENT_EXAMPLES, SERVER_EXAMPLES, example_payload

ROOT = Path(__file__).resolve().parents[2]
MSGPACK = p.CODECS[p.MSGPACK]
JSON = p.CODECS[p.JSON]
CODECS = [MSGPACK, JSON]


def union_members(union: object) -> set[type]:
    inner = typing.get_args(union)[0]
    return set(typing.get_args(inner))


def raw(codec: p.Codec, obj: object) -> bytes | str:
    return msgpack.packb(obj) if codec.binary else json.dumps(obj)


def test_every_message_type_has_an_example():
    assert {type(m) for m in CLIENT_EXAMPLES} == union_members(p.ClientMessage)
    assert {type(m) for m in SERVER_EXAMPLES} == union_members(p.ServerMessage)


@pytest.mark.parametrize("codec", CODECS, ids=lambda c: c.subprotocol)
@pytest.mark.parametrize("message", CLIENT_EXAMPLES, ids=lambda m: m.type)
def test_client_messages_round_trip(codec: p.Codec, message: BaseModel):
    data = codec.dumps(example_payload(message))
    assert isinstance(data, bytes) == codec.binary
    assert p.decode_client(codec, data) == message


@pytest.mark.parametrize("codec", CODECS, ids=lambda c: c.subprotocol)
@pytest.mark.parametrize("message", SERVER_EXAMPLES, ids=lambda m: m.type)
def test_server_messages_round_trip(codec: p.Codec, message: BaseModel):
    data = p.encode(codec, message)
    assert TypeAdapter(p.ServerMessage).validate_python(codec.loads(data)) == message
    assert p.encode_all(message)[codec.subprotocol] == data


def test_docs_match_the_code():
    committed = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")
    assert committed.rstrip("\n") == render().rstrip("\n"), (
        "docs/protocol.md is stale: run `python -m game_server.protocol docs docs/protocol.md`"
    )


def test_schema_export_covers_both_directions(capsys):
    from game_server.protocol.__main__ import main

    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    client_types = {
        d["properties"]["type"]["const"]
        for d in schema["client_to_server"]["$defs"].values()
        if "type" in d.get("properties", {})
    }
    assert {m.type for m in CLIENT_EXAMPLES} <= client_types


def refused(codec: p.Codec, data: bytes | str | None, max_bytes: int = p.MAX_FRAME_BYTES) -> p.ProtocolError:
    with pytest.raises(p.ProtocolError) as info:
        p.decode_client(codec, data, max_bytes)
    return info.value


# ---- frame-level limits ---------------------------------------------------------------


@pytest.mark.parametrize("codec", CODECS, ids=lambda c: c.subprotocol)
def test_frame_over_the_size_limit_is_too_large(codec: p.Codec):
    big = raw(codec, {"type": "lobby.chat", "text": "x" * p.MAX_FRAME_BYTES})
    err = refused(codec, big)
    assert isinstance(err, p.FrameTooLarge)


def test_wrong_frame_kind_for_the_codec():
    assert refused(MSGPACK, '{"type": "ping"}').code == p.ErrorCode.BAD_FRAME
    assert refused(JSON, msgpack.packb({"type": "ping"})).code == p.ErrorCode.BAD_FRAME


@pytest.mark.parametrize(
    "data",
    [
        b"\xc1",  # never-used byte
        msgpack.packb({"type": "ping"})[:-2],  # truncated
        msgpack.packb({"type": "ping"}) + b"\x00",  # trailing bytes
        b"\xdd\xff\xff\xff\xff",  # array32 claiming 4 G elements
        b"\x91" * 1025 + b"\xc0",  # nesting deeper than msgpack's stack
        b"\x91" * 10 + b"\xc0",  # nesting deeper than ours
        msgpack.packb({"type": "ping", "x": msgpack.ExtType(5, b"abc")}),  # ext type
        msgpack.packb({"type": "ping", "x": msgpack.Timestamp(1, 0)}),  # timestamp ext
        msgpack.packb({1: "ping"}),  # non-string map key
        b"\x81\xa4type\xa4p\xffng",  # invalid UTF-8
        msgpack.packb({"type": "ping", "x": b"bin"}),  # bin
        msgpack.packb({"type": "ping", "x": list(range(100))}),  # over the container limit
        b"\x82\xa4type\xa4ping\xa1x\xa3\xed\xa0\x80",  # a lone surrogate, UTF-8-encoded
        msgpack.packb({"type": "ping", "t": float("nan")}),  # NaN
        msgpack.packb({"type": "match.input", "seq": 1, "data": {"x": [[{"y": float("inf")}]]}}),  # inf, nested
    ],
    ids=[
        "c1",
        "truncated",
        "trailing",
        "array32",
        "deep1025",
        "deep10",
        "ext",
        "timestamp",
        "intkey",
        "utf8",
        "bin",
        "long-array",
        "surrogate",
        "nan",
        "inf-nested",
    ],
)
def test_hostile_msgpack_is_malformed(data: bytes):
    assert refused(MSGPACK, data).code == p.ErrorCode.MALFORMED


@pytest.mark.parametrize(
    "data",
    [
        "[" * 100_000 + "]" * 100_000,  # RecursionError in json
        '{"type": "ping", "t": NaN}',
        '{"type": "ping", "t": Infinity}',
        '{"type": "lobby.chat", "text": "\\ud800"}',  # lone surrogate
        '{"type": "ping", "type": "ping"}',  # duplicate key
        '{"type": "ping", "t": ' + "9" * 5000 + "}",  # too many digits
        '{"type": "ping"',  # truncated
    ],
    ids=["deep", "nan", "inf", "surrogate", "dupkey", "bigint", "truncated"],
)
def test_hostile_json_is_malformed(data: str):
    # A raised frame limit, so the decoder itself meets the 200 kB nesting bomb.
    assert refused(JSON, data, max_bytes=1_000_000).code == p.ErrorCode.MALFORMED


# ---- message-level validation ---------------------------------------------------------


@pytest.mark.parametrize("codec", CODECS, ids=lambda c: c.subprotocol)
@pytest.mark.parametrize(
    ("message", "code", "field"),
    [
        ({"type": "nope"}, p.ErrorCode.UNKNOWN_TYPE, "type"),
        ({"rid": 1}, p.ErrorCode.UNKNOWN_TYPE, "type"),
        (["ping"], p.ErrorCode.INVALID, None),
        ({"type": "ping", "extra": 1}, p.ErrorCode.INVALID, "extra"),
        ({"type": "lobby.ready"}, p.ErrorCode.INVALID, "ready"),
        ({"type": "lobby.ready", "ready": 1}, p.ErrorCode.INVALID, "ready"),
        ({"type": "lobby.join", "lobby_id": "7"}, p.ErrorCode.INVALID, "lobby_id"),
        ({"type": "lobby.join", "lobby_id": 2**60}, p.ErrorCode.INVALID, "lobby_id"),
        ({"type": "lobby.join", "code": "abc"}, p.ErrorCode.INVALID, "code"),
        ({"type": "lobby.chat", "text": "x" * 201}, p.ErrorCode.INVALID, "text"),
        ({"type": "lobby.chat", "text": "   "}, p.ErrorCode.INVALID, "text"),
        ({"type": "lobby.create", "name": "n" * 41, "game": "g"}, p.ErrorCode.INVALID, "name"),
        ({"type": "match.input", "seq": 0, "data": {}}, p.ErrorCode.INVALID, "seq"),
        ({"type": "match.input", "seq": 1, "data": {"dx": 1e300}}, p.ErrorCode.INVALID, "data.dx"),
        ({"type": "match.input", "seq": 1, "data": {"dx": [1]}}, p.ErrorCode.INVALID, "data.dx"),
        ({"type": "match.input", "seq": 1, "data": {"bad key": 1}}, p.ErrorCode.INVALID, "data.bad key"),
        ({"type": "ping", "rid": -1}, p.ErrorCode.INVALID, "rid"),
    ],
)
def test_invalid_messages_name_the_field(codec: p.Codec, message: object, code: str, field: str | None):
    err = refused(codec, raw(codec, message))
    assert err.code == code
    if field is not None:
        assert err.field is not None and err.field.startswith(field.split(".")[0])


@pytest.mark.parametrize(
    "text",
    ["evil\u202etxt.exe", "zero\u200bwidth", "bell\x07", "private\ue000use", "nul\x00", "bom\ufeff"],
    ids=["bidi-override", "zero-width-space", "control", "private-use", "nul", "bom"],
)
def test_names_and_chat_refuse_spoofing_characters(text: str):
    for message in ({"type": "lobby.chat", "text": text}, {"type": "lobby.create", "name": text, "game": "arena"}):
        err = refused(JSON, json.dumps(message))
        assert err.code == p.ErrorCode.INVALID and "not allowed" in err.message


def test_chat_text_is_normalized_and_keeps_emoji():
    chat = p.decode_client(JSON, json.dumps({"type": "lobby.chat", "text": "  cafe\u0301 \U0001f468\u200d\U0001f469 "}))
    assert chat.text == "caf\u00e9 \U0001f468\u200d\U0001f469"


def test_error_echoes_the_request_id():
    err = refused(JSON, json.dumps({"type": "lobby.ready", "rid": 42}))
    assert err.rid == 42


def test_choose_codec_takes_the_first_known_subprotocol():
    assert p.choose_codec(["x", p.JSON, p.MSGPACK]) is JSON
    assert p.choose_codec(["x"]) is None
    assert p.choose_codec([]) is None


def test_protocol_imports_no_django():
    import subprocess
    import sys

    code = "import sys, game_server.protocol; sys.exit(any(m.startswith('django') for m in sys.modules))"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0


def test_tick_frames_built_directly_equal_the_models_dump() -> None:
    # The broadcast path skips pydantic (engine_bridge.frame_plain); it must send the same thing.
    game = Arena()
    match = Match(match_id="m", game=game, players=[Player(0, "a"), Player(1, "b")], options={}, seed=3)
    match.connect(0)
    match.connect(1)
    frames = [match.snapshot(None)]
    for seq in range(1, 30):
        match.receive_input(0, seq, {"dx": 1, "dy": -1})
        frames.extend(f for f in match.advance() if isinstance(f, Frame))
    assert any(f.full for f in frames) and any(not f.full for f in frames)
    with mock.patch("game_server.engine_bridge.time.time", return_value=1700000000.12345):
        for frame in frames:
            plain = frame_plain(frame)
            assert plain == frame_message(frame).model_dump(mode="json")
            assert p.encode_all(plain) == p.encode_all(frame_message(frame))
