"""How the engine worker answers refused inputs: every refusal gets an error frame, except that a
seat hears `input/queue_full` at most once a second (the rest are counted)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from engine.game import Player
from engine.games import GAMES
from engine.match import INPUT_QUEUE, Match
from game_server import engine_bridge, metrics
from game_server import protocol as p
from game_server.channel_layer import InMemoryChannelLayer
from game_server.engine_bridge import QUEUE_FULL_NOTICE_SECONDS, EngineWorker


@pytest.fixture
def worker(monkeypatch) -> tuple[EngineWorker, list[float]]:
    clock = [1000.0]
    monkeypatch.setattr(engine_bridge.time, "monotonic", lambda: clock[0])
    worker = EngineWorker(InMemoryChannelLayer())
    players = [Player(0, "a"), Player(1, "b")]
    match = Match(match_id="m1", game=GAMES["connect_four"], players=players, options={}, seed=1)
    worker.host.matches["m1"] = match  # not ticking: its input queues only fill up
    return worker, clock


def send(worker: EngineWorker, seat: int, seq: int) -> dict[str, Any] | None:
    """The error a match.input gets back (None: queued, or dropped without a word)."""
    reply = worker.take_input("m1", {"seat": seat, "seq": seq, "data": {"col": 1}})
    return None if reply is None else json.loads(reply["frames"][p.JSON])


def test_a_seat_hears_queue_full_once_a_second_and_every_drop_is_counted(worker) -> None:
    worker, clock = worker
    before = metrics.INPUTS_DROPPED.value
    replies = [send(worker, 0, seq) for seq in range(1, INPUT_QUEUE + 5)]  # 8 queued, 4 dropped
    assert replies[:INPUT_QUEUE] == [None] * INPUT_QUEUE
    told = replies[INPUT_QUEUE:]
    assert told[0] is not None and (told[0]["code"], told[0]["seq"]) == ("input/queue_full", 1)
    assert told[1:] == [None, None, None]
    assert metrics.INPUTS_DROPPED.value - before == 4

    other = [send(worker, 1, seq) for seq in range(1, INPUT_QUEUE + 2)]  # another seat: its own notice
    assert other[-1] is not None and other[-1]["code"] == "input/queue_full"

    clock[0] += QUEUE_FULL_NOTICE_SECONDS - 0.01
    assert send(worker, 0, INPUT_QUEUE + 5) is None
    clock[0] += 0.01
    again = send(worker, 0, INPUT_QUEUE + 6)
    assert again is not None and again["code"] == "input/queue_full"


def test_other_refusals_are_always_told(worker) -> None:
    worker, _ = worker
    for seq in range(1, INPUT_QUEUE + 2):
        send(worker, 0, seq)  # (the last one drops the oldest and is told)
    stale = send(worker, 0, 1)
    assert stale is not None and (stale["code"], stale["seq"]) == ("input/stale_seq", 1)
    assert send(worker, 0, 1)["code"] == "input/stale_seq"


def test_a_finished_match_forgets_its_quiet_seats(worker) -> None:
    worker, _ = worker
    for seq in range(1, INPUT_QUEUE + 2):
        send(worker, 0, seq)
    assert 0 in worker._quiet_until["m1"]
    worker.match_finished("m1")
    assert not worker._quiet_until
