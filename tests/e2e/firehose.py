"""A firehose match (tests.support.games.Firehose: 48 kB a tick at 60 Hz) between a client that
reads at full speed and one on a socket that holds little: what the slow-client tests share."""

from __future__ import annotations

import socket
import urllib.request
from pathlib import Path

from websockets.asyncio.client import connect

from tests.e2e.accounts import token_for
from tests.e2e.server import DaphneServer
from tests.e2e.wsclient import WsClient
from tests.support.prometheus import scraped

RATE = 60  # the firehose's ticks a second: 2.9 MB/s per client
METRICS_TOKEN = "metrics-token-of-the-slow-client-tests"  # (the server's METRICS_TOKEN, for `metric`)


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def metric(server: DaphneServer, name: str) -> float:
    """A value from the server's /metrics (started with METRICS_TOKEN)."""
    request = urllib.request.Request(f"{server.http}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as reply:
        return scraped(reply.read().decode(), name)


async def open_slow(server: DaphneServer, token: str) -> WsClient:
    """A socket with a tiny receive buffer (a slow link's stand-in) whose reader keeps one frame ahead at most."""
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


async def firehose_match(server: DaphneServer) -> tuple[WsClient, WsClient]:
    """(fast, slow), seated in one running firehose match; the fast client has had its snapshot."""
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
    await fast.expect_type("snapshot")
    return fast, slow
