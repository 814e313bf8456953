"""The lease and checkpoint scripts against the real Redis: one holder, fencing, hand-over."""

from __future__ import annotations

import asyncio

import pytest

from engine.game import Player
from engine.games import GAMES
from engine.match import Match
from game_server.cluster import checkpoint
from game_server.cluster.store import ClusterStore
from tests.cluster.conftest import SHARED_REDIS


def new_match() -> Match:
    players = [Player(0, "a"), Player(1, "b")]
    return Match(match_id="m1", game=GAMES["connect_four"], players=players, options={}, seed=7)


async def test_many_racers_one_lease_and_a_stale_holder_cannot_write(prefix):
    store = ClusterStore(SHARED_REDIS, prefix)
    try:
        got = await asyncio.gather(*(store.acquire("m1", f"w{i}", 300) for i in range(20)))
        winners = [g for g in got if g is not None]
        assert len(winners) == 1 and winners[0].epoch == 1
        await asyncio.sleep(0.4)  # the lease lapses (its holder stalled)
        assert await store.expired() == ["m1"]
        second = await store.acquire("m1", "late", 1000)
        assert second is not None and second.epoch == 2
        # The stalled holder wakes up: its renewal (with a checkpoint) is refused.
        stale = next(f"w{i}:1" for i, g in enumerate(got) if g is not None)
        assert await store.renew("m1", stale, 1, 1000, b"stale") == -1
        assert not await store.holds("m1", stale) and await store.holds("m1", "late:2")
        assert not await store.release("m1", stale, finished=True)
        assert await store.renew("m1", "late:2", 2, 1000, b"fresh") == 1
    finally:
        await store.close()


async def test_a_lost_lease_is_reclaimed_only_when_nobody_took_over(prefix):
    store = ClusterStore(SHARED_REDIS, prefix)
    try:
        assert (await store.acquire("m2", "w", 1000, b"ckpt")).epoch == 1
        await store.redis.delete(store.key("lease", "m2"), store.key("epoch", "m2"))  # Redis lost its data
        assert await store.renew("m2", "w:1", 1, 1000) == 2
        assert await store.holds("m2", "w:1")
        # A duplicate engine.start for a match that was ever owned is refused.
        await store.release("m2", "w:1", finished=False)
        assert await store.acquire("m2", "x", 1000, b"ckpt") is None
        adopted = await store.acquire("m2", "x", 1000)
        assert adopted is not None and adopted.epoch == 2 and adopted.checkpoint == b"ckpt"
        assert await store.renew("m2", "w:1", 1, 1000) == -1
    finally:
        await store.close()


def test_a_checkpoint_restores_the_same_match():
    match = new_match()
    for seq, col in enumerate((3, 3, 4), start=1):
        seat = match.state.turn
        match.receive_input(seat, seq, {"col": col})
        match.advance()
    data = checkpoint.dumps(match, lobby_id=5, seat_channels={0: "specific.a!b"})
    restored = checkpoint.loads(data)
    assert restored.lobby_id == 5 and restored.seat_channels == {0: "specific.a!b"}
    again = restored.match
    assert again.game is GAMES["connect_four"]
    assert (again.tick, again.state_hash(), again.log) == (match.tick, match.state_hash(), match.log)
    assert again.snapshot(None) == match.snapshot(None)
    # Both go on identically.
    assert [f.body for f in again.advance()] == [f.body for f in match.advance()]


def test_a_checkpoint_from_before_the_newer_fields_gets_their_defaults():
    match = new_match()
    names, snapshot = match.names, match.snapshot(None)
    for field in ("names", "spectators", "spectator_delay"):  # what older checkpoints lack
        delattr(match, field)
    again = checkpoint.loads(checkpoint.dumps(match, lobby_id=5, seat_channels={})).match
    assert (again.names, again.spectators, again.spectator_delay) == (names, 0, 0.0)
    assert again.snapshot(None) == snapshot
    assert again.advance()[0].names == names


def test_a_corrupt_checkpoint_is_refused():
    match = new_match()
    data = checkpoint.dumps(match, lobby_id=None, seat_channels={})
    with pytest.raises(checkpoint.CheckpointError):
        checkpoint.loads(data[: len(data) // 2])
    tampered = data.replace(b"turn_left", b"turn_lefX")
    with pytest.raises(checkpoint.CheckpointError):
        checkpoint.loads(tampered)
