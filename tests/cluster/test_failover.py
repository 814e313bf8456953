"""Two web processes, two engine workers, one Redis: matches survive a worker or a web process dying."""

from __future__ import annotations

import asyncio
import signal
import time

import pytest

from engine.game import Player
from engine.games import GAMES
from engine.replay import final_hash
from lobby.models import Match
from tests.cluster.harness import (
    Bot,
    Cluster,
    connect,
    db,
    start_match,
    strictly_increasing,
)
from tests.e2e.accounts import existing_token, make_user

pytestmark = pytest.mark.e2e


async def seated_pair(cluster: Cluster) -> tuple[Bot, Bot, str, dict[str, str]]:
    """alice on web 1, bob on web 2, in one running match."""
    await db(make_user, "alice")
    await db(make_user, "bob")
    web1, web2 = cluster.webs
    tokens = {"alice": await existing_token(web1, "alice"), "bob": await existing_token(web2, "bob")}
    alice = await connect(web1, tokens["alice"])
    bob = await connect(web2, tokens["bob"], codec="json")
    match_id, first = await start_match(alice, bob)
    return Bot(alice, 0, first), Bot(bob, 1, first), match_id, tokens


async def play_out(*bots: Bot, timeout: float = 40) -> None:
    await asyncio.wait_for(asyncio.gather(*(b.play_until(lambda b=b: b.ended is not None) for b in bots)), timeout)


async def saved(match_id: str) -> Match:
    return await db(lambda: Match.objects.get(pk=match_id))


def replays_to_its_hash(row: Match) -> bool:
    """Whether re-simulating the stored input log reproduces the stored final state."""
    participants = row.participants.select_related("user").order_by("seat")
    return row.final_hash == final_hash(
        game=GAMES[row.game],
        players=[Player(p.seat, p.user.get_username()) for p in participants],
        options=row.options,
        seed=row.seed,
        log=row.input_log,
        ticks=row.ticks,
        tick_rate=row.tick_rate,
    )


@pytest.mark.parametrize("cluster", ["core", "pubsub"], indirect=True)
async def test_players_on_two_web_processes_get_every_tick(cluster: Cluster):
    alice, bob, match_id, _ = await seated_pair(cluster)
    await play_out(alice, bob)
    for bot in (alice, bob):
        assert bot.ended["outcome"]["reason"] == "four_in_a_row"
        assert strictly_increasing(bot.delta_ticks)
    # Both sockets saw the same ticks: nothing was lost on either web process.
    common = set(alice.delta_ticks) & set(bob.delta_ticks)
    last = min(alice.delta_ticks[-1], bob.delta_ticks[-1])
    first = max(alice.delta_ticks[0], bob.delta_ticks[0])
    assert common >= set(range(first, last + 1))
    row = await saved(match_id)
    assert row.status == "finished" and await db(lambda: replays_to_its_hash(row))
    assert cluster.count(f"match {match_id}: result saved") == 1


@pytest.mark.parametrize("cluster", ["core", "pubsub"], indirect=True)
async def test_kill_9_of_the_owning_worker_moves_the_match_to_the_other(cluster: Cluster):
    alice, bob, match_id, _ = await seated_pair(cluster)
    await asyncio.wait_for(
        asyncio.gather(alice.play_until(lambda: alice.moves() >= 3), bob.play_until(lambda: bob.moves() >= 3)), 20
    )
    await asyncio.sleep(0.5)  # two checkpoints (every 200 ms here): the moves so far are in stored log chunks
    owner = cluster.owner_of(match_id)
    survivor = next(e for e in cluster.engines if e is not owner)
    last_tick = max(alice.client.tick, bob.client.tick)
    owner.signal(signal.SIGKILL)
    killed_at = time.monotonic()
    # The next snapshot comes from the survivor: within 3 s, and it never goes back in ticks.
    await asyncio.wait_for(alice.play_until(lambda: any(t > last_tick for t in alice.snapshots)), 10)
    assert time.monotonic() - killed_at < 3.0
    assert f"match {match_id} taken over" in survivor.logs()
    await play_out(alice, bob)
    for bot in (alice, bob):
        assert bot.ended["outcome"]["reason"] == "four_in_a_row", bot.ended
        assert strictly_increasing(bot.delta_ticks), bot.delta_ticks
        assert bot.snapshots[-1] > last_tick
    row = await saved(match_id)
    assert row.status == "finished" and row.reason == "four_in_a_row"
    assert cluster.count(f"match {match_id}: result saved") == 1
    # The log came back from the checkpoint's chunks: the saved replay reproduces the match.
    assert len(row.input_log) >= 7 and await db(lambda: replays_to_its_hash(row))


async def test_kill_9_of_a_web_process_its_player_resumes_on_the_other(cluster: Cluster):
    alice, bob, match_id, tokens = await seated_pair(cluster)
    await asyncio.wait_for(
        asyncio.gather(alice.play_until(lambda: alice.moves() >= 2), bob.play_until(lambda: bob.moves() >= 2)), 20
    )
    web1, web2 = cluster.webs
    web2.proc.send_signal(signal.SIGKILL)
    web2.proc.wait()
    with pytest.raises(Exception):  # noqa: B017 (any socket error: the process is gone)
        await bob.client.recv(5)
    # bob's client reconnects to the surviving web process and gets his seat back.
    bob.client = await connect(web1, tokens["bob"], codec="json")
    started = await bob.client.expect_type("match.started")
    assert started["match_id"] == match_id and started["seat"] == 1
    await play_out(alice, bob)
    assert alice.ended["outcome"]["reason"] == bob.ended["outcome"]["reason"] == "four_in_a_row"
    assert (await saved(match_id)).status == "finished"
    assert cluster.count(f"match {match_id}: result saved") == 1


async def test_two_workers_racing_for_one_match_never_tick_it_twice(cluster: Cluster):
    """The owner stalls past its lease (SIGSTOP), the other takes over, the owner wakes up."""
    alice, bob, match_id, _ = await seated_pair(cluster)
    await asyncio.wait_for(
        asyncio.gather(alice.play_until(lambda: alice.moves() >= 2), bob.play_until(lambda: bob.moves() >= 2)), 20
    )
    owner = cluster.owner_of(match_id)
    survivor = next(e for e in cluster.engines if e is not owner)
    owner.signal(signal.SIGSTOP)
    try:
        await asyncio.wait_for(alice.play_until(lambda: f"match {match_id} taken over" in survivor.logs()), 10)
    finally:
        owner.signal(signal.SIGCONT)
    await play_out(alice, bob)
    assert f"match {match_id}: lease lost" in owner.logs()
    for bot in (alice, bob):
        assert strictly_increasing(bot.delta_ticks), bot.delta_ticks
        assert bot.ended["outcome"]["reason"] == "four_in_a_row"
    assert cluster.count(f"match {match_id}: result saved") == 1
    assert (await saved(match_id)).status == "finished"


async def test_sigterm_hands_the_match_over_without_a_long_pause(cluster: Cluster):
    alice, bob, match_id, _ = await seated_pair(cluster)
    await asyncio.wait_for(alice.play_until(lambda: len(alice.delta_ticks) >= 5), 10)
    owner = cluster.owner_of(match_id)
    survivor = next(e for e in cluster.engines if e is not owner)
    owner.signal(signal.SIGTERM)
    arrivals: list[tuple[float, int]] = []
    while not any(t > 0 for _, t in arrivals if True) or len(arrivals) < 30:
        msg = await alice.step(5)
        if msg["type"] in ("delta", "snapshot"):
            arrivals.append((time.monotonic(), msg["tick"]))
    gaps = [b[0] - a[0] for a, b in zip(arrivals, arrivals[1:], strict=False)]
    assert owner.proc.wait(10) == 0
    assert f"match {match_id} taken over" in survivor.logs()
    # Connect four ticks at 10 Hz; the hand-over pause stays under one checkpoint interval
    # (200 ms here) plus a tick.
    assert max(gaps) < 0.2 + 0.1 + 0.05, gaps
    await play_out(alice, bob)
    assert strictly_increasing(alice.delta_ticks)
    assert cluster.count(f"match {match_id}: result saved") == 1
