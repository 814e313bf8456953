"""The lease and checkpoint scripts against the real Redis: one holder, fencing, hand-over."""

from __future__ import annotations

import asyncio

import pytest

from engine.game import Player
from engine.games import GAMES
from engine.match import Match
from game_server.cluster import checkpoint
from game_server.cluster.store import ClusterStore, Renewed
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
        assert (await store.renew("m1", stale, 1, 1000, b"stale")).result == -1
        assert not await store.holds("m1", stale) and await store.holds("m1", "late:2")
        assert not await store.release("m1", stale, finished=True)
        assert (await store.renew("m1", "late:2", 2, 1000, b"fresh")).result == 1
    finally:
        await store.close()


async def test_a_lost_lease_is_reclaimed_only_when_nobody_took_over(prefix):
    store = ClusterStore(SHARED_REDIS, prefix)
    try:
        assert (await store.acquire("m2", "w", 1000, b"ckpt")).epoch == 1
        await store.redis.delete(store.key("lease", "m2"), store.key("epoch", "m2"))  # Redis lost its data
        assert (await store.renew("m2", "w:1", 1, 1000)).result == 2
        assert await store.holds("m2", "w:1")
        # A duplicate engine.start for a match that was ever owned is refused.
        await store.release("m2", "w:1", finished=False)
        assert await store.acquire("m2", "x", 1000, b"ckpt") is None
        adopted = await store.acquire("m2", "x", 1000)
        assert adopted is not None and adopted.epoch == 2 and adopted.checkpoint == b"ckpt"
        assert (await store.renew("m2", "w:1", 1, 1000)).result == -1
    finally:
        await store.close()


async def test_log_chunks_are_stored_with_their_checkpoint_and_a_resent_one_replaces_a_duplicate(prefix):
    store = ClusterStore(SHARED_REDIS, prefix)
    try:
        await store.acquire("m3", "w", 1000, b"ckpt0")
        assert await store.renew("m3", "w:1", 1, 1000, b"ckpt1", chunk=b"a", chunks_before=0) == Renewed(1, True)
        assert await store.renew("m3", "w:1", 1, 1000, b"ckpt2", chunk=b"b", chunks_before=1) == Renewed(1, True)
        # The worker's wait for that renewal timed out after Redis ran it: it sends b's entries
        # again (with the newer ones) as if b were never stored, and the list holds them once.
        assert await store.renew("m3", "w:1", 1, 1000, b"ckpt3", chunk=b"b+c", chunks_before=1) == Renewed(1, True)
        assert await store.redis.lrange(store.key("log", "m3"), 0, -1) == [b"a", b"b+c"]
        await store.release("m3", "w:1", finished=False)
        adopted = await store.acquire("m3", "x", 1000)
        assert adopted is not None and (adopted.checkpoint, adopted.log) == (b"ckpt3", [b"a", b"b+c"])
        # Redis lost the log (not the lease): nothing is stored, and the caller is told so.
        await store.redis.delete(store.key("log", "m3"))
        assert await store.renew("m3", "x:2", 2, 1000, b"ckpt4", chunk=b"d", chunks_before=2) == Renewed(1, False)
        assert await store.redis.hget(store.key("ckpt", "m3"), "data") == b"ckpt3"
        assert await store.renew("m3", "x:2", 2, 1000, b"ckpt4", chunk=b"all", chunks_before=0) == Renewed(1, True)
        await store.release("m3", "x:2", finished=True)
        assert not await store.redis.exists(store.key("log", "m3"), store.key("ckpt", "m3"))
    finally:
        await store.close()


def played(match: Match, columns: tuple[int, ...] = (3, 3, 4)) -> Match:
    for seq, col in enumerate(columns, start=1):
        match.receive_input(match.state.turn, seq, {"col": col})
        match.advance()
    return match


def test_a_checkpoint_holds_no_log_its_chunks_do():
    match = played(new_match())
    data = checkpoint.dumps(match, lobby_id=5, seat_channels={})
    # Only the log's length: a checkpoint's size does not grow with the match's log.
    longer = played(new_match())
    longer.log.extend((3, 0, "input", 100 + i, ("col", 1)) for i in range(1000))
    assert len(checkpoint.dumps(longer, lobby_id=5, seat_channels={})) <= len(data) + 4
    chunks = [checkpoint.log_chunk(match.log[:1]), checkpoint.log_chunk(match.log[1:])]
    assert checkpoint.loads(data, chunks).match.log == match.log
    for wrong in ([], chunks[:1], [*chunks, chunks[1]]):
        with pytest.raises(checkpoint.CheckpointError, match="stored log has"):
            checkpoint.loads(data, wrong)


def test_a_checkpoint_of_the_first_version_with_its_log_inside_still_loads():
    match = played(new_match())
    payload = {"version": 1, "match": match, "hash": match.state_hash(), "lobby_id": 5, "seat_channels": {}}
    old = checkpoint._dump(payload)
    restored = checkpoint.loads(old)
    assert restored.match.log == match.log and restored.log_in_chunks == 0  # (the next renewal stores it all)
    assert restored.match.game is GAMES["connect_four"]


def test_a_checkpoint_restores_the_same_match():
    match = played(new_match())
    data = checkpoint.dumps(match, lobby_id=5, seat_channels={0: "specific.a!b"})
    restored = checkpoint.loads(data, [checkpoint.log_chunk(match.log)])
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
    again = checkpoint.loads(checkpoint.dumps(match, lobby_id=5, seat_channels={})).match  # (no log yet)
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
