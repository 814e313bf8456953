"""The servers the load generator can drive: Skirmish, the bare `websockets` floor, Colyseus.

Each target knows how to seat one match (connect its players and spectators, start it), how to
encode an input, and how to read the tick number (and, for sampled clients, the server's tick
time `t`) from a state frame. Everything else (pacing, inputs, counting) is shared.

Reading frames is cheap by design: every client peeks the tick number from the first bytes of a
frame; only sampled clients decode the whole frame (msgpack) to get `t`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import struct
import typing
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import msgpack

from clients.loadtest.wire import WsClient, connect
from game_server import protocol as p

_F64LE = struct.Struct("<d")
_U32LE = struct.Struct("<I")
_F64BE = struct.Struct(">d")


class SetupFailed(Exception):
    """A match could not be seated (connect refused, a request answered with an error...)."""


@dataclass(slots=True)
class Client:
    """One simulated socket and what it counted."""

    index: int
    seat: int | None  # None: spectator
    sampled: bool
    ws: WsClient | None = None
    live: bool = False  # in the match: frames are counted, not queued
    inbox: list[Any] = field(default_factory=list)
    waiters: list[tuple[Callable[[Any], bool], asyncio.Future[Any]]] = field(default_factory=list)
    seq: int = 0
    dx: int = 0
    dy: int = 0
    # counters (filled while live)
    window: tuple[float, float] = (0.0, 0.0)  # receive-time window (s) for bytes and frames
    ticks: list[int] = field(default_factory=list)  # tick of every frame received near the window
    lat: list[tuple[int, float]] = field(default_factory=list)  # sampled: (tick, latency ms)
    clock: list[tuple[int, float]] = field(default_factory=list)  # sampled: (tick, server t ms)
    frames_in_window: int = 0
    bytes_in_window: int = 0
    undecoded: int = 0
    errors: int = 0
    error_codes: dict[str, int] = field(default_factory=dict)  # sampled: error frames by code
    reader: p.FrameReader = field(default_factory=p.FrameReader)  # compact deltas need the snapshot's keys
    closed_code: int = 0

    def deliver(self, message: Any) -> None:
        """Setup mode: keep a decoded message and wake whoever waits for it."""
        self.inbox.append(message)
        for pred, fut in list(self.waiters):
            if not fut.done() and pred(message):
                fut.set_result(message)
                self.waiters.remove((pred, fut))

    async def wait(self, pred: Callable[[Any], bool], timeout: float = 20.0) -> Any:
        """The first message (already received or coming) that matches `pred`."""
        for message in self.inbox:
            if pred(message):
                return message
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.waiters.append((pred, fut))
        try:
            return await asyncio.wait_for(fut, timeout)
        except TimeoutError:
            raise SetupFailed(f"client {self.index}: timed out waiting ({self.inbox[-1:]!r})") from None

    def closed(self, code: int) -> None:
        """The socket went away."""
        self.closed_code = code
        for _, fut in self.waiters:
            if not fut.done():
                fut.set_exception(SetupFailed(f"client {self.index}: socket closed with {code}"))
        self.waiters.clear()

    def count(self, tick: int, t: float | None, size: int, now: float) -> None:
        """Live mode: account one state frame."""
        w0, w1 = self.window
        if w0 - 2.0 <= now <= w1 + 2.0:
            self.ticks.append(tick)
            if t is not None:
                self.clock.append((tick, t))
                self.lat.append((tick, now * 1000.0 - t))
            if w0 <= now <= w1:
                self.frames_in_window += 1
                self.bytes_in_window += size


def _peek_tick(buf: bytes, start: int) -> int | None:
    """The `tick` of a msgpack {"type", "tick", ...} frame or of a compact delta [tick, ...]
    (protocol.frames), read in place; None otherwise."""
    if 0x93 <= buf[start] <= 0x95:  # a fixarray of 3 to 5 items: a compact delta
        pos = start + 1
    elif buf[start + 1 : start + 6] == b"\xa4type":
        pos = start + 7 + (buf[start + 6] & 0x1F)
        if buf[pos : pos + 5] != b"\xa4tick":
            return None
        pos += 5
    else:
        return None
    b = buf[pos]
    if b < 0x80:
        return b
    if b == 0xCC:
        return buf[pos + 1]
    if b == 0xCD:
        return int.from_bytes(buf[pos + 1 : pos + 3], "big")
    if b == 0xCE:
        return int.from_bytes(buf[pos + 1 : pos + 5], "big")
    return None


def _http_json(url: str, body: dict[str, Any], headers: dict[str, str] | None = None) -> tuple[int, Any]:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as err:
        try:
            return err.code, json.loads(err.read() or b"{}")
        except ValueError:
            return err.code, {}


class Target:
    """How to seat a match on one kind of server and read its frames."""

    name = "?"
    spectators_supported = True

    def __init__(self, url: str, rate: int, match_seconds: int) -> None:
        parts = urlsplit(url)
        self.url = url.rstrip("/")
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.rate = rate
        self.match_seconds = match_seconds

    async def prepare(self, users: int) -> None:
        """Once per process before any match (e.g. credentials)."""

    async def seat_match(self, m: int, clients: list[Client], pace: Callable[[], Any]) -> None:
        """Connect the clients of match `m` and start it; frames then flow to `Client.count`."""
        raise NotImplementedError

    def input_frame(self, client: Client) -> bytes:
        """The payload of the client's next input."""
        raise NotImplementedError

    def handler(self, client: Client) -> Callable[[bytes, int, int, int, float], None]:
        """The frame handler for one client (setup: decode and queue; live: count)."""
        raise NotImplementedError


class MsgpackFrames(Target):
    """Targets whose state frames are Skirmish msgpack {"type", "tick", ..., "t", ...} maps."""

    def handler(self, client: Client) -> Callable[[bytes, int, int, int, float], None]:
        def on_frame(buf: bytes, start: int, end: int, opcode: int, now: float) -> None:
            size = end - start + (2 if end - start < 126 else 4)
            if client.live and not client.sampled:
                tick = _peek_tick(buf, start)
                if tick is not None:
                    client.count(tick, None, size, now)
                    return
            try:
                msg = client.reader.read(buf[start:end])
                if msg is None:  # a compact delta before the first snapshot: its tick and t will do
                    tick, t = msgpack.unpackb(buf[start:end], strict_map_key=False)[:2]
                    msg = {"type": "delta", "tick": tick, "t": t}
            except ValueError:
                client.undecoded += 1
                return
            kind = msg.get("type") if isinstance(msg, dict) else None
            if client.live and kind in ("delta", "snapshot"):
                client.count(msg["tick"], msg["t"], size, now)
            elif client.live:
                if kind == "error":
                    client.errors += 1
                    code = str(msg.get("code"))
                    client.error_codes[code] = client.error_codes.get(code, 0) + 1
                client.deliver(msg)
            else:
                client.deliver(msg)
                if kind in ("delta", "snapshot"):
                    client.live = True

        return on_frame

    def input_frame(self, client: Client) -> bytes:
        client.seq += 1
        return msgpack.packb({"type": "match.input", "seq": client.seq, "data": {"dx": client.dx, "dy": client.dy}})


def _client_types() -> set[str]:
    models = typing.get_args(typing.get_args(p.ClientMessage)[0])
    return {typing.get_args(m.model_fields["type"].annotation)[0] for m in models}


class SkirmishTarget(MsgpackFrames):
    """A Skirmish server: token auth, lobby.create -> join by code -> ready -> start."""

    name = "skirmish"

    def __init__(self, url: str, rate: int, match_seconds: int, tokens: dict[str, str], prefix: str) -> None:
        super().__init__(url, rate, match_seconds)
        self.tokens = tokens
        self.prefix = prefix
        self.spectators_supported = "match.spectate" in _client_types()
        self.game = "arena"
        self.rids = itertools.count(1)

    def username(self, index: int) -> str:
        """The account of client `index`."""
        return f"{self.prefix}{index:05d}"

    def password(self) -> str:
        """The shared password of the load-test accounts."""
        return f"Skirmish-load-{self.prefix}-9x!"

    def credentials(self, index: int) -> str:
        """A token for client `index`: cached, or register (if needed) and sign in over HTTP."""
        name = self.username(index)
        if name in self.tokens:
            return self.tokens[name]
        status, _ = _http_json(f"{self.url}/api/auth/register", {"username": name, "password": self.password()})
        if status not in (201, 409):
            raise SetupFailed(f"register {name}: HTTP {status}")
        status, body = _http_json(f"{self.url}/api/auth/token", {"username": name, "password": self.password()})
        if status != 200:
            raise SetupFailed(f"token {name}: HTTP {status} {body}")
        self.tokens[name] = body["token"]
        return body["token"]

    async def prepare(self, users: int) -> None:
        missing = [i for i in range(users) if self.username(i) not in self.tokens]
        sem = asyncio.Semaphore(4)

        async def one(i: int) -> None:
            async with sem:
                await asyncio.to_thread(self.credentials, i)

        await asyncio.gather(*(one(i) for i in missing))

    async def request(self, client: Client, message: dict[str, Any]) -> dict[str, Any]:
        """Send a request and await its `ok` (SetupFailed on `error`)."""
        rid = next(self.rids)
        assert client.ws is not None
        client.ws.send(msgpack.packb({**message, "rid": rid}))
        reply = await client.wait(lambda m: isinstance(m, dict) and m.get("rid") == rid and m.get("type") != "pong")
        if reply.get("type") == "error":
            raise SetupFailed(f"{message['type']}: {reply.get('code')} {reply.get('message')}")
        return reply

    async def open(self, client: Client) -> None:
        """Connect one client with its token; leave any lobby a previous run left it in."""
        token = await asyncio.to_thread(self.credentials, client.index)
        headers = {
            "Origin": self.url,
            "Authorization": f"Bearer {token}",
            "Sec-WebSocket-Protocol": p.MSGPACK,
        }
        client.ws, _ = await connect(self.host, self.port, "/ws/", headers, self.handler(client))
        client.ws.on_close = client.closed
        welcome = await client.wait(lambda m: isinstance(m, dict) and m.get("type") == "welcome")
        if self.game not in welcome.get("games", []):
            self.game = "connect_four"
        await asyncio.sleep(0.05)  # a restored lobby.state follows the welcome at once
        if any(isinstance(m, dict) and m.get("type") == "lobby.state" for m in client.inbox):
            await self.request(client, {"type": "lobby.leave"})
        client.inbox.clear()

    async def seat_match(self, m: int, clients: list[Client], pace: Callable[[], Any]) -> None:
        players = [c for c in clients if c.seat is not None]
        for c in players:
            await pace()
            await self.open(c)
        host, *others = players
        options = {"time_seconds": min(900, self.match_seconds), "score_limit": 0} if self.game == "arena" else {}
        created = await self.request(
            host,
            {
                "type": "lobby.create",
                "name": f"load {m}",
                "game": self.game,
                "max_players": len(players),
                "private": True,
                "options": options,
            },
        )
        for c in others:
            await self.request(c, {"type": "lobby.join", "code": created["data"]["code"]})
        for c in players:
            await self.request(c, {"type": "lobby.ready", "ready": True})
        started = await self.request(host, {"type": "lobby.start"})
        match_id = started["data"]["match_id"]
        for c in players:
            await c.wait(lambda msg: isinstance(msg, dict) and msg.get("type") in ("snapshot", "delta"))
        for c in clients:
            if c.seat is None and self.spectators_supported:
                await pace()
                await self.open(c)
                code = created["data"]["code"]
                await self.request(c, {"type": "match.spectate", "match_id": match_id, "code": code})
                await c.wait(lambda msg: isinstance(msg, dict) and msg.get("type") in ("snapshot", "delta"))


class FloorTarget(MsgpackFrames):
    """The bare `websockets` broadcast server (bench/peers/websockets_floor.py): no auth, no lobby."""

    name = "websockets"

    async def seat_match(self, m: int, clients: list[Client], pace: Callable[[], Any]) -> None:
        for c in clients:
            await pace()
            seat = -1 if c.seat is None else c.seat
            c.ws, _ = await connect(self.host, self.port, f"/?match={m}&seat={seat}", {}, self.handler(c))
            c.ws.on_close = c.closed
        for c in clients:
            await c.wait(lambda msg: isinstance(msg, dict) and msg.get("type") in ("snapshot", "delta"))


class ColyseusTarget(Target):
    """A Colyseus 0.18 server (bench/peers/colyseus): HTTP seat reservation, then the room socket.

    The room keeps `tick` (uint32) and `t` (float64) as the root schema's fields 0 and 1, changed
    every tick, so a patch either starts with `80 <u32 LE> 81 <f64 LE>` (the root first) or ends
    with `ff 00 80 <u32 LE> 81 <f64 LE>` (a switch back to the root after other structures).
    Clients read those bytes; none decodes the rest of the schema.
    """

    name = "colyseus"

    def handler(self, client: Client) -> Callable[[bytes, int, int, int, float], None]:
        def on_frame(buf: bytes, start: int, end: int, opcode: int, now: float) -> None:
            size = end - start + (2 if end - start < 126 else 4)
            code = buf[start] & 0x1F
            if client.live:
                if code != 15:
                    return
                if end - start >= 15 and buf[start + 1] == 0x80 and buf[start + 6] == 0x81:
                    at = start + 2  # the root changed first: no switch marker
                elif end - start >= 17 and buf[end - 16] == 0xFF and buf[end - 15] == 0 and buf[end - 14] == 0x80:
                    at = end - 13  # the root changed after other structures
                else:
                    client.undecoded += 1
                    return
                tick = _U32LE.unpack_from(buf, at)[0]
                t = _F64LE.unpack_from(buf, at + 5)[0] if client.sampled else None
                client.count(tick, t, size, now)
                return
            client.deliver(code)
            if code == 14:
                client.live = True

        return on_frame

    def input_frame(self, client: Client) -> bytes:
        client.seq += 1
        return b"\x0d\xa5input" + msgpack.packb({"dx": client.dx, "dy": client.dy})

    async def seat_match(self, m: int, clients: list[Client], pace: Callable[[], Any]) -> None:
        room_id = ""
        for c in clients:
            await pace()
            body = {"spectator": c.seat is None}
            if not room_id:
                status, res = await asyncio.to_thread(_http_json, f"{self.url}/matchmake/create/arena", body)
            else:
                status, res = await asyncio.to_thread(_http_json, f"{self.url}/matchmake/joinById/{room_id}", body)
            if status != 200 or "sessionId" not in res:
                raise SetupFailed(f"matchmake: HTTP {status} {res}")
            room_id = res["roomId"]
            path = f"/{res['processId']}/{room_id}?sessionId={res['sessionId']}"
            c.ws, _ = await connect(self.host, self.port, path, {}, self.handler(c))
            c.ws.on_close = c.closed
            await c.wait(lambda code: code == 10)
            c.ws.send(b"\x0a")  # JOIN_ROOM ack: the server then sends the full state
            await c.wait(lambda code: code == 14)
