"""End to end: finished matches replayed over real websockets at every speed, with pause, hash verified."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from lobby.models import Match
from tests.e2e.server import DaphneServer
from tests.e2e.test_arena_e2e import make_user, sign_in, start_lobby
from tests.e2e.wsclient import WsClient

pytestmark = pytest.mark.e2e


async def play_connect_four(ann: WsClient, ben: WsClient, sam: WsClient, match_id: str) -> dict[str, Any]:
    """Seat 0 stacks column 0, seat 1 column 1, until the first mover has four; sam spectates. The end frame."""
    assert (await sam.request({"type": "match.spectate", "match_id": match_id}))["type"] == "ok"
    await sam.expect_type("snapshot")
    clients = {0: ann, 1: ben}
    for client in clients.values():
        await client.expect(lambda m, c=client: m["type"] in ("snapshot", "delta") and c.doc is not None)
    while True:
        turn = ann.doc["game"]["turn"]
        mover = clients[turn]
        moves = sum(len(col) for col in mover.doc["game"]["board"])
        await mover.input({"col": turn})
        msg = await ann.expect(
            lambda m, n=moves: (
                m["type"] == "match.ended" or (m["type"] == "delta" and sum(map(len, ann.doc["game"]["board"])) > n)
            )
        )
        if msg["type"] == "match.ended":
            return msg


async def replay(client: WsClient, match_id: str, speed: float) -> tuple[dict[str, Any], float, list[dict[str, Any]]]:
    """Watch a replay to its end: (the match.ended frame, seconds it took, the frames after the snapshot)."""
    loop = asyncio.get_running_loop()
    client.doc, client.tick = None, -1  # a new stream starts at tick 0
    began = loop.time()
    ok = await client.request({"type": "match.replay", "match_id": match_id, "speed": speed})
    assert ok["type"] == "ok" and ok["data"]["match_id"] == match_id, ok
    started = await client.expect_type("match.started")
    assert started["replay"] is True and started["seat"] is None
    state = await client.expect_type("match.replay.state")
    assert state["speed"] == speed and state["tick"] == 0 and not state["paused"]
    snapshot = await client.expect_type("snapshot")
    assert snapshot["tick"] == 0
    mark = len(client.frames)
    end = await client.expect(lambda m: m["type"] in ("match.ended", "error"), timeout=30)
    return end, loop.time() - began, client.frames[mark:]


async def test_a_finished_match_replays_to_its_stored_hash_and_outcome_at_every_speed(server: DaphneServer):
    for name in ("ann", "ben", "sam", "vic"):
        await sync_to_async(make_user)(name)
    ann, ben = await sign_in(server, "ann"), await sign_in(server, "ben", codec="json")
    sam, vic = await sign_in(server, "sam"), await sign_in(server, "vic", codec="json")
    starts = await start_lobby([ann, ben], "connect_four", {"turn_seconds": 30}, private=False)
    match_id = starts[0]["match_id"]
    live_end = await asyncio.wait_for(play_connect_four(ann, ben, sam, match_id), 30)
    spectator_end = await sam.expect_type("match.ended")
    live_doc = sam.doc
    assert live_end["outcome"]["reason"] == "four_in_a_row" and live_end["outcome"]["winners"] in ([0], [1])
    stored = await sync_to_async(Match.objects.get)(pk=match_id)
    assert stored.status == "finished" and live_end["state_hash"] == stored.final_hash == spectator_end["state_hash"]
    seconds = stored.ticks / stored.tick_rate

    for speed in (0.5, 1, 2, 4):
        end, took, frames = await replay(vic, match_id, speed)
        assert end["type"] == "match.ended", end
        assert end["state_hash"] == stored.final_hash  # re-simulated on the server, compared with the stored one
        assert end["outcome"] == live_end["outcome"] and end["tick"] == stored.ticks
        deltas = [f["tick"] for f in frames if f["type"] == "delta"]
        assert deltas == list(range(1, stored.ticks + 1))  # one delta per tick, in order
        # The spectator view rebuilt from the replay is the live spectator's final document.
        assert vic.doc["game"] == live_doc["game"] and vic.doc["acks"] == live_doc["acks"]
        assert seconds / speed - 0.15 <= took <= seconds / speed + 1.0, (speed, took)

    for client in (ann, ben, sam, vic):
        await client.close()
    assert "Traceback" not in server.logs()


async def test_a_paused_replay_holds_its_frames_and_a_tampered_result_is_reported(server: DaphneServer):
    for name in ("ann", "ben", "sam", "vic"):
        await sync_to_async(make_user)(name)
    ann, ben, sam, vic = [await sign_in(server, n) for n in ("ann", "ben", "sam", "vic")]
    starts = await start_lobby([ann, ben], "connect_four", {"turn_seconds": 30}, private=False)
    match_id = starts[0]["match_id"]
    await asyncio.wait_for(play_connect_four(ann, ben, sam, match_id), 30)
    stored = await sync_to_async(Match.objects.get)(pk=match_id)

    assert (await vic.request({"type": "match.replay", "match_id": match_id, "speed": 0.5}))["type"] == "ok"
    await vic.expect(lambda m: m["type"] == "delta" and m["tick"] >= 2)
    paused = await vic.request({"type": "match.replay.control", "paused": True})
    assert paused["type"] == "ok"
    state = await vic.expect(lambda m: m["type"] == "match.replay.state" and m["paused"])
    held_at = state["tick"]
    stray = []
    while True:  # nothing comes while paused (a frame already in flight at most)
        try:
            stray.append(await vic.recv(timeout=0.6))
        except TimeoutError:
            break
    assert not [m for m in stray if m["type"] == "delta" and m["tick"] > held_at]
    assert (await vic.request({"type": "match.replay.control", "paused": False, "speed": 4}))["type"] == "ok"
    end = await vic.expect(lambda m: m["type"] in ("match.ended", "error"), timeout=30)
    assert end["type"] == "match.ended" and end["state_hash"] == stored.final_hash
    assert vic.tick == stored.ticks
    again = await vic.request({"type": "match.replay.control", "paused": True})
    assert again["code"] == "replay/not_replaying"

    wrong_speed = await vic.request({"type": "match.replay", "match_id": match_id, "speed": 3})
    assert wrong_speed["code"] == "protocol/invalid"
    missing = await vic.request({"type": "match.replay", "match_id": "00000000-0000-4000-8000-000000000000"})
    assert missing["code"] == "replay/not_found"

    await sync_to_async(Match.objects.filter(pk=match_id).update)(final_hash="0000000000000000")
    assert (await vic.request({"type": "match.replay", "match_id": match_id, "speed": 4}))["type"] == "ok"
    mismatch = await vic.expect(lambda m: m["type"] in ("match.ended", "error"), timeout=30)
    assert mismatch["type"] == "error" and mismatch["code"] == "replay/mismatch"
    for client in (ann, ben, sam, vic):
        await client.close()
