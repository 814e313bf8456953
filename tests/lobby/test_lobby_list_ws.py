"""Three real websocket clients watch the live lobby list as lobbies are created, filled and closed."""

from __future__ import annotations

import asyncio

import pytest

from tests.e2e.server import DaphneServer
from tests.e2e.wsclient import WsClient
from tests.lobby.live import connect, get_json

pytestmark = pytest.mark.e2e


async def updates(client: WsClient, n: int) -> list[tuple[str, str, int]]:
    """The next n lobby-list updates as (op, lobby name, players)."""
    seen = []
    for _ in range(n):
        msg = await client.expect_type("lobby.list.update")
        seen.append((msg["op"], msg["lobby"]["name"], msg["lobby"]["players"]))
    return seen


async def test_three_clients_watch_lobbies_appear_fill_and_close(server: DaphneServer):
    alice, bob, carol = [await connect(server, name) for name in ("alice", "bob", "carol")]
    for client, filters in ((alice, {}), (bob, {"game": "connect_four"}), (carol, {"free_only": True})):
        listed = await client.request({"type": "lobby.list.subscribe", **filters})
        assert listed == {"type": "lobby.list", "rid": listed["rid"], "lobbies": []}

    hidden = await carol.request({"type": "lobby.create", "name": "Secret", "game": "connect_four", "private": True})
    assert hidden["type"] == "ok"
    assert (await carol.request({"type": "lobby.leave"}))["type"] == "ok"
    created = await alice.request({"type": "lobby.create", "name": "Friday", "game": "connect_four"})
    lobby_id = created["data"]["lobby_id"]
    assert (await bob.request({"type": "lobby.join", "lobby_id": lobby_id}))["type"] == "ok"
    listed = await asyncio.to_thread(get_json, f"{server.http}/api/lobbies?free=1")
    assert listed["count"] == 0  # full
    assert (await alice.request({"type": "lobby.leave"}))["type"] == "ok"
    assert (await bob.request({"type": "lobby.leave"}))["type"] == "ok"

    everything = [("upsert", "Friday", 1), ("upsert", "Friday", 2), ("upsert", "Friday", 1), ("remove", "Friday", 0)]
    assert await updates(alice, 4) == everything
    assert await updates(bob, 4) == everything
    # carol watches free seats only: the full lobby leaves her list, and comes back when a seat frees.
    assert await updates(carol, 4) == [
        ("upsert", "Friday", 1),
        ("remove", "Friday", 2),
        ("upsert", "Friday", 1),
        ("remove", "Friday", 0),
    ]
    assert (await asyncio.to_thread(get_json, f"{server.http}/api/lobbies"))["count"] == 0
    for client in (alice, bob, carol):
        await client.close()
    assert "Traceback" not in server.logs()
