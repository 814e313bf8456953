"""Watching a stored match: speeds, pause, frames like a live spectator's, the stored hash verified."""

from __future__ import annotations

import pytest

from engine.delta import patch
from engine.game import Player
from engine.games.arena import Arena
from engine.match import Match, MatchEnded
from engine.replay import SPEEDS, Replay
from engine.rng import Rng

PLAYERS = [Player(0, "a"), Player(1, "b"), Player(2, "c")]


def recorded() -> tuple[Match, MatchEnded, dict]:
    """A live 5-second arena match with random inputs, played to its end."""
    game = Arena()
    match = Match(match_id="live", game=game, players=PLAYERS, options=game.options({"time_seconds": 5}), seed=42)
    bots, seqs = Rng(1), [0, 0, 0]
    while True:
        for seat in range(3):
            if bots.random() < 0.2:
                seqs[seat] += 1
                match.receive_input(seat, seqs[seat], {"dx": bots.randint(-1, 1), "dy": bots.randint(-1, 1)})
        ended = next((o for o in match.advance() if isinstance(o, MatchEnded)), None)
        if ended is not None:
            return match, ended, match.snapshot(None).body


def replay_of(match: Match, ended: MatchEnded, final_hash: str | None = None) -> Replay:
    return Replay(
        game=Arena(),
        players=PLAYERS,
        options=match.options,
        seed=match.seed,
        log=match.log,
        ticks=ended.tick,
        tick_rate=match.tick_rate,
        final_hash=final_hash or ended.state_hash,
    )


def watch(replay: Replay, start: float, step: float = 0.007, pause_at: float | None = None, pause_for: float = 0):
    """Drive the replay with a fake wall clock; returns (doc, frame ticks, wall time at the end)."""
    doc, tick = replay.start(start).body, 0
    ticks = []
    now = start
    paused_once = False
    while not replay.done:
        now += step
        for frame in replay.due(now):
            assert not frame.full and frame.base == tick
            doc, tick = patch(doc, frame.body), frame.tick
            ticks.append(tick)
        if pause_at is not None and not paused_once and now - start >= pause_at:
            replay.pause(now)
            held = replay.position(now)
            now += pause_for
            assert replay.due(now) == [] and replay.position(now) == held and replay.next_at(now) is None
            replay.resume(now)
            paused_once = True
        assert now - start < 120, "the replay never ended"
    return doc, ticks, now - start


@pytest.mark.parametrize("speed", SPEEDS)
def test_a_replay_at_each_speed_reproduces_the_match_and_its_hash(speed: float):
    match, ended, live_doc = recorded()
    replay = replay_of(match, ended)
    replay.set_speed(speed, 0.0)
    doc, ticks, took = watch(replay, start=0.0)
    assert ticks == list(range(1, ended.tick + 1))  # one delta per tick, none skipped or repeated
    expected = ended.tick / match.tick_rate / speed
    assert expected <= took + 1e-9 < expected + 0.01  # the speed holds (to the 7 ms clock step)
    assert replay.verified is True
    assert replay.match.state_hash() == ended.state_hash
    assert doc == replay.match.snapshot(None).body
    assert doc["game"] == live_doc["game"] and doc["acks"] == live_doc["acks"]
    assert Arena().outcome(replay.match.state) == ended.outcome


def test_pause_holds_the_replay_and_it_resumes_where_it_stopped():
    match, ended, _ = recorded()
    replay = replay_of(match, ended)
    replay.set_speed(2.0, 0.0)
    doc, ticks, took = watch(replay, start=0.0, pause_at=1.0, pause_for=3.0)
    assert ticks == list(range(1, ended.tick + 1))
    expected = ended.tick / match.tick_rate / 2.0 + 3.0
    assert expected <= took + 1e-9 < expected + 0.02
    assert replay.verified is True


def test_changing_speed_midway_keeps_the_position():
    match, ended, _ = recorded()
    replay = replay_of(match, ended)
    replay.start(0.0)
    replay.due(1.0)
    assert replay.match.tick == 20
    replay.set_speed(4.0, 1.0)
    assert replay.position(1.0) == pytest.approx(1.0)
    replay.due(1.5)
    assert replay.match.tick == 60
    assert replay.next_at(1.5) == pytest.approx(1.5 + 0.05 / 4)
    with pytest.raises(ValueError):
        replay.set_speed(3.0, 2.0)


def test_a_wrong_stored_hash_is_not_verified():
    match, ended, _ = recorded()
    replay = replay_of(match, ended, final_hash="0" * 16)
    assert replay.verified is None
    watch(replay, start=0.0, step=0.05)
    assert replay.verified is False
