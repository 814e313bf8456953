"""The ports the engine is handed: a clock, a broadcaster and a result sink.

Each is a small Protocol. The host (game_server.engine_bridge) supplies channel-layer and ORM
adapters; tests supply in-memory ones.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from engine.match import Match, MatchEnded, Outbound


class Clock(Protocol):
    """Monotonic time in seconds, and a way to wait for a moment."""

    def now(self) -> float: ...

    async def sleep_until(self, deadline: float) -> None: ...


class Broadcaster(Protocol):
    """Sends what a tick produced to the match's audiences."""

    async def publish(self, match: Match, outbound: Sequence[Outbound]) -> None: ...


class ResultSink(Protocol):
    """Stores a finished match's result, exactly once."""

    async def record(self, match: Match, ended: MatchEnded) -> None: ...


class MonotonicClock:
    """The real clock: time.monotonic and asyncio sleeps."""

    def now(self) -> float:
        return time.monotonic()

    async def sleep_until(self, deadline: float) -> None:
        delay = deadline - time.monotonic()
        await asyncio.sleep(delay if delay > 0 else 0)
