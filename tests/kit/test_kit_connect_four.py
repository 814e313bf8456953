"""Connect four, driven by the testing kit: whole matches, refusals, the turn clock, spectators."""

from __future__ import annotations

import time

import pytest

from game_server.protocol import ProtocolError
from game_server.testing import KitClient, MatchKit, boot_match


async def first_mover(kit: MatchKit) -> tuple[KitClient, KitClient]:
    """(the client whose turn it is, the other), from the opening snapshot."""
    a, b = kit.clients
    snapshot = await kit.next_frame(a)
    assert snapshot["type"] == "snapshot" and snapshot["tick"] == 0
    await kit.read(b)
    return (a, b) if a.view["turn"] == a.seat else (b, a)


async def test_a_whole_match_four_in_a_row(skirmish_match):
    kit = await skirmish_match("connect_four", players=["alice", "bob"], seed=3, spectators=1)
    mover, other = await first_mover(kit)
    (watcher,) = kit.spectators
    for move in range(7):
        player = mover if move % 2 == 0 else other
        await player.send({"col": 0 if player is mover else 6})
        frame = await kit.next_frame(player)
        assert frame["type"] == "delta" and frame["tick"] == kit.tick
        await kit.read_all()
    assert kit.finished
    assert kit.ended is not None and kit.ended.outcome.reason == "four_in_a_row"
    for client in (mover, other, watcher):
        assert client.ended is not None and client.ended["outcome"]["winners"] == [mover.seat]
        assert client.view["winner"] == mover.seat
        assert client.view["board"][0] == [mover.seat] * 4
    assert mover.ack == 4 and other.ack == 3
    assert kit.tick == 7  # one tick per move: nothing ran that the test did not ask for


async def test_refused_moves_come_back_as_error_frames_to_that_player_only(skirmish_match):
    kit = await skirmish_match("connect_four", seed=3)
    mover, other = await first_mover(kit)
    await other.send({"col": 2})  # not their turn
    await kit.next_tick()
    await kit.read_all()
    assert [e["code"] for e in other.errors] == ["input/not_your_turn"]
    assert other.errors[0]["seq"] == 1
    assert mover.errors == []
    assert other.view["board"][2] == []


async def test_inputs_are_validated_like_socket_frames(skirmish_match):
    kit = await skirmish_match("connect_four", seed=3)
    mover, _ = await first_mover(kit)
    with pytest.raises(ProtocolError) as refused:
        await mover.send({"col": [1, 2]})  # lists are not allowed in inputs
    assert refused.value.code == "protocol/invalid"
    with pytest.raises(AssertionError, match="spectator"):
        await (await kit.spectate()).send({"col": 1})


async def test_the_turn_clock_forfeits_in_match_time_not_wall_time():
    started = time.monotonic()
    async with boot_match("connect_four", seed=3, options={"turn_seconds": 60}, codec="json") as kit:
        mover, other = await first_mover(kit)
        await kit.advance(59)
        await kit.read_all()
        assert not kit.finished and mover.view["turn_left"] == pytest.approx(1.0)
        ended = await kit.play_out()
        assert ended.outcome.reason == "forfeit" and ended.outcome.winners == [other.seat]
        assert kit.tick == 600  # 60 s at 10 Hz
    assert time.monotonic() - started < 5  # a minute of match time, no waiting


async def test_a_player_who_stays_away_past_the_grace_period_forfeits(skirmish_match):
    kit = await skirmish_match("connect_four", seed=3, grace_seconds=2)
    mover, other = await first_mover(kit)
    await kit.disconnect(other)
    await kit.next_tick()
    await kit.read(mover)
    assert mover.doc is not None and mover.doc["seats"][str(other.seat)] == "away"
    await kit.reconnect(other)
    snapshot = await kit.next_frame(other)  # the document of the tick it was taken at
    assert snapshot["type"] == "snapshot" and snapshot["tick"] == kit.tick
    await kit.next_frame(other)  # the reconnection shows in the next tick's delta
    assert other.view["turn"] == mover.seat and other.doc["seats"][str(other.seat)] == "connected"
    await kit.disconnect(other)
    ended = await kit.play_out()
    assert ended.outcome.reason == "forfeit" and ended.outcome.winners == [mover.seat]
    assert kit.tick <= 2 + 20 + 1
