"""Replays over the protocol: one socket watches a finished match re-simulated from its stored inputs.

A `ReplaySession` drives an `engine.replay.Replay` on the event loop's clock: a full snapshot of the
spectator view at tick 0, then one delta per replayed tick at 0.5×, 1×, 2× or 4× the match's speed,
held while paused. At the last tick the re-simulated state hash is compared with the stored one:
equal, the stored outcome goes out as `match.ended` (with the hash); not, a `replay/mismatch` error.
Each viewer has their own speed, so a replay's frames are encoded per socket.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel

from engine.game import Player
from engine.games import GAMES
from engine.replay import Replay
from game_server import protocol as p
from game_server.engine_bridge import frame_message

logger = logging.getLogger(__name__)

Send = Callable[[BaseModel], Awaitable[None]]


class ReplaySession:
    """A stored match replayed to one socket: `run()` until the end, `control()` to change speed or pause."""

    def __init__(self, source: dict[str, Any], speed: float, send: Send) -> None:
        self.source = source
        self.send = send
        self.replay = Replay(
            game=GAMES[source["game"]],
            players=[Player(seat=pl["seat"], name=pl["user"]["name"]) for pl in source["players"]],
            options=source["options"],
            seed=source["seed"],
            log=source["input_log"],
            ticks=source["ticks"],
            tick_rate=source["tick_rate"],
            final_hash=source["final_hash"],
        )
        self._loop = asyncio.get_running_loop()
        self.replay.set_speed(speed, self._loop.time())
        self._wake = asyncio.Event()

    def state(self) -> p.ReplayState:
        """Where the replay is now."""
        return p.ReplayState(
            match_id=self.source["match_id"],
            tick=self.replay.match.tick,
            ticks=self.replay.ticks,
            speed=self.replay.speed,
            paused=self.replay.paused,
        )

    def control(self, *, speed: float | None, paused: bool | None) -> None:
        """Change speed and/or pause or resume, from now on."""
        now = self._loop.time()
        if speed is not None:
            self.replay.set_speed(speed, now)
        if paused is True and not self.replay.paused:
            self.replay.pause(now)
        elif paused is False and self.replay.paused:
            self.replay.resume(now)
        self._wake.set()

    async def run(self) -> None:
        """Send the snapshot, the deltas on time, then the end (or a mismatch error)."""
        await self.send(frame_message(self.replay.start(self._loop.time())))
        while not self.replay.done:
            for frame in self.replay.due(self._loop.time()):
                await self.send(frame_message(frame))
            if self.replay.done:
                break
            at = self.replay.next_at(self._loop.time())
            timeout = None if at is None else max(0.0, at - self._loop.time())
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout)
            except TimeoutError:
                pass
        await self.finish()

    async def finish(self) -> None:
        """The stored outcome once the re-simulation reproduced the stored hash; else say so."""
        state_hash = self.replay.match.state_hash()
        if not self.replay.verified:
            logger.warning(
                "replay of %s: hash %s, stored %s", self.source["match_id"], state_hash, self.source["final_hash"]
            )
            await self.send(
                p.Error(
                    code=p.ErrorCode.REPLAY_MISMATCH,
                    message="re-simulating this match did not reproduce its stored result",
                )
            )
            return
        outcome = self.source["outcome"]
        await self.send(
            p.MatchEndedMessage(
                match_id=self.source["match_id"],
                tick=self.replay.match.tick,
                outcome=p.OutcomeInfo(
                    placements=outcome["placements"],
                    scores=outcome["scores"],
                    reason=outcome["reason"],
                    winners=outcome["winners"],
                ),
                state_hash=state_hash,
            )
        )
