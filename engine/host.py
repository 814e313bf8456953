"""MatchHost: runs many matches in one asyncio loop, each on a fixed timestep.

The only module of `engine/` that knows asyncio. It talks to the world through the ports it is
handed (ports.py): a clock, a broadcaster and a result sink.

Why the schedule is computed, not slept: tick k of a match is due at t0 + k * period on a
monotonic clock. Sleeping `period` after each tick would add every tick's own run time and the
loop's wake-up lateness, so a 10-minute match would drift by seconds. A tick that starts late is
counted (`late_ticks`); when the loop falls more than MAX_CATCHUP ticks behind, the missed slots
are skipped and counted as `overruns` rather than run in a burst.

Why matches are spread over phases: matches that start together (a burst of lobbies starting, a
worker resuming its matches) would tick in the same loop turn for their whole life, and every
tick due during that turn would start late behind it. A new match's first tick goes to the least
used of the period's PHASES (1 ms apart at 20 Hz), the soonest of those, so at most one period
after it was started.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from engine.game import Data, Outcome, Viewer
from engine.match import Frame, InputRejected, Match, MatchEnded
from engine.ports import Broadcaster, Clock, MonotonicClock, ResultSink

logger = logging.getLogger(__name__)

MAX_CATCHUP = 3
PHASE = 0.001  # seconds between the phases new matches are spread over (the clock's grid)
MAX_PHASES = 100


@dataclass(slots=True)
class Schedule:
    """Which ticks are due when, for one match (pure: time is passed in)."""

    period: float
    t0: float
    max_catchup: int = MAX_CATCHUP
    late_after: float = 0.002  # a tick starting later than this past its slot is late
    slot: int = 0
    late_ticks: int = 0
    overruns: int = 0
    lateness: float = 0.0  # how late the last due slot started (seconds)

    def deadline(self) -> float:
        """When the next tick is due."""
        return self.t0 + self.slot * self.period

    def due(self, now: float) -> int:
        """How many ticks to run now (0 when early); slots beyond the catch-up are skipped."""
        late = now - self.deadline()
        if late < 0:
            return 0
        self.lateness = late
        if late > self.late_after:
            self.late_ticks += 1
        behind = int(late / self.period) + 1
        run = min(behind, self.max_catchup)
        self.overruns += behind - run
        self.slot += behind
        return run


class MatchHost:
    """Hosts matches: start them, route inputs and seat changes, tick them, report results."""

    def __init__(self, broadcaster: Broadcaster, results: ResultSink, clock: Clock | None = None) -> None:
        self.broadcaster = broadcaster
        self.results = results
        self.clock = clock or MonotonicClock()
        self.matches: dict[str, Match] = {}
        self.schedules: dict[str, Schedule] = {}
        self.tick_seconds: dict[str, float] = {}  # last tick's CPU time per match
        self.on_tick: Callable[[Match, float], None] | None = None  # e.g. a metrics hook
        self.on_due: Callable[[float], None] | None = None  # (how late a tick slot started, s)
        self.late_ticks_total = 0
        self.overruns_total = 0
        self.ticks_total = 0
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def start(self, match: Match) -> asyncio.Task[None]:
        """Start ticking a match; returns its task."""
        if match.match_id in self.matches:
            return self._tasks[match.match_id]
        self.matches[match.match_id] = match
        task = asyncio.get_running_loop().create_task(self._run(match), name=f"match-{match.match_id}")
        self._tasks[match.match_id] = task
        return task

    def input(self, match_id: str, seat: int, seq: int, data: Data) -> InputRejected | None:
        """Queue an input; a refusal is returned at once."""
        match = self.matches.get(match_id)
        if match is None:
            return InputRejected(seat, seq, "match/not_found", "no such match is running")
        return match.receive_input(seat, seq, data)

    def join(self, match_id: str, viewer: Viewer) -> Frame | None:
        """A player (seat) or spectator (None) arrives: mark the seat, return a full frame."""
        match = self.matches.get(match_id)
        if match is None:
            return None
        if viewer is None:
            match.spectator_join()
        elif viewer in match.seats:
            match.connect(viewer)
        return match.snapshot(viewer)

    def leave(self, match_id: str, viewer: Viewer) -> None:
        """A player's socket went away (its grace period starts), or a spectator (None) stopped watching."""
        match = self.matches.get(match_id)
        if match is None:
            return
        if viewer is None:
            match.spectator_leave()
        elif viewer in match.seats:
            match.disconnect(viewer)

    def cancel(self, match_id: str) -> None:
        """Stop ticking one match without recording a result (another host took it over)."""
        task = self._tasks.get(match_id)
        if task is not None:
            task.cancel()

    async def gate(self, match: Match) -> None:
        """Awaited before each tick; a subclass may wait here (e.g. until it holds the match's lease)."""

    async def stop(self) -> None:
        """Cancel every match task (process shutdown)."""
        for task in self._tasks.values():
            task.cancel()
        await asyncio.gather(*self._tasks.values(), return_exceptions=True)

    async def _run(self, match: Match) -> None:
        schedule = Schedule(period=match.dt, t0=self._first_tick(match.dt))
        self.schedules[match.match_id] = schedule
        ended: MatchEnded | None = None
        try:
            while ended is None:
                await self.clock.sleep_until(schedule.deadline())
                late, overruns = schedule.late_ticks, schedule.overruns
                due = schedule.due(self.clock.now())
                if self.on_due is not None and due:
                    self.on_due(schedule.lateness)
                self.late_ticks_total += schedule.late_ticks - late
                self.overruns_total += schedule.overruns - overruns
                for _ in range(due):
                    await self.gate(match)
                    ended = await self._tick(match)
                    if ended is not None:
                        break
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("match %s crashed at tick %s", match.match_id, match.tick)
            outcome = Outcome(placements={seat: 1 for seat in match.seats}, reason="error")
            ended = MatchEnded(match.tick, outcome, match.state_hash())
            match.outcome = outcome
        finally:
            self.matches.pop(match.match_id, None)
            self.schedules.pop(match.match_id, None)
            self.tick_seconds.pop(match.match_id, None)
            self._tasks.pop(match.match_id, None)
        await self.results.record(match, ended)

    def _first_tick(self, period: float) -> float:
        """When a new match's first tick is due: the soonest start in the least used phase."""
        phases = max(1, min(MAX_PHASES, round(period / PHASE)))
        width = period / phases

        def phase(moment: float) -> int:
            return round((moment % period) / width) % phases

        used = [0] * phases
        for schedule in self.schedules.values():
            if schedule.period == period:
                used[phase(schedule.t0)] += 1
        now = self.clock.now()
        starts = [self.clock.align(now + k * width) for k in range(phases)]
        return min(starts, key=lambda start: used[phase(start)])  # (min keeps the first, soonest, of a tie)

    async def _tick(self, match: Match) -> MatchEnded | None:
        started = time.perf_counter()
        outbound = match.advance()
        elapsed = time.perf_counter() - started
        self.tick_seconds[match.match_id] = elapsed
        if self.on_tick is not None:
            self.on_tick(match, elapsed)
        self.ticks_total += 1
        await self.broadcaster.publish(match, outbound)
        for item in outbound:
            if isinstance(item, MatchEnded):
                return item
        return None
