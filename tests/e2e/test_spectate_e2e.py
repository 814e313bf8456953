"""End to end: spectators watch live matches over real websockets."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async

from tests.e2e.server import DaphneServer
from tests.e2e.test_arena_e2e import drive, make_user, sign_in, start_lobby
from tests.e2e.wsclient import WsClient

pytestmark = pytest.mark.e2e


async def watch_to_the_end(client: WsClient) -> dict:
    """Read frames until the match ends; the match.ended frame."""
    return await client.expect_type("match.ended", timeout=30)


async def test_spectators_from_the_first_and_a_late_tick_see_what_the_players_see(server: DaphneServer):
    for name in ("ann", "ben", "sam", "liz"):
        await sync_to_async(make_user)(name)
    ann, ben = await sign_in(server, "ann"), await sign_in(server, "ben", codec="json")
    sam, liz = await sign_in(server, "sam", codec="json"), await sign_in(server, "liz")
    starts = await start_lobby([ann, ben], "arena", {"time_seconds": 5, "score_limit": 0}, private=False)
    match_id = starts[0]["match_id"]

    ok = await sam.request({"type": "match.spectate", "match_id": match_id})
    assert ok["type"] == "ok" and ok["data"] == {"match_id": match_id}
    watching = await sam.expect_type("match.started")
    assert watching["seat"] is None and [p["user"]["name"] for p in watching["players"]] == ["ann", "ben"]
    first = await sam.expect_type("snapshot")
    assert set(first["doc"]["game"]["players"]) == {"0", "1"}

    refused = await sam.request({"type": "match.input", "seq": 1, "data": {"dx": 1, "dy": 0}})
    assert refused["type"] == "error" and refused["code"] == "match/spectating"
    seated = await ann.request({"type": "match.spectate", "match_id": match_id})
    assert seated["type"] == "error" and seated["code"] == "match/seated"

    players = asyncio.gather(drive(ann, 0), drive(ben, 1))
    await sam.expect(lambda m: m["type"] == "delta" and m["tick"] >= 40)
    assert (await liz.request({"type": "match.spectate", "match_id": match_id}))["type"] == "ok"
    late = await liz.expect_type("snapshot")
    assert late["tick"] >= 40

    ended, sam_end, liz_end = await asyncio.wait_for(
        asyncio.gather(players, watch_to_the_end(sam), watch_to_the_end(liz)), 30
    )
    assert sam_end["outcome"] == liz_end["outcome"] == ended[0]["outcome"]
    # Snapshot + deltas rebuilt the players' own final document for both spectators.
    assert ann.doc is not None and ann.tick == sam.tick == liz.tick == sam_end["tick"]
    assert sam.doc == ann.doc == liz.doc == ben.doc
    deltas = [f for f in liz.frames if f["type"] == "delta" and f["tick"] > late["tick"]]
    assert len(deltas) >= sam_end["tick"] - late["tick"] - 1
    # Spectators are not players: the match still has exactly two seats.
    assert set(sam.doc["seats"]) == {"0", "1"}
    for client in (ann, ben, sam, liz):
        await client.close()
    assert "Traceback" not in server.logs()


async def test_a_private_match_needs_its_code_and_a_spectator_can_stop_watching(server: DaphneServer):
    for name in ("ann", "ben", "sam"):
        await sync_to_async(make_user)(name)
    ann, ben, sam = await sign_in(server, "ann"), await sign_in(server, "ben"), await sign_in(server, "sam")
    starts = await start_lobby([ann, ben], "connect_four", {"turn_seconds": 30})
    match_id = starts[0]["match_id"]
    code = (await ann.expect_type("lobby.state"))["lobby"]["code"]

    no_code = await sam.request({"type": "match.spectate", "match_id": match_id})
    assert no_code["type"] == "error" and no_code["code"] == "match/private"
    wrong = "AAAAAA" if code != "AAAAAA" else "BBBBBB"
    assert (await sam.request({"type": "match.spectate", "match_id": match_id, "code": wrong}))["code"] == (
        "match/private"
    )
    unknown = await sam.request({"type": "match.spectate", "match_id": "00000000-0000-4000-8000-000000000000"})
    assert unknown["code"] == "match/not_found"

    assert (await sam.request({"type": "match.spectate", "match_id": match_id, "code": code}))["type"] == "ok"
    snapshot = await sam.expect_type("snapshot")
    assert snapshot["doc"]["game"]["board"] == [[] for _ in range(7)]
    mover = snapshot["doc"]["game"]["turn"]
    (ann if mover == 0 else ben).seq += 1
    await (ann if mover == 0 else ben).send(
        {"type": "match.input", "seq": (ann if mover == 0 else ben).seq, "data": {"col": 3}}
    )
    await sam.expect(lambda m: m["type"] == "delta" and sam.doc["game"]["board"][3] == [mover])

    assert (await sam.request({"type": "match.unspectate"}))["type"] == "ok"
    tick = sam.tick
    await ann.expect(lambda m: m["type"] == "delta" and m["tick"] >= tick + 5)  # the match goes on ...
    stray = []  # ... and sam gets none of it (at most a frame already in flight)
    while True:
        try:
            stray.append(await sam.recv(timeout=0.2))
        except TimeoutError:
            break
    assert not [m for m in stray if m["type"] in ("delta", "snapshot") and m["tick"] > tick + 1]
    again = await sam.request({"type": "match.unspectate"})
    assert again["code"] == "match/not_in_match"
    for client in (ann, ben, sam):  # the players have unread frames: drop their sockets, no close handshake
        client.ws.transport.abort()
    assert "Traceback" not in server.logs()
