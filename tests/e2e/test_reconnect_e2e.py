"""End to end: a player's socket dies mid-match; a new socket within the grace period plays on."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from lobby.models import Match
from tests.e2e.accounts import existing_token, make_user
from tests.e2e.server import DaphneServer
from tests.e2e.test_arena_e2e import sign_in, start_lobby
from tests.e2e.wsclient import WsClient

pytestmark = pytest.mark.e2e


async def until(client: WsClient, cond: Callable[[dict[str, Any]], bool], timeout: float = 10) -> int:
    """Read frames until the client's delta-built document satisfies `cond`; its tick then."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while client.doc is None or not cond(client.doc):
        client.backlog.append(await client.recv(max(0.01, deadline - loop.time())))
    return client.tick


def seats_set(delta: dict[str, Any]) -> dict[str, Any]:
    """The seat statuses a delta frame changes."""
    return delta["delta"].get("sub", {}).get("seats", {}).get("set", {})


async def test_a_killed_socket_reopened_within_the_grace_period_gets_a_snapshot_and_plays_on(server: DaphneServer):
    await sync_to_async(make_user)("ada")
    await sync_to_async(make_user)("bo")
    ada = await sign_in(server, "ada")
    bo_token = await existing_token(server, "bo")
    bo = await sign_in(server, "bo", codec="json", token=bo_token)
    starts = await start_lobby([ada, bo], "arena", {"time_seconds": 6, "score_limit": 0})
    match_id = starts[0]["match_id"]
    assert starts[1]["seat"] == 1

    await bo.expect(lambda m: m["type"] == "delta" and m["tick"] >= 5)
    assert await bo.input({"dx": 1, "dy": 0}) == 1
    await until(bo, lambda doc: doc["acks"]["1"] == 1)
    bo.ws.transport.abort()  # the socket dies: no close frame

    away = await ada.expect(lambda m: m["type"] == "delta" and seats_set(m).get("1") == "away")
    killed_at = away["tick"]

    again = await sign_in(server, "bo", codec="msgpack", token=bo_token)  # a new socket, same user
    resumed = await again.expect_type("match.started")
    assert (resumed["match_id"], resumed["seat"]) == (match_id, 1)
    snapshot = await again.expect_type("snapshot")
    assert snapshot["tick"] >= killed_at
    # The snapshot is the document of its tick; the seat shows as connected from the next tick on.
    assert await until(again, lambda doc: doc["seats"]["1"] == "connected") > snapshot["tick"]
    assert snapshot["doc"]["acks"]["1"] == 1  # the seat remembers the last input applied
    assert snapshot["doc"]["game"]["players"]["1"]["on"] is True

    again.seq = snapshot["doc"]["acks"]["1"]  # carry on from the acknowledged sequence number
    seq = await again.input({"dx": -1, "dy": -1})
    applied = await until(again, lambda doc: doc["acks"]["1"] == seq)
    assert applied > snapshot["tick"]
    await until(again, lambda doc: doc["game"]["players"]["1"]["vy"] < 0)  # the input moves the disc
    back = await ada.expect(
        lambda m: m["type"] == "delta" and m["tick"] > killed_at and seats_set(m).get("1") == "connected"
    )
    assert ada.doc is not None and back["tick"] <= ada.tick
    await until(ada, lambda doc: doc["acks"]["1"] == seq)

    ended = await asyncio.wait_for(again.expect_type("match.ended", timeout=20), 25)
    assert ended["outcome"]["reason"] == "time_up"  # not a forfeit: the seat was never given up
    assert (await ada.expect_type("match.ended"))["outcome"] == ended["outcome"]
    match = await sync_to_async(Match.objects.get)(pk=match_id)
    assert match.status == "finished" and match.reason == "time_up"
    assert not any(entry[2] == "drop" for entry in match.input_log)
    assert [e[1:4] for e in match.input_log if e[1] == 1] == [[1, "input", 1], [1, "input", 2]]
    await ada.close()
    await again.close()
    assert "Traceback" not in server.logs()
