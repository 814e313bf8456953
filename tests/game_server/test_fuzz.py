"""Fuzzing: random and mutated frames reach the decoder and a live consumer; nothing escapes."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from game_server import protocol as p
from game_server.protocol.examples import CLIENT_EXAMPLES, example_payload
from tests.game_server.conftest import make_token, make_user

ROOT = Path(__file__).resolve().parents[2]
MSGPACK = p.CODECS[p.MSGPACK]
JSON = p.CODECS[p.JSON]
VALID = [example_payload(m) for m in CLIENT_EXAMPLES]
TYPES = sorted({m["type"] for m in VALID})

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=50) | st.binary(max_size=20)
json_like = st.recursive(
    scalars,
    lambda kids: st.lists(kids, max_size=5) | st.dictionaries(st.text(max_size=10), kids, max_size=5),
    max_leaves=20,
)


def accepted_or_refused(codec: p.Codec, frame: bytes | str) -> None:
    """The only two outcomes: a validated message, or a ProtocolError."""
    try:
        message = p.decode_client(codec, frame)
    except p.ProtocolError as exc:
        assert exc.code in set(p.ErrorCode)
        return
    assert message.type in TYPES


@settings(max_examples=1500, deadline=None)
@given(st.binary(max_size=600))
def test_random_bytes(data: bytes):
    accepted_or_refused(MSGPACK, data)
    accepted_or_refused(JSON, data.decode("utf-8", "surrogateescape"))


@settings(max_examples=1500, deadline=None)
@given(st.sampled_from(VALID), st.lists(st.tuples(st.integers(0, 10_000), st.integers(0, 255)), max_size=6))
def test_mutated_valid_frames(message: dict, flips: list[tuple[int, int]]):
    for codec, raw in ((MSGPACK, msgpack.packb(message)), (JSON, json.dumps(message).encode())):
        data = bytearray(raw)
        for at, value in flips:
            data[at % len(data)] = value
        frame = bytes(data) if codec.binary else bytes(data).decode("utf-8", "surrogateescape")
        accepted_or_refused(codec, frame)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(TYPES), st.dictionaries(st.text(max_size=12), json_like, max_size=6))
def test_structured_messages_with_wrong_fields(kind: str, fields: dict):
    message = {**fields, "type": kind}
    try:
        packed = msgpack.packb(message, use_bin_type=True)
    except OverflowError:
        packed = None  # an int over 64 bits cannot be sent as msgpack at all
    if packed is not None:
        accepted_or_refused(MSGPACK, packed)
    try:
        text = json.dumps(message)
    except (TypeError, ValueError):
        return  # bytes or NaN: not JSON-encodable, nothing to send
    accepted_or_refused(JSON, text)


async def test_live_consumer_survives_a_storm_of_bad_frames(open_socket, settings):
    settings.SKIRMISH_MAX_INVALID_MESSAGES = 10_000
    settings.SKIRMISH_RATE_LIMITS = {**settings.SKIRMISH_RATE_LIMITS, "message": (10_000, 10_000)}
    user = await make_user("fuzzer")
    sock, _ = await open_socket(token=await make_token(user))
    await sock.expect("welcome")
    rng = random.Random(1234)
    sent = 0
    for _ in range(400):
        raw = bytearray(msgpack.packb(rng.choice(VALID)))
        for _ in range(rng.randint(0, 4)):
            raw[rng.randrange(len(raw))] = rng.randrange(256)
        if rng.random() < 0.2:
            raw = bytearray(rng.randbytes(rng.randint(0, 64)))
        await sock.comm.send_to(bytes_data=bytes(raw))
        sent += 1
    await sock.send({"type": "ping", "rid": 999_999})
    while True:  # every frame got an answer or was applied; the consumer still answers
        out = await sock.comm.receive_output(5)
        assert out["type"] == "websocket.send", out
        reply = sock.reader.read(out["bytes"])
        if reply.get("type") == "pong" and reply.get("rid") == 999_999:
            break
    assert sent == 400


def test_atheris_harness_runs_clean():
    pytest.importorskip("atheris")
    run = subprocess.run(
        [sys.executable, "-m", "tests.game_server.fuzz_decode", "-runs=30000", "-max_len=512", "-seed=1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "Done 30000 runs" in run.stderr
