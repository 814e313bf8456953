"""Latency and loss simulation for development: a bad network on localhost.

`NETSIM=latency_ms=80,jitter_ms=20,loss=0.05` delays every frame the server sends by 80 ms ± 20 ms
(uniform) and drops 5 % of the droppable ones, so a game developer can watch prediction,
interpolation and resyncs work without leaving their machine. Off by default; the settings refuse
it when DEBUG is off.

What is simulated, and why so:
- Frames leave in the order they were sent: a websocket runs over TCP, so real jitter delays
  the frames behind a late one instead of reordering them. A frame is due at
  max(now + latency ± jitter, the previous frame's due time).
- Only droppable frames are lost: the tick deltas (`droppable` in `ProtocolConsumer.send_raw`).
  TCP itself never loses a frame; what a client does see on a bad link is a missing tick (the
  server drops deltas for a socket that is behind), and it must resync. Replies, errors,
  snapshots and lobby messages are only delayed, as the real server never drops them.
- Inbound frames (client -> server) are not delayed; the round trip is the outbound delay.
- Closing the socket is not delayed: frames still queued are lost, as on a real drop.
"""

from __future__ import annotations

import asyncio
import random
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

FIELDS = ("latency_ms", "jitter_ms", "loss")


@dataclass(frozen=True, slots=True)
class NetSim:
    """How bad the simulated network is."""

    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    loss: float = 0.0

    def delay(self, rng: random.Random) -> float:
        """One frame's delay in seconds (never negative)."""
        jitter = rng.uniform(-self.jitter_ms, self.jitter_ms) if self.jitter_ms else 0.0
        return max(0.0, self.latency_ms + jitter) / 1000


def parse(raw: str) -> NetSim | None:
    """`latency_ms=80,jitter_ms=20,loss=0.05` -> NetSim; "" -> None; ValueError with the reason."""
    if not raw.strip():
        return None
    values: dict[str, float] = {}
    for part in raw.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep or key not in FIELDS:
            raise ValueError(f"expected {', '.join(f + '=<number>' for f in FIELDS)} (comma-separated), not {part!r}")
        try:
            values[key] = float(value)
        except ValueError:
            raise ValueError(f"{key} must be a number, not {value!r}") from None
    sim = NetSim(**values)
    if not 0 <= sim.latency_ms <= 10_000 or not 0 <= sim.jitter_ms <= 10_000:
        raise ValueError("latency_ms and jitter_ms must be from 0 to 10000")
    if not 0 <= sim.loss <= 1:
        raise ValueError("loss must be a share from 0 to 1")
    return sim


class Link:
    """One socket's simulated link: frames leave in order, each when due; droppable ones may be lost."""

    def __init__(
        self,
        sim: NetSim,
        send: Callable[[dict[str, Any]], Awaitable[None]],
        *,
        is_closed: Callable[[], bool] = lambda: False,
        rng: random.Random | None = None,
    ) -> None:
        self.sim = sim
        self.send = send
        self.is_closed = is_closed
        self.rng = rng or random.Random()
        self.queue: deque[tuple[float, dict[str, Any]]] = deque()
        self.last_due = 0.0
        self.sent = 0
        self.dropped = 0
        self.task: asyncio.Task[None] | None = None

    def submit(self, message: dict[str, Any], *, droppable: bool = False) -> bool:
        """Queue one outgoing frame; False if the simulated loss took it."""
        if droppable and self.sim.loss and self.rng.random() < self.sim.loss:
            self.dropped += 1
            return False
        loop = asyncio.get_running_loop()
        due = max(loop.time() + self.sim.delay(self.rng), self.last_due)
        self.last_due = due
        self.queue.append((due, message))
        if self.task is None or self.task.done():
            self.task = loop.create_task(self._drain(), name="netsim-link")
        return True

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        while self.queue:
            due, message = self.queue[0]
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            self.queue.popleft()
            if self.is_closed():
                self.queue.clear()
                return
            await self.send(message)
            self.sent += 1


def submit(consumer: Any, sim: NetSim, message: dict[str, Any], *, droppable: bool) -> None:
    """Send a consumer's frame through its simulated link (created on first use)."""
    link: Link | None = getattr(consumer, "_netsim_link", None)
    if link is None or link.sim != sim:
        link = Link(sim, consumer.send, is_closed=lambda: bool(getattr(consumer, "closed", False)))
        consumer._netsim_link = link
    link.submit(message, droppable=droppable)
