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
