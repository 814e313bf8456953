"""End to end: a whole arena match over real websockets against a real daphne, result saved."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from engine.game import Player
from engine.games import GAMES
from engine.replay import final_hash
from lobby.models import Match
from tests.e2e.accounts import existing_token, make_user
from tests.e2e.server import DaphneServer
from tests.e2e.wsclient import WsClient

pytestmark = pytest.mark.e2e


async def sign_in(server: DaphneServer, name: str, codec: str = "msgpack", token: str | None = None) -> WsClient:
    """A new user socket (a new user first: call make_user)."""
    client = await WsClient.open(
        server.ws, token=token or await existing_token(server, name), origin=server.http, codec=codec
    )
    welcome = await client.expect_type("welcome")
    assert welcome["user"]["name"] == name
    return client


async def start_lobby(
    clients: list[WsClient], game: str, options: dict[str, Any], private: bool = True
) -> list[dict[str, Any]]:
    """The first client hosts a lobby, the rest join by its code, all ready, the host starts."""
    host = clients[0]
    created = await host.request(
        {"type": "lobby.create", "name": "e2e", "game": game, "private": private, "options": options}
    )
    assert created["type"] == "ok", created
    for other in clients[1:]:
        joined = await other.request({"type": "lobby.join", "code": created["data"]["code"]})
        assert joined["type"] == "ok", joined
    for client in clients:
        assert (await client.request({"type": "lobby.ready", "ready": True}))["type"] == "ok"
    started = await host.request({"type": "lobby.start"})
    assert started["type"] == "ok", started
    return [await c.expect_type("match.started") for c in clients]


def steer(doc: dict[str, Any], seat: int) -> dict[str, int]:
    """Head for the nearest pickup."""
    game = doc["game"]
    me = game["players"][str(seat)]
    if not game["pickups"]:
        return {"dx": 0, "dy": 0}
    px, py = min(game["pickups"].values(), key=lambda p: (p[0] - me["x"]) ** 2 + (p[1] - me["y"]) ** 2)
    return {
        "dx": 0 if abs(px - me["x"]) < 20 else (1 if px > me["x"] else -1),
        "dy": 0 if abs(py - me["y"]) < 20 else (1 if py > me["y"] else -1),
    }


async def drive(client: WsClient, seat: int) -> dict[str, Any]:
    """Play the arena until the match ends: send a new direction whenever it changes."""
    held: dict[str, int] | None = None
    while True:
        msg = await client.recv()
        if msg["type"] == "match.ended":
            return msg
        if msg["type"] == "error" and msg["code"] not in ("match/not_found", "match/ended"):
            raise AssertionError(f"unexpected error frame {msg}")  # (those two: an input raced the end)
        if client.doc is None or msg["type"] not in ("snapshot", "delta"):
            continue
        wanted = steer(client.doc, seat)
        if wanted != held:
            held = wanted
            await client.input(wanted)


async def test_three_players_play_a_whole_arena_match_and_the_result_is_saved(server: DaphneServer):
    names = ["ann", "ben", "cat"]
    for name in names:
        await sync_to_async(make_user)(name)
    clients = [
        await sign_in(server, name, codec) for name, codec in zip(names, ["msgpack", "json", "msgpack"], strict=True)
    ]
    starts = await start_lobby(clients, "arena", {"time_seconds": 6, "score_limit": 0, "pickups": 8})
    assert [s["seat"] for s in starts] == [0, 1, 2] and starts[0]["tick_rate"] == 20
    first = await clients[0].expect_type("snapshot")
    assert set(first["doc"]["game"]["players"]) == {"0", "1", "2"}

    ended = await asyncio.wait_for(
        asyncio.gather(*(drive(c, s["seat"]) for c, s in zip(clients, starts, strict=True))), 30
    )
    outcome = ended[0]["outcome"]
    assert all(e["outcome"] == outcome for e in ended)
    assert outcome["reason"] == "time_up"
    scores = {int(seat): score for seat, score in outcome["scores"].items()}
    assert sum(scores.values()) > 0, "somebody should reach a pickup in 6 seconds"
    best = max(scores.values())
    assert outcome["winners"] == sorted(seat for seat, score in scores.items() if score == best)
    for client in clients:  # every client's delta-built document agrees with the outcome
        assert client.doc is not None and client.doc["game"]["over"] == "time_up"
        assert {int(s): p["score"] for s, p in client.doc["game"]["players"].items()} == scores
        assert any(f["type"] == "delta" for f in client.frames)
        assert all(int(client.doc["acks"][str(s)]) > 0 for s in range(3))

    match = await sync_to_async(Match.objects.get)(pk=starts[0]["match_id"])
    assert match.status == "finished" and match.reason == "time_up" and match.game == "arena"
    assert match.ticks == 6 * 20 and len(match.input_log) > 3
    rows = await sync_to_async(list)(match.participants.order_by("seat").values_list("seat", "placement", "score"))
    assert [(seat, score) for seat, _, score in rows] == [(s, scores[s]) for s in range(3)]
    assert [placement for _, placement, _ in rows] == [
        {int(k): v for k, v in outcome["placements"].items()}[s] for s in range(3)
    ]
    replayed = final_hash(
        game=GAMES["arena"],
        players=[Player(i, name) for i, name in enumerate(names)],
        options=match.options,
        seed=match.seed,
        log=match.input_log,
        ticks=match.ticks,
        tick_rate=match.tick_rate,
    )
    assert replayed == match.final_hash
    for client in clients:
        await client.close()
    assert "Traceback" not in server.logs()


async def test_inputs_sent_around_other_messages_are_applied_in_the_order_sent(server: DaphneServer):
    # Inputs are taken straight from the socket when nothing of the socket is queued or being
    # handled before them (daphne_adapter). Each burst starts with a message whose handler reads
    # the database (lobby.list.subscribe), so the inputs behind it queue and later ones arrive
    # while the queue is worked off: both paths in one stream. Every input must be applied once,
    # in order (a lost or overtaken one shows as an error frame or a gap in the stored log). The
    # ordering rule's race itself is pinned down in tests/game_server/test_split_frames.py.
    for name in ("ivy", "jon"):
        await sync_to_async(make_user)(name)
    ivy, jon = await sign_in(server, "ivy"), await sign_in(server, "jon")
    starts = await start_lobby([ivy, jon], "arena", {"time_seconds": 5, "score_limit": 0})
    await ivy.expect_type("snapshot")
    heading = [{"dx": 1, "dy": 0}, {"dx": 0, "dy": 1}, {"dx": -1, "dy": 0}, {"dx": 0, "dy": -1}]
    for burst in range(10):
        await ivy.send({"type": "lobby.list.subscribe"})
        for k in range(6):
            await ivy.input(heading[(burst + k) % 4])
            await asyncio.sleep(0.002)
        await asyncio.sleep(0.25)
    await ivy.expect_type("match.ended", timeout=15)
    assert [f for f in ivy.frames if f["type"] == "error"] == []
    assert sum(f["type"] == "lobby.list" for f in ivy.frames) == 10
    match = await sync_to_async(Match.objects.get)(pk=starts[0]["match_id"])
    assert [e[3] for e in match.input_log if e[1] == 0 and e[2] == "input"] == list(range(1, 61))
    await ivy.close()
    await jon.close()
