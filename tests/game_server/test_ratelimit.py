"""Token buckets, and what `receive_now` (daphne's fast input path) charges against them."""

from __future__ import annotations

from typing import Any, ClassVar

import msgpack
import pytest

from game_server import protocol as p
from game_server.consumers.base import ProtocolConsumer
from game_server.ratelimit import TokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_allows_its_burst_then_its_rate() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=2, burst=3, clock=clock)
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    clock.now = 0.5  # one token back
    assert bucket.take() and not bucket.take()
    clock.now = 100.0  # never more than the burst
    assert [bucket.take() for _ in range(4)] == [True, True, True, False]


def test_give_back_undoes_a_take_but_never_passes_the_burst() -> None:
    bucket = TokenBucket(rate=0.0, burst=2, clock=Clock())
    assert bucket.take() and bucket.take() and not bucket.take()
    bucket.give_back()
    assert bucket.take() and not bucket.take()
    for _ in range(5):
        bucket.give_back()
    assert bucket.tokens == 2


class Consumer(ProtocolConsumer):
    """Just what receive_now reads: no socket, no layer."""

    NOW_HANDLERS: ClassVar[dict[str, str]] = {"match.input": "take_it"}

    def __init__(self, answer: Any) -> None:
        self.closed = False
        self.codec = p.CODECS[p.MSGPACK]
        self.frames = TokenBucket(0.0, 2, clock=Clock())
        self.buckets = {"input": TokenBucket(0.0, 1, clock=Clock())}
        self.answer = answer
        self.seen: list[Any] = []

    def take_it(self, msg: Any) -> bool:
        self.seen.append(msg)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def _input(seq: int) -> bytes:
    return msgpack.packb({"type": "match.input", "seq": seq, "data": {"dx": 1}})


def test_an_input_taken_at_once_spends_a_token_of_each_bucket() -> None:
    consumer = Consumer(answer=True)
    assert consumer.receive_now(_input(1))
    assert consumer.frames.tokens == 1 and consumer.buckets["input"].tokens == 0
    # The input bucket is empty: the next one is left to the normal path (which answers
    # rate_limited), and the frame token is not spent either.
    assert not consumer.receive_now(_input(2))
    assert consumer.frames.tokens == 1 and len(consumer.seen) == 1


@pytest.mark.parametrize("answer", [False, RuntimeError("boom")])
def test_an_input_declined_or_failed_leaves_every_token_for_the_normal_path(answer: Any) -> None:
    consumer = Consumer(answer=answer)
    if isinstance(answer, Exception):
        with pytest.raises(RuntimeError):
            consumer.receive_now(_input(1))
    else:
        assert not consumer.receive_now(_input(1))
    assert len(consumer.seen) == 1
    assert consumer.frames.tokens == 2 and consumer.buckets["input"].tokens == 1


def test_other_messages_and_bad_frames_are_left_to_the_normal_path() -> None:
    consumer = Consumer(answer=True)
    assert not consumer.receive_now(msgpack.packb({"type": "ping", "rid": 1, "t": 1}))
    assert not consumer.receive_now(b"\xc1 not msgpack")
    assert not consumer.seen and consumer.frames.tokens == 2


class Queued(Consumer):
    """receive_now, then (for a frame it leaves) the queue's path: receive_message."""

    HANDLERS: ClassVar[dict[str, str]] = {"ping": "handle", "match.input": "handle"}

    def __init__(self, answer: Any, codec: str) -> None:
        super().__init__(answer)
        self.codec = p.CODECS[codec]
        self.frames = TokenBucket(0.0, 10, clock=Clock())
        self.handled: list[Any] = []

    async def handle(self, msg: Any) -> None:
        self.handled.append(msg)


@pytest.mark.parametrize("codec", [p.MSGPACK, p.JSON])
async def test_a_frame_left_to_the_queue_is_decoded_once(codec: str, monkeypatch: pytest.MonkeyPatch) -> None:
    decoded: list[Any] = []
    decode = p.decode_client

    def counted(*args: Any) -> Any:
        decoded.append(args[1])
        return decode(*args)

    monkeypatch.setattr(p, "decode_client", counted)
    consumer = Queued(answer=True, codec=codec)
    dumps = consumer.codec.dumps
    ping = dumps({"type": "ping", "rid": 1, "t": 1})
    assert not consumer.receive_now(ping)
    assert not consumer.receive_now(ping)  # offered again from the queue's head
    key = "bytes" if isinstance(ping, bytes) else "text"
    await consumer.receive_message({"type": "websocket.receive", key: ping})
    assert decoded == [ping] and consumer.handled == [p.Ping(type="ping", rid=1, t=1)]
    # The next frame is its own: decoded, not taken from the last one.
    await consumer.receive_message({"type": "websocket.receive", key: dumps({"type": "ping", "rid": 2, "t": 2})})
    assert len(decoded) == 2 and consumer.handled[-1] == p.Ping(type="ping", rid=2, t=2)
    await consumer.receive_message({"type": "websocket.receive", key: ping})
    assert len(decoded) == 3 and consumer.handled[-1] == p.Ping(type="ping", rid=1, t=1)


async def test_an_input_declined_at_once_reaches_its_handler_as_decoded() -> None:
    consumer = Queued(answer=False, codec=p.MSGPACK)
    frame = _input(7)
    assert not consumer.receive_now(frame)
    await consumer.receive_message({"type": "websocket.receive", "bytes": frame})
    [msg] = consumer.handled
    assert (msg.type, msg.seq, msg.data, msg.rid) == ("match.input", 7, {"dx": 1}, None)
    assert consumer.buckets["input"].tokens == 0  # the normal path spent the token receive_now gave back
