"""End to end: daphne as a real process, real websockets, a whole connect-four match."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model

from engine.game import Player
from engine.games import GAMES
from engine.replay import final_hash
from lobby.models import Match
from tests.e2e.server import DaphneServer
from tests.e2e.wsclient import WsClient, http_json

pytestmark = pytest.mark.e2e


def make_user(name: str) -> None:
    get_user_model().objects.create_user(username=name, password="correct horse battery")


async def sign_in(server: DaphneServer, name: str, codec: str = "msgpack") -> WsClient:
    status, body = await asyncio.to_thread(
        http_json, f"{server.http}/api/auth/token", {"username": name, "password": "correct horse battery"}
    )
    assert status == 200, body
    client = await WsClient.open(server.ws, token=body["token"], origin=server.http, codec=codec)
    welcome = await client.expect_type("welcome")
    assert welcome["user"]["name"] == name
    return client


async def play_connect_four(me: WsClient, seat: int, winner_seat: int) -> dict:
    """Play until the match ends: the winner stacks column 0, the loser column 6."""
    while True:
        msg = await me.recv()
        if msg["type"] == "match.ended":
            return msg
        if me.doc is None or msg["type"] not in ("snapshot", "delta"):
            continue
        game = me.doc["game"]
        mine = int(me.doc["acks"][str(seat)])
        if game["turn"] == seat and game["winner"] is None and mine == me.seq:
            await me.input({"col": 0 if seat == winner_seat else 6})


async def test_two_players_play_a_whole_match_and_the_result_is_saved(server: DaphneServer):
    await sync_to_async(make_user)("alice")
    await sync_to_async(make_user)("bob")
    alice = await sign_in(server, "alice")
    bob = await sign_in(server, "bob", codec="json")

    created = await alice.request({"type": "lobby.create", "name": "Friday", "game": "connect_four", "private": True})
    assert created["type"] == "ok", created
    joined = await bob.request({"type": "lobby.join", "code": created["data"]["code"]})
    assert joined["type"] == "ok", joined
    state = await alice.expect(lambda m: m["type"] == "lobby.state" and len(m["lobby"]["members"]) == 2)
    assert [m["user"]["name"] for m in state["lobby"]["members"]] == ["alice", "bob"]

    too_early = await alice.request({"type": "lobby.start"})
    assert too_early["code"] == "lobby/not_ready"
    assert (await alice.request({"type": "lobby.ready", "ready": True}))["type"] == "ok"
    assert (await bob.request({"type": "lobby.ready", "ready": True}))["type"] == "ok"
    started = await alice.request({"type": "lobby.start"})
    assert started["type"] == "ok", started

    a_start = await alice.expect_type("match.started")
    b_start = await bob.expect_type("match.started")
    assert a_start["match_id"] == b_start["match_id"] == started["data"]["match_id"]
    assert (a_start["seat"], b_start["seat"]) == (0, 1)
    first = await alice.expect_type("snapshot")
    first_mover = first["doc"]["game"]["turn"]

    results = await asyncio.wait_for(
        asyncio.gather(play_connect_four(alice, 0, first_mover), play_connect_four(bob, 1, first_mover)), 60
    )
    for ended in results:
        assert ended["outcome"]["winners"] == [first_mover]
        assert ended["outcome"]["reason"] == "four_in_a_row"
    assert any(f["type"] == "delta" for f in alice.frames) and any(f["type"] == "delta" for f in bob.frames)

    match = await sync_to_async(Match.objects.get)(pk=a_start["match_id"])
    assert match.status == "finished" and match.reason == "four_in_a_row"
    assert match.ticks >= 7 and len(match.input_log) == 7
    participants = await sync_to_async(list)(
        match.participants.order_by("seat").values_list("seat", "placement", "is_winner")
    )
    assert participants == [(s, 1 if s == first_mover else 2, s == first_mover) for s in (0, 1)]
    replayed = final_hash(
        game=GAMES["connect_four"],
        players=[Player(0, "alice"), Player(1, "bob")],
        options=match.options,
        seed=match.seed,
        log=match.input_log,
        ticks=match.ticks,
        tick_rate=match.tick_rate,
    )
    assert replayed == match.final_hash

    # The lobby is open again, with nobody ready, and both players were told.
    lobby_state = await alice.expect(lambda m: m["type"] == "lobby.state" and m["lobby"]["status"] == "open")
    assert not any(m["ready"] for m in lobby_state["lobby"]["members"])
    await alice.close()
    await bob.close()
    assert "Traceback" not in server.logs()
