"""End to end over daphne: two players queue, play a whole match, and the leaderboard shows the result."""

from __future__ import annotations

import asyncio

import pytest

from tests.e2e.test_match_e2e import play_connect_four
from tests.lobby.live import connect, get_json

pytestmark = pytest.mark.e2e


async def test_quick_play_seats_two_players_and_rates_the_finished_match(server):
    alice, bob = await connect(server, "alice"), await connect(server, "bob")
    assert (await alice.request({"type": "queue.join", "game": "connect_four"}))["type"] == "ok"
    assert (await bob.request({"type": "queue.join", "game": "connect_four"}))["type"] == "ok"
    a, b = await alice.expect_type("match.started"), await bob.expect_type("match.started")
    assert a["match_id"] == b["match_id"]
    first = (await alice.expect_type("snapshot"))["doc"]["game"]["turn"]
    winner = "alice" if a["seat"] == first else "bob"
    await asyncio.wait_for(
        asyncio.gather(play_connect_four(alice, a["seat"], first), play_connect_four(bob, b["seat"], first)), 60
    )

    board = await asyncio.to_thread(get_json, f"{server.http}/api/leaderboards/connect_four")
    assert [row["user"]["name"] for row in board["results"]][0] == winner
    assert [(row["matches"], row["wins"]) for row in board["results"]] == [(1, 1), (1, 0)]
    detail = await asyncio.to_thread(get_json, f"{server.http}/api/matches/{a['match_id']}")
    assert detail["mode"] == "quickplay" and detail["status"] == "finished"
    changes = {p["user"]["name"]: p["rating_change"] for p in detail["participants"]}
    assert changes[winner] > 0 > changes["bob" if winner == "alice" else "alice"]
    await alice.close()
    await bob.close()
    assert "Traceback" not in server.logs()
