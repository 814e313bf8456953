"""daphne_adapter: the small-frame parser in front of autobahn (6) and taking a backlog at once (5)."""

from __future__ import annotations

import asyncio
import os
import struct

import pytest
from daphne.ws_protocol import WebSocketProtocol

from game_server import daphne_adapter
from game_server.daphne_adapter import _take_queued, split_frames


def client_frame(payload: bytes, opcode: int = 0x2, *, fin: bool = True, mask: bytes | None = None) -> bytes:
    """A client frame as a browser sends it (masked)."""
    mask = mask if mask is not None else os.urandom(4)
    n = len(payload)
    head = bytes(((0x80 if fin else 0) | opcode,))
    if n < 126:
        head += bytes((0x80 | n,))
    else:
        head += struct.pack("!BH", 0x80 | 126, n)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


@pytest.mark.parametrize("size", [0, 1, 3, 4, 5, 17, 124, 125])
def test_every_small_size_unmasks_exactly(size: int) -> None:
    payload = os.urandom(size)
    assert split_frames(client_frame(payload, mask=b"\x00\xff\x10\x80")) == ([(payload, True)], 6 + size)


def test_several_frames_in_one_read_come_out_in_order_and_a_partial_one_is_left() -> None:
    a, b, c = client_frame(b"first"), client_frame("é-text".encode(), 0x1), client_frame(b"third")
    data = a + b + c[:-2]
    assert split_frames(data) == ([(b"first", True), ("é-text".encode(), False)], len(a) + len(b))


@pytest.mark.parametrize(
    "odd",
    [
        client_frame(b"ping", 0x9),  # control frame
        client_frame(b"part", 0x2, fin=False),  # fragment
        client_frame(b"x" * 126),  # 16-bit length
        client_frame(b"\xff\xfe", 0x1),  # text that is not UTF-8
        b"\x82\x05hello",  # not masked
        b"\xc2\x85" + os.urandom(4) + b"hello",  # compressed (RSV1)
    ],
)
def test_parsing_stops_at_the_first_frame_autobahn_must_see(odd: bytes) -> None:
    first, last = client_frame(b"ok"), client_frame(b"later")
    assert split_frames(first + odd + last) == ([(b"ok", True)], len(first))


class FakeProtocol:
    """What _take_queued reads of daphne's protocol: its ASGI queue and the pending count."""

    def __init__(self, *payloads: bytes, pending: int | None = None) -> None:
        self.application_queue: asyncio.Queue[dict[str, object]] = asyncio.Queue()
        for data in payloads:
            self.application_queue.put_nowait({"type": "websocket.receive", "bytes": data})
        self._skirmish_pending = len(payloads) if pending is None else pending


def test_a_backlog_is_taken_from_the_head_in_order_until_one_must_stay_queued() -> None:
    proto = FakeProtocol(b"in1", b"in2", b"lobby", b"in3")
    taken: list[bytes] = []

    def receiver(data: bytes) -> bool:
        if data.startswith(b"in"):
            taken.append(data)
            return True
        return False

    _take_queued(proto, receiver)
    assert taken == [b"in1", b"in2"]  # in3 stays behind the lobby message
    assert proto._skirmish_pending == 2
    assert [m["bytes"] for m in proto.application_queue._queue] == [b"lobby", b"in3"]  # type: ignore[attr-defined]


def test_nothing_is_taken_while_the_consumer_holds_an_earlier_message() -> None:
    proto = FakeProtocol(b"in1", pending=2)  # one dequeued and being handled
    _take_queued(proto, lambda data: True)
    assert proto._skirmish_pending == 2 and proto.application_queue.qsize() == 1


def test_an_input_never_overtakes_a_message_queued_or_being_handled_before_it() -> None:
    daphne_adapter.install(slow_bytes=256 * 1024, slow_seconds=5.0, drain_seconds=1.0)
    proto = WebSocketProtocol.__new__(WebSocketProtocol)  # just what onMessage reads
    proto.muted, proto.client_addr, proto.application_queue = False, ("test", 1), asyncio.Queue()
    taken: list[bytes] = []

    def receiver(data: bytes) -> bool:  # takes inputs ("in..."), declines the rest
        if data.startswith(b"in"):
            taken.append(data)
            return True
        return False

    daphne_adapter.set_receiver(proto, receiver)
    queued = proto.application_queue._queue  # type: ignore[attr-defined]
    proto.onMessage(b"lobby", True)  # declined: queued
    proto.onMessage(b"in1", True)  # behind it
    assert taken == [] and [m["bytes"] for m in queued] == [b"lobby", b"in1"]
    proto.application_queue.get_nowait()  # the consumer takes "lobby" and is handling it
    proto.onMessage(b"in2", True)  # still behind: in1 is queued, "lobby" not done
    assert taken == [] and [m["bytes"] for m in queued] == [b"in1", b"in2"]
    daphne_adapter.received(proto)  # the consumer is done with "lobby"
    proto.onMessage(b"in3", True)  # the backlog goes first, in order, then in3
    assert taken == [b"in1", b"in2", b"in3"] and not queued and proto._skirmish_pending == 0


@pytest.mark.parametrize("state", ["STATE_CLOSING", "STATE_CLOSED"])
def test_a_reply_after_the_client_left_is_dropped_not_raised_in_the_consumer(state: str) -> None:
    """autobahn raises Disconnected for a send on a socket that is closing; the consumer would die
    of it before its websocket_disconnect ran (no seat given up, the socket still counted)."""
    daphne_adapter.install(slow_bytes=256 * 1024, slow_seconds=5.0, drain_seconds=1.0)
    proto = WebSocketProtocol.__new__(WebSocketProtocol)
    proto.client_addr = ("test", 1)
    proto.state = getattr(WebSocketProtocol, state)
    proto.handle_reply({"type": "websocket.send", "bytes": b"a lobby update"})
    proto.handle_reply({"type": "websocket.send", "text": "an error frame"})
