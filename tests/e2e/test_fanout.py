"""End to end: tick frames written straight to the sockets (FANOUT=direct) arrive whole and in order."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from tests.e2e.server import DaphneServer
from tests.e2e.server import test_database_url as database_url
from tests.e2e.test_arena_e2e import drive, make_user, sign_in, start_lobby
from tests.e2e.wsclient import WsClient

pytestmark = pytest.mark.e2e

RACED_END = ("match/not_found", "match/ended")


@pytest.fixture
def direct_server(transactional_db, tmp_path) -> Iterator[DaphneServer]:
    """A daphne process with direct fan-out asked for explicitly (whatever the default)."""
    proc = DaphneServer(database_url=database_url(), log_path=tmp_path / "daphne.log", env={"FANOUT": "direct"})
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


def chain(frames: list[dict[str, Any]]) -> list[int]:
    """The ticks of a socket's match frames, checked: a snapshot first, then every delta on the tick before."""
    ticks = [f for f in frames if f["type"] in ("snapshot", "delta")]
    assert ticks and ticks[0]["type"] == "snapshot", [f["type"] for f in frames[:5]]
    for before, after in zip(ticks, ticks[1:], strict=False):
        if after["type"] == "delta":
            assert after["base"] == before["tick"], (before["type"], before["tick"], after["base"], after["tick"])
        else:
            assert after["tick"] >= before["tick"]
    return [f["tick"] for f in ticks]


async def test_two_players_and_a_spectator_get_every_tick_in_order(direct_server: DaphneServer) -> None:
    server = direct_server
    for name in ("ann", "ben", "sam"):
        await sync_to_async(make_user)(name)
    ann, ben = await sign_in(server, "ann"), await sign_in(server, "ben", codec="json")
    sam = await sign_in(server, "sam", codec="json")
    starts = await start_lobby([ann, ben], "arena", {"time_seconds": 5, "score_limit": 0}, private=False)
    match_id = starts[0]["match_id"]
    assert (await sam.request({"type": "match.spectate", "match_id": match_id}))["type"] == "ok"
    await sam.expect_type("match.started")

    async def watch(client: WsClient) -> dict[str, Any]:
        return await client.expect_type("match.ended", timeout=30)

    try:
        ended, sam_end = await asyncio.wait_for(
            asyncio.gather(asyncio.gather(drive(ann, 0), drive(ben, 1)), watch(sam)), 40
        )
        for client, end in ((ann, ended[0]), (ben, ended[1]), (sam, sam_end)):
            # (an input may race the end: drive() allows those two errors, nothing else)
            assert all(f["code"] in RACED_END for f in client.frames if f["type"] == "error")
            frames = [f for f in client.frames if f["type"] in ("snapshot", "delta", "match.ended")]
            assert frames[-1]["type"] == "match.ended"  # the end comes after the last tick frame
            ticks = chain(frames)
            assert ticks[-1] == end["tick"] == client.tick  # every delta applied: nothing to resync
            deltas = sum(1 for f in frames if f["type"] == "delta")
            assert deltas >= 80  # 5 s at 20 Hz: the frames really streamed (text and binary frames)
        assert ann.doc == ben.doc == sam.doc and ann.doc is not None and ann.doc["game"]["over"] == "time_up"
        assert "Traceback" not in server.logs()
    finally:
        for client in (ann, ben, sam):
            await client.close()
