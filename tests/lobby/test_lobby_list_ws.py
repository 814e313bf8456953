"""Three real websocket clients watch the live lobby list as lobbies are created, filled and closed."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import Iterator

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model

from game_server.tokens import token_issue
from tests.e2e import server as e2e
from tests.e2e.server import DaphneServer
from tests.e2e.wsclient import WsClient

pytestmark = pytest.mark.e2e


@pytest.fixture
def server(transactional_db, tmp_path) -> Iterator[DaphneServer]:
    proc = DaphneServer(database_url=e2e.test_database_url(), log_path=tmp_path / "daphne.log")
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


def _token(name: str) -> str:
    user = get_user_model().objects.create_user(username=name)
    raw, _ = token_issue(user=user)
    return raw


async def connect(server: DaphneServer, name: str) -> WsClient:
    token = await sync_to_async(_token)(name)
    client = await WsClient.open(server.ws, token=token, origin=server.http, codec="json")
    await client.expect_type("welcome")
    return client


async def updates(client: WsClient, n: int) -> list[tuple[str, str, int]]:
    """The next n lobby-list updates as (op, lobby name, players)."""
    seen = []
    for _ in range(n):
        msg = await client.expect_type("lobby.list.update")
        seen.append((msg["op"], msg["lobby"]["name"], msg["lobby"]["players"]))
    return seen


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.loads(resp.read())


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
