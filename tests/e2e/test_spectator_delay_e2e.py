"""End to end: the live match list (socket and HTTP), the spectator count players see, and the
spectator delay measured on real websockets."""

from __future__ import annotations

import asyncio
import json
import statistics
import urllib.request
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model

from lobby.models import Rating
from tests.e2e.accounts import existing_token, make_user
from tests.e2e.server import DaphneServer
from tests.e2e.test_arena_e2e import drive
from tests.e2e.wsclient import WsClient

pytestmark = pytest.mark.e2e

DELAY = 1  # seconds
PERIOD = 1 / 20  # arena ticks


class TimedClient(WsClient):
    """A WsClient that reads its socket all the time and notes when each tick's frame arrived.

    A background task takes every frame off the socket as it comes (stamping the event-loop
    clock), so the arrival times do not depend on when the test gets round to reading."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.arrived: dict[int, float] = {}
        self.ended_at: float | None = None
        self.counts: list[int] = []  # each new spectator count in the document, in order
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.pump = asyncio.get_running_loop().create_task(self._pump())

    async def _pump(self) -> None:
        while True:
            raw = await self.ws.recv()
            now = asyncio.get_running_loop().time()
            msg = self.reader.read(raw)
            if msg is None:
                continue
            if msg["type"] in ("snapshot", "delta"):
                self.arrived.setdefault(msg["tick"], now)
            elif msg["type"] == "match.ended":
                self.ended_at = now
            await self.inbox.put(msg)

    async def recv(self, timeout: float = 10) -> dict[str, Any]:
        msg = await asyncio.wait_for(self.inbox.get(), timeout)
        self._track(msg)
        self.frames.append(msg)
        if msg["type"] in ("snapshot", "delta"):
            count = (self.doc or {}).get("spectators")
            if not self.counts or self.counts[-1] != count:
                self.counts.append(count)
        return msg


async def timed(server: DaphneServer, name: str, codec: str = "msgpack") -> TimedClient:
    client = await TimedClient.open(
        server.ws, token=await existing_token(server, name), origin=server.http, codec=codec
    )
    await client.expect_type("welcome")
    return client


def live_over_http(server: DaphneServer) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{server.http}/api/matches/live", timeout=10) as resp:
        return json.loads(resp.read())["results"]


def rate(name: str, rating: float) -> None:
    user = get_user_model().objects.get(username=name)
    Rating.objects.create(user=user, game="arena", mu=rating + 3, sigma=1, rating=rating)


async def test_live_list_spectator_count_and_a_delay_that_holds(server: DaphneServer):
    for name in ("ann", "ben", "sam", "liz", "zed"):
        await sync_to_async(make_user)(name)
    await sync_to_async(rate)("ann", 21.5)
    ann, ben = await timed(server, "ann"), await timed(server, "ben", codec="json")
    sam, liz, zed = await timed(server, "sam", codec="json"), await timed(server, "liz"), await timed(server, "zed")

    try:
        await zed.send({"type": "match.list.subscribe", "game": "arena"})
        listing = await zed.expect(lambda m: m["type"] in ("match.list", "error"))
        assert listing["type"] == "match.list" and listing["matches"] == []

        created = await ann.request(
            {
                "type": "lobby.create",
                "name": "delayed",
                "game": "arena",
                "options": {"time_seconds": 5, "score_limit": 0},
                "spectator_delay": DELAY,
            }
        )
        assert created["type"] == "ok"
        assert (await ann.expect_type("lobby.state"))["lobby"]["spectator_delay"] == DELAY
        assert (await ben.request({"type": "lobby.join", "code": created["data"]["code"]}))["type"] == "ok"
        for client in (ann, ben):
            assert (await client.request({"type": "lobby.ready", "ready": True}))["type"] == "ok"
        assert (await ann.request({"type": "lobby.start"}))["type"] == "ok"
        match_id = (await ann.expect_type("match.started"))["match_id"]
        await ben.expect_type("match.started")

        upsert = await zed.expect(lambda m: m["type"] == "match.list.update" and m["match_id"] == match_id)
        row = upsert["match"]
        assert upsert["op"] == "upsert" and row["game"] == "arena" and row["spectator_delay"] == DELAY
        assert [(p["user"]["name"], p["rating"]) for p in row["players"]] == [("ann", 21.5), ("ben", None)]

        assert (await sam.request({"type": "match.spectate", "match_id": match_id}))["type"] == "ok"
        watching = await sam.expect_type("match.started")
        assert watching["spectator_delay"] == DELAY
        first = await sam.expect_type("snapshot")
        assert first["tick"] == 0  # the delayed tick: nothing released yet

        players = asyncio.gather(drive(ann, 0), drive(ben, 1))  # (they read the players' sockets from now on)
        counted = await zed.expect(lambda m: m["type"] == "match.list.update" and m["match"]["spectators"] == 1)
        assert counted["match_id"] == match_id

        await sam.expect(lambda m: m["type"] == "delta" and m["tick"] >= 20)
        now_tick = max(ann.arrived)
        assert (await liz.request({"type": "match.spectate", "match_id": match_id}))["type"] == "ok"
        late = await liz.expect_type("snapshot")
        # A late spectator starts at the delayed tick, as far behind the players as everybody else.
        assert now_tick - DELAY / PERIOD - 2 <= late["tick"] <= max(ann.arrived) - DELAY / PERIOD + 1
        await zed.expect(lambda m: m["type"] == "match.list.update" and m["match"]["spectators"] == 2)

        rows = await asyncio.to_thread(live_over_http, server)
        listed = next(r for r in rows if r["match_id"] == match_id)
        assert listed["spectators"] == 2 and listed["elapsed_seconds"] > 0.5
        assert [p["user"]["name"] for p in listed["players"]] == ["ann", "ben"]

        assert (await liz.request({"type": "match.unspectate"}))["type"] == "ok"
        await zed.expect(lambda m: m["type"] == "match.list.update" and m["match"]["spectators"] == 1)

        ended, sam_end = await asyncio.wait_for(asyncio.gather(players, sam.expect_type("match.ended", timeout=30)), 30)
        assert sam_end["outcome"] == ended[0]["outcome"] and sam_end["tick"] == ended[0]["tick"]
        removed = await zed.expect(lambda m: m["type"] == "match.list.update" and m["op"] == "remove")
        assert removed["match_id"] == match_id and removed["match"] is None

        # The delay, measured: every tick reached the spectator DELAY s after the first player, and
        # typically a tick more (frames are released on the match's ticks; 10 ms allowed for the
        # way here). Arrival times are taken in this process, beside the server on a 2-core
        # machine: one tick more of scheduling is allowed on the worst tick (1.080 s was seen once,
        # on a slow VM).
        gaps = []
        for tick in range(1, sam_end["tick"] + 1):
            player_at = min(ann.arrived[tick], ben.arrived[tick])
            gaps.append(sam.arrived[tick] - player_at)
        median = statistics.median(gaps)
        print(f"spectator delay {DELAY}s: gaps min {min(gaps):.4f}s median {median:.4f}s max {max(gaps):.4f}s")
        assert min(gaps) >= DELAY, min(gaps)
        assert median <= DELAY + PERIOD + 0.01, median
        assert max(gaps) <= DELAY + 2 * PERIOD, max(gaps)
        assert sam.ended_at is not None and ann.ended_at is not None and sam.ended_at - ann.ended_at >= DELAY - PERIOD
        assert sam.doc == ann.doc  # the same final document, a second later
        # Players saw the spectators come and go in their documents; spectators are never seats.
        assert ann.counts == ben.counts == [0, 1, 2, 1] and set(ann.doc["seats"]) == {"0", "1"}
    finally:  # (also when an assertion failed: no socket is left for a later test's collector)
        for client in (ann, ben, sam, liz, zed):
            client.pump.cancel()
            client.ws.transport.abort()
    assert "Traceback" not in server.logs()
