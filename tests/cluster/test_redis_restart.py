"""Redis restarted mid-match (a private redis-server without persistence): the match finishes, on either layer."""

from __future__ import annotations

import asyncio
import time

import pytest
from websockets.exceptions import ConnectionClosed

from lobby.models import Match
from tests.cluster.conftest import start_cluster, stop_cluster
from tests.cluster.harness import Bot, RedisServer, connect, db, start_match, strictly_increasing
from tests.e2e.accounts import existing_token, make_user
from tests.e2e.server import DaphneServer

pytestmark = pytest.mark.e2e


async def play_reconnecting(bot: Bot, web: DaphneServer, token: str, codec: str, timeout: float = 60) -> int:
    """Play to the end; when the socket drops, connect again (retrying while Redis is away)."""
    reconnects = 0
    deadline = time.monotonic() + timeout
    while bot.ended is None:
        assert time.monotonic() < deadline, "the match did not finish"
        try:
            await bot.step(5)
        except (ConnectionClosed, OSError, TimeoutError):
            while True:
                assert time.monotonic() < deadline, "could not reconnect"
                try:
                    bot.client = await connect(web, token, codec)
                    await bot.client.expect_type("match.started", 5)
                    reconnects += 1
                    break
                except (ConnectionClosed, OSError, TimeoutError):
                    await asyncio.sleep(0.3)
    return reconnects


@pytest.mark.parametrize("layer", ["core", "pubsub"])
async def test_redis_restart_mid_match_the_match_finishes_and_is_saved(transactional_db, tmp_path, prefix, layer):
    redis_server = RedisServer(tmp_path)
    redis_server.start()
    cluster = start_cluster(tmp_path, redis_server.url, prefix, layer=layer)
    try:
        await db(make_user, "alice")
        await db(make_user, "bob")
        web1, web2 = cluster.webs
        tokens = {"alice": await existing_token(web1, "alice"), "bob": await existing_token(web2, "bob")}
        alice_ws = await connect(web1, tokens["alice"])
        bob_ws = await connect(web2, tokens["bob"], codec="json")
        match_id, first = await start_match(alice_ws, bob_ws)
        alice, bob = Bot(alice_ws, 0, first), Bot(bob_ws, 1, first)
        await asyncio.wait_for(
            asyncio.gather(alice.play_until(lambda: alice.moves() >= 2), bob.play_until(lambda: bob.moves() >= 2)), 20
        )
        tick_before = max(alice.client.tick, bob.client.tick)
        await asyncio.sleep(0.5)  # the moves so far are in stored log chunks (a checkpoint every 200 ms)

        redis_server.kill()  # everything in Redis is gone: groups, leases, checkpoints, queues
        await asyncio.sleep(1.0)
        redis_server.start()

        await asyncio.wait_for(
            asyncio.gather(
                play_reconnecting(alice, web1, tokens["alice"], "msgpack"),
                play_reconnecting(bob, web2, tokens["bob"], "json"),
            ),
            70,
        )
        for bot in (alice, bob):
            assert bot.ended["outcome"]["reason"] == "four_in_a_row", bot.ended
            assert any(t > tick_before for t in bot.snapshots)  # a full snapshot after the restart
            assert strictly_increasing(bot.delta_ticks)
        row = await db(lambda: Match.objects.get(pk=match_id))
        assert row.status == "finished" and row.reason == "four_in_a_row"
        assert cluster.count(f"match {match_id}: result saved") == 1
        # The owner found its stored log gone with the restart and stored all of it again.
        assert cluster.count(f"match {match_id}: Redis lost its stored log; storing all of it again") == 1
    finally:
        stop_cluster(cluster)
        redis_server.kill()
