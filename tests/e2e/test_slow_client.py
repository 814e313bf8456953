"""A client that stops reading: the server drops its deltas, closes it, and stays flat in memory."""

from __future__ import annotations

import asyncio
import socket
import time
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.e2e.server import DaphneServer
from tests.e2e.server import test_database_url as database_url
from tests.e2e.wsclient import WsClient, http_json

pytestmark = pytest.mark.e2e


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


async def token_for(server: DaphneServer, name: str) -> str:
    await sync_to_async(get_user_model().objects.create_user)(username=name, password="correct horse battery")
    status, body = await asyncio.to_thread(
        http_json, f"{server.http}/api/auth/token", {"username": name, "password": "correct horse battery"}
    )
    assert status == 200
    return body["token"]


async def open_slow(server: DaphneServer, token: str) -> WsClient:
    """A socket with a tiny receive buffer whose reader gives up after one queued frame."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", server.port))
    ws = await connect(
        server.ws,
        sock=sock,
        subprotocols=["skirmish.v1.msgpack"],
        origin=server.http,
        additional_headers={"Authorization": f"Bearer {token}"},
        max_queue=1,
        max_size=2**22,
    )
    return WsClient(ws, binary=True)


async def test_slow_client_is_cut_off_and_memory_stays_flat(transactional_db, tmp_path):
    server = DaphneServer(
        database_url=database_url(),
        log_path=tmp_path / "daphne.log",
        env={"EXTRA_GAMES": "tests.support.games:Firehose", "SLOW_CLIENT_SECONDS": "2"},
    )
    server.start()
    try:
        fast_token, slow_token = await token_for(server, "fast"), await token_for(server, "slow")
        fast = await WsClient.open(server.ws, token=fast_token, origin=server.http)
        slow = await open_slow(server, slow_token)
        await fast.expect_type("welcome")
        await slow.expect_type("welcome")
        created = await fast.request({"type": "lobby.create", "name": "hose", "game": "firehose"})
        await slow.request({"type": "lobby.join", "code": created["data"]["code"]})
        for client in (fast, slow):
            assert (await client.request({"type": "lobby.ready", "ready": True}))["type"] == "ok"
        assert (await fast.request({"type": "lobby.start"}))["type"] == "ok"
        await slow.expect_type("match.started")
        # From here the slow client reads nothing at all.
        await fast.expect_type("snapshot")
        for _ in range(30):
            await fast.expect_type("delta")
        baseline = rss_bytes(server.proc.pid)

        start, last_tick, gaps, deltas = time.monotonic(), fast.tick, 0, 0
        while time.monotonic() - start < 10:
            msg = await fast.expect(lambda m: m["type"] in ("delta", "snapshot"))
            if msg["type"] == "delta":
                deltas += 1
                gaps += msg["base"] != last_tick
            last_tick = msg["tick"]
        grown = rss_bytes(server.proc.pid) - baseline
        print(f"server RSS grew {grown / 2**20:.1f} MiB; {deltas} deltas, {gaps} gaps")

        assert gaps == 0, "the fast client missed ticks"
        assert deltas > 450  # ~60 Hz for 10 s, on a busy 2-core machine
        assert grown < 5 * 2**20, f"server memory grew by {grown / 2**20:.1f} MiB"
        assert "closing a socket that stayed" in server.logs()
        with pytest.raises(ConnectionClosed):
            while True:  # what was buffered, then the end of the connection
                await asyncio.wait_for(slow.ws.recv(), 10)
        await fast.close()
    finally:
        server.stop()
    assert "Traceback" not in server.logs()
