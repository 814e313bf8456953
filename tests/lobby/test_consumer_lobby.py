"""The lobby and quick-play messages over a socket (WebsocketCommunicator, in-memory layer)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model

from game_server import quickplay
from game_server.consumers import PlayerConsumer
from game_server.consumers import base as consumer_base
from lobby.matchmaking import Policy
from lobby.models import Lobby, Match, QueueEntry, Rating

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def fresh_limits_and_matcher():
    consumer_base._user_buckets.clear()
    quickplay._ticker.clear()
    yield
    task = quickplay._ticker.get("task")
    if task is not None:
        task.cancel()
    quickplay._ticker.clear()


class Client:
    """One user's socket, JSON codec."""

    def __init__(self, comm: WebsocketCommunicator, user: Any) -> None:
        self.comm, self.user, self.rid, self.backlog = comm, user, 0, []

    @classmethod
    async def open(cls, name: str) -> Client:
        user = await sync_to_async(get_user_model().objects.create_user)(username=name)
        comm = WebsocketCommunicator(PlayerConsumer.as_asgi(), "/ws/", subprotocols=["skirmish.v1.json"])
        comm.scope["user"] = user
        connected, _ = await comm.connect()
        assert connected
        client = cls(comm, user)
        assert (await client.expect("welcome"))["user"]["name"] == name
        return client

    async def recv(self) -> dict[str, Any]:
        return json.loads(await self.comm.receive_from(timeout=5))

    async def expect(self, kind: str, pred: Any = lambda m: True) -> dict[str, Any]:
        for i, msg in enumerate(self.backlog):
            if msg["type"] == kind and pred(msg):
                return self.backlog.pop(i)
        while True:
            msg = await self.recv()
            if msg["type"] == kind and pred(msg):
                return msg
            self.backlog.append(msg)

    async def request(self, message: dict[str, Any]) -> dict[str, Any]:
        self.rid += 1
        await self.comm.send_to(text_data=json.dumps({"rid": self.rid, **message}))
        rid = self.rid
        return await self.expect_reply(rid)

    async def expect_reply(self, rid: int) -> dict[str, Any]:
        for i, msg in enumerate(self.backlog):
            if msg.get("rid") == rid and msg["type"] in ("ok", "error"):
                return self.backlog.pop(i)
        while True:
            msg = await self.recv()
            if msg.get("rid") == rid and msg["type"] in ("ok", "error"):
                return msg
            self.backlog.append(msg)


def names(state: dict[str, Any]) -> list[str]:
    return [m["user"]["name"] for m in state["lobby"]["members"]]


async def lobby_of_two() -> tuple[Client, Client, dict[str, Any]]:
    alice, bob = await Client.open("alice"), await Client.open("bob")
    created = await alice.request({"type": "lobby.create", "name": "Friday", "game": "connect_four"})
    assert created["type"] == "ok"
    assert (await bob.request({"type": "lobby.join", "lobby_id": created["data"]["lobby_id"]}))["type"] == "ok"
    await alice.expect("lobby.state", lambda m: len(m["lobby"]["members"]) == 2)
    await bob.expect("lobby.state", lambda m: len(m["lobby"]["members"]) == 2)
    return alice, bob, created["data"]


async def test_the_host_kicks_a_member_whose_socket_is_told_and_leaves_the_lobby():
    alice, bob, lobby = await lobby_of_two()
    assert (await bob.request({"type": "lobby.kick", "user_id": alice.user.pk}))["code"] == "lobby/not_host"
    assert (await alice.request({"type": "lobby.kick", "user_id": bob.user.pk}))["type"] == "ok"
    left = await bob.expect("lobby.left")
    assert left == {"type": "lobby.left", "lobby_id": lobby["lobby_id"], "reason": "kicked"}
    assert names(await alice.expect("lobby.state", lambda m: len(m["lobby"]["members"]) == 1)) == ["alice"]
    # bob no longer hears the lobby: his chat is refused, alice's chat does not reach him
    assert (await bob.request({"type": "lobby.chat", "text": "hey"}))["code"] == "lobby/not_member"
    assert (await alice.request({"type": "lobby.chat", "text": "bye bob"}))["type"] == "ok"
    await alice.expect("lobby.chat")
    assert await bob.comm.receive_nothing(timeout=0.3)
    again = await bob.request({"type": "lobby.join", "code": lobby["code"]})
    assert again["code"] == "lobby/kicked"
    await alice.comm.disconnect()
    await bob.comm.disconnect()


async def test_host_hand_over_and_options_are_pushed_to_every_member():
    alice, bob, _ = await lobby_of_two()
    assert (await bob.request({"type": "lobby.ready", "ready": True}))["type"] == "ok"
    await alice.expect("lobby.state", lambda m: any(x["ready"] for x in m["lobby"]["members"]))
    changed = await alice.request({"type": "lobby.options", "options": {"turn_seconds": 12}})
    assert changed["data"] == {"options": {"turn_seconds": 12.0}, "max_players": 2}
    state = await bob.expect("lobby.state", lambda m: m["lobby"]["options"] == {"turn_seconds": 12.0})
    assert not any(m["ready"] for m in state["lobby"]["members"])
    bad = await alice.request({"type": "lobby.options", "options": {"turn_seconds": 1}})
    assert bad["code"] == "lobby/bad_options"
    assert (await alice.request({"type": "lobby.host", "user_id": bob.user.pk}))["type"] == "ok"
    state = await alice.expect("lobby.state", lambda m: m["lobby"]["host_id"] == bob.user.pk)
    assert [m["host"] for m in state["lobby"]["members"]] == [False, True]
    assert (await alice.request({"type": "lobby.options", "options": {}}))["code"] == "lobby/not_host"
    await alice.comm.disconnect()
    await bob.comm.disconnect()


async def test_two_players_queue_and_are_seated_in_one_match():
    alice, bob = await Client.open("alice"), await Client.open("bob")
    assert (await alice.request({"type": "queue.join", "game": "connect_four"}))["data"] == {"game": "connect_four"}
    assert (await alice.expect("queue.state"))["status"] == "queued"
    again = await alice.request({"type": "queue.join", "game": "connect_four"})
    assert again["code"] == "queue/already_in"
    busy = await alice.request({"type": "lobby.create", "name": "x", "game": "connect_four"})
    assert busy["code"] == "queue/already_in"
    assert (await bob.request({"type": "queue.join", "game": "connect_four"}))["type"] == "ok"
    a, b = await alice.expect("match.started"), await bob.expect("match.started")
    assert a["match_id"] == b["match_id"] and {a["seat"], b["seat"]} == {0, 1}
    assert (await alice.expect("queue.state", lambda m: m["status"] == "matched"))["game"] == "connect_four"
    assert (await bob.expect("snapshot"))["doc"]["seats"]
    match = await sync_to_async(Match.objects.get)(pk=a["match_id"])
    assert match.mode == "quickplay" and not await sync_to_async(QueueEntry.objects.exists)()
    await alice.comm.disconnect()
    await bob.comm.disconnect()


async def test_leaving_the_queue_and_going_away_both_drop_the_ticket():
    alice = await Client.open("alice")
    assert (await alice.request({"type": "queue.leave"}))["code"] == "queue/not_in"
    await alice.request({"type": "queue.join", "game": "connect_four"})
    assert (await alice.request({"type": "queue.leave"}))["type"] == "ok"
    assert (await alice.expect("queue.state", lambda m: m["status"] == "left"))["game"] == "connect_four"
    await alice.request({"type": "queue.join", "game": "connect_four"})
    assert await sync_to_async(QueueEntry.objects.filter(user=alice.user).exists)()
    await alice.comm.disconnect()
    assert not await sync_to_async(QueueEntry.objects.exists)()


async def test_the_last_member_leaving_closes_the_lobby():
    alice, bob, lobby = await lobby_of_two()
    await alice.request({"type": "lobby.leave"})
    state = await bob.expect("lobby.state", lambda m: len(m["lobby"]["members"]) == 1)
    assert state["lobby"]["host_id"] == bob.user.pk
    await bob.request({"type": "lobby.leave"})
    assert (await bob.expect("lobby.left"))["reason"] == "left"
    closed = await sync_to_async(Lobby.objects.get)(pk=lobby["lobby_id"])
    assert closed.status == "closed"
    await alice.comm.disconnect()
    await bob.comm.disconnect()


async def test_the_periodic_matcher_pairs_distant_ratings_once_the_window_has_widened(monkeypatch):
    # A fast ticker: every 50 ms; the window starts at 3 points and grows 30 a second (30 apart: ~0.9 s).
    monkeypatch.setattr(quickplay, "POLICY", Policy(interval=0.05, widen_per_second=30.0))
    alice, bob = await Client.open("alice"), await Client.open("bob")
    for client, mu in ((alice, 10.0), (bob, 40.0)):
        await sync_to_async(Rating.objects.create)(user=client.user, game="connect_four", mu=mu, sigma=3, rating=mu - 9)
    await alice.request({"type": "queue.join", "game": "connect_four"})
    await bob.request({"type": "queue.join", "game": "connect_four"})
    assert await sync_to_async(QueueEntry.objects.count)() == 2  # 30 points apart: not at once
    a, b = await alice.expect("match.started"), await bob.expect("match.started")
    assert a["match_id"] == b["match_id"]
    await alice.comm.disconnect()
    await bob.comm.disconnect()


async def test_a_lobby_request_and_its_broadcast_take_one_trip_to_the_database_thread(monkeypatch):
    """The sync thread's queue is what players wait in when a busy server seats many of them."""
    from game_server import engine_bridge
    from game_server.consumers import player

    alice, bob, _ = await lobby_of_two()
    trips = []
    real = player.db_call
    for module in (player, engine_bridge):
        monkeypatch.setattr(module, "db_call", lambda fn: trips.append(fn) or real(fn))
    assert (await bob.request({"type": "lobby.ready", "ready": True}))["type"] == "ok"
    state = await alice.expect("lobby.state", lambda m: any(x["ready"] for x in m["lobby"]["members"]))
    assert [x["user"]["name"] for x in state["lobby"]["members"] if x["ready"]] == ["bob"]
    assert len(trips) == 1
    await alice.comm.disconnect()
    await bob.comm.disconnect()
