"""The floor: a bare `websockets` server doing the arena broadcast, nothing else.

No auth, no lobby, no channel layer, no game rules beyond moving discs: per match one asyncio
task ticks at RATE Hz, applies the latest input of each player, encodes the state once with
msgpack in Skirmish's frame shape ({"type": "delta", "tick", "base", "t", "delta"}) and
`websockets.broadcast()`s it to the match's sockets. Compression is off. This is the floor with
the usual websocket library; bench/peers/asyncio_floor.py plays the same match (`FloorMatch`) on
bare asyncio Protocols, the least one Python process can do per frame.

Usage: python -m bench.peers.websockets_floor [port] [rate]
Clients connect to ws://host:port/?match=<m>&seat=<n> (seat -1: spectator) and send msgpack
{"type": "match.input", "seq", "data": {"dx", "dy"}}.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import msgpack
from websockets.asyncio.server import ServerConnection, broadcast, serve

SPEED = 800  # centi-units per second
WIDTH, HEIGHT = 4000, 3000


class FloorMatch:
    """One match: its sockets, its players' held directions, its positions."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self.step = SPEED // rate  # centi-units a held direction moves per tick
        self.sockets: set[Any] = set()
        self.held: dict[int, tuple[int, int]] = {}
        self.pos: dict[int, list[int]] = {}
        self.acks: dict[str, int] = {}
        self.task: asyncio.Task[None] | None = None

    def take_input(self, seat: int, raw: bytes) -> None:
        """A player's msgpack `match.input`: the direction it holds from now on."""
        msg: Any = msgpack.unpackb(raw)
        data = msg.get("data", {})
        self.held[seat] = (int(data.get("dx", 0)), int(data.get("dy", 0)))
        self.acks[str(seat)] = msg.get("seq", 0)

    def frame(self, tick: int) -> bytes:
        """Move the discs one tick; the tick's delta, msgpack-encoded once for every socket."""
        step = self.step
        moved = {}
        for seat, (dx, dy) in self.held.items():
            p = self.pos.setdefault(seat, [200 + 400 * seat, 300])
            p[0] = min(WIDTH, max(0, p[0] + dx * step))
            p[1] = min(HEIGHT, max(0, p[1] + dy * step))
            moved[str(seat)] = {"x": p[0], "y": p[1], "vx": dx * SPEED, "vy": dy * SPEED}
        frame = {
            "type": "delta",
            "tick": tick,
            "base": tick - 1,
            "t": round(time.time() * 1000, 1),
            "delta": {"sub": {"game": {"sub": {"players": {"set": moved}}}, "acks": {"set": dict(self.acks)}}},
        }
        return msgpack.packb(frame)

    def broadcast(self, payload: bytes) -> None:
        broadcast(self.sockets, payload)

    async def run(self) -> None:
        """Tick at a fixed rate on the monotonic clock; broadcast each tick's state."""
        loop = asyncio.get_running_loop()
        period = 1.0 / self.rate
        start = loop.time()
        tick = 0
        while self.sockets:
            tick += 1
            self.broadcast(self.frame(tick))
            delay = start + tick * period - loop.time()
            await asyncio.sleep(max(0.0, delay))


MATCHES: dict[str, FloorMatch] = {}


async def handle(ws: ServerConnection, rate: int) -> None:
    """One socket: join its match (starting the ticker), apply its inputs until it closes."""
    query = parse_qs(urlsplit(ws.request.path).query)
    key = query.get("match", ["0"])[0]
    seat = int(query.get("seat", ["-1"])[0])
    match = MATCHES.get(key)
    if match is None:
        match = MATCHES[key] = FloorMatch(rate)
    match.sockets.add(ws)
    if match.task is None or match.task.done():
        match.task = asyncio.create_task(match.run())
    try:
        async for raw in ws:
            if seat < 0 or not isinstance(raw, bytes):
                continue
            match.take_input(seat, raw)
    finally:
        match.sockets.discard(ws)
        if not match.sockets:
            MATCHES.pop(key, None)


async def main(port: int, rate: int) -> None:
    """Serve until killed."""
    async with serve(lambda ws: handle(ws, rate), "127.0.0.1", port, compression=None, max_queue=64):
        print(f"websockets floor on ws://127.0.0.1:{port} at {rate} Hz", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 8765, int(sys.argv[2]) if len(sys.argv) > 2 else 20))
