"""A small websocket test client: real sockets, the real codecs, deltas applied."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from typing import Any

import msgpack
from websockets.asyncio.client import ClientConnection, connect

from engine.delta import patch
from game_server import protocol as p


def http_json(url: str, body: dict[str, Any], method: str = "POST", token: str | None = None) -> tuple[int, Any]:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


class WsClient:
    """One player's socket: send requests, await frames by type, track the match document."""

    def __init__(self, ws: ClientConnection, binary: bool) -> None:
        self.ws = ws
        self.binary = binary
        self.rid = 0
        self.seq = 0
        self.doc: dict[str, Any] | None = None
        self.tick = -1
        self.frames: list[dict[str, Any]] = []
        self.backlog: list[dict[str, Any]] = []
        self.reader = p.FrameReader()

    @classmethod
    async def open(cls, url: str, *, token: str, origin: str, codec: str = "msgpack") -> WsClient:
        ws = await connect(
            url,
            subprotocols=[f"skirmish.v1.{codec}"],
            additional_headers={"Authorization": f"Bearer {token}"},
            origin=origin,
            max_size=2**20,
        )
        return cls(ws, codec == "msgpack")

    async def send(self, message: dict[str, Any]) -> int:
        self.rid += 1
        message = {"rid": self.rid, **message}
        await self.ws.send(msgpack.packb(message) if self.binary else json.dumps(message))
        return self.rid

    async def request(self, message: dict[str, Any], timeout: float = 10) -> dict[str, Any]:
        rid = await self.send(message)
        reply = await self.expect(lambda m: m.get("rid") == rid and m["type"] in ("ok", "error", "lobby.list"), timeout)
        return reply

    async def input(self, data: dict[str, Any]) -> int:
        self.seq += 1
        await self.send({"type": "match.input", "seq": self.seq, "data": data})
        return self.seq

    async def recv(self, timeout: float = 10) -> dict[str, Any]:
        msg = None
        while msg is None:  # (None: a delta before the first snapshot)
            msg = self.reader.read(await asyncio.wait_for(self.ws.recv(), timeout))
        self._track(msg)
        self.frames.append(msg)
        return msg

    async def expect(self, pred: Any, timeout: float = 10) -> dict[str, Any]:
        """The next frame matching `pred` (earlier unmatched frames are kept in the backlog)."""
        for i, msg in enumerate(self.backlog):
            if pred(msg):
                return self.backlog.pop(i)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            msg = await self.recv(max(0.01, deadline - loop.time()))
            if pred(msg):
                return msg
            self.backlog.append(msg)

    async def expect_type(self, kind: str, timeout: float = 10) -> dict[str, Any]:
        return await self.expect(lambda m: m["type"] == kind, timeout)

    def _track(self, msg: dict[str, Any]) -> None:
        if msg["type"] == "snapshot":
            if msg["tick"] >= self.tick:
                self.doc, self.tick = msg["doc"], msg["tick"]
        elif msg["type"] == "delta" and self.doc is not None and msg["base"] == self.tick:
            self.doc, self.tick = patch(self.doc, msg["delta"]), msg["tick"]

    async def close(self) -> None:
        await self.ws.close()
