"""Re-simulate a match from its seed and input log, to verify or to watch it again.

`Replay` is the sans-IO watcher: it turns wall time (passed in) into replay ticks at 0.5×, 1×, 2×
or 4× speed, with pause, and emits the spectator audience's frames (a full snapshot, then one delta
per tick) exactly as a live spectator receives them. At the last tick it compares the state hash
with the stored one (`verified`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from engine.game import SPECTATOR, Game, Player
from engine.match import Frame, LogEntry, Match

SPEEDS = (0.5, 1.0, 2.0, 4.0)


def log_by_tick(log: Sequence[LogEntry]) -> dict[int, list[LogEntry]]:
    """The log's entries grouped by the tick they belong to (in log order)."""
    by_tick: dict[int, list[LogEntry]] = {}
    for entry in log:
        by_tick.setdefault(int(entry[0]), []).append(entry)
    return by_tick


def resimulate(
    *,
    game: Game[Any],
    players: Sequence[Player],
    options: Mapping[str, Any],
    seed: int,
    log: Sequence[LogEntry],
    ticks: int,
    tick_rate: int | None = None,
) -> Iterator[Match]:
    """Yield the match after each tick, feeding it the logged entries of that tick."""
    match = Match(match_id="replay", game=game, players=players, options=options, seed=seed, tick_rate=tick_rate)
    by_tick = log_by_tick(log)
    for tick in range(ticks):
        match.run_tick(by_tick.get(tick, []))
        yield match


def final_hash(**kwargs: Any) -> str:
    """The state hash after re-simulating every tick (compare with the stored one)."""
    last = None
    for last in resimulate(**kwargs):  # noqa: B007 (we want the match after the last tick)
        continue
    if last is None:
        raise ValueError("a replay needs at least one tick")
    return last.state_hash()


class Replay:
    """Watch a stored match: `start(now)` gives the first snapshot, `due(now)` the frames since."""

    def __init__(
        self,
        *,
        game: Game[Any],
        players: Sequence[Player],
        options: Mapping[str, Any],
        seed: int,
        log: Sequence[LogEntry],
        ticks: int,
        tick_rate: int | None = None,
        final_hash: str | None = None,
    ) -> None:
        self.match = Match(
            match_id="replay", game=game, players=players, options=options, seed=seed, tick_rate=tick_rate
        )
        self.ticks = ticks
        self.final_hash = final_hash
        self.audience = self.match.audience_of(SPECTATOR)
        self._by_tick = log_by_tick(log)
        self.speed = 1.0
        self.paused = False
        self._anchor_now = 0.0
        self._anchor_pos = 0.0  # replay seconds at the anchor

    @property
    def done(self) -> bool:
        """Every stored tick has been replayed."""
        return self.match.tick >= self.ticks

    @property
    def verified(self) -> bool | None:
        """At the end: does the replayed state hash equal the stored one? None before the end."""
        if not self.done or self.final_hash is None:
            return None
        return self.match.state_hash() == self.final_hash

    def position(self, now: float) -> float:
        """Replay time in seconds at wall time `now`."""
        if self.paused:
            return self._anchor_pos
        return self._anchor_pos + (now - self._anchor_now) * self.speed

    def start(self, now: float) -> Frame:
        """Begin at tick 0: the spectators' full snapshot."""
        self._anchor_now, self._anchor_pos = now, 0.0
        return self.match.snapshot(SPECTATOR)

    def set_speed(self, speed: float, now: float) -> None:
        """Change speed (one of SPEEDS) from this moment on."""
        if speed not in SPEEDS:
            raise ValueError(f"speed must be one of {SPEEDS}")
        self._anchor_pos, self._anchor_now, self.speed = self.position(now), now, speed

    def pause(self, now: float) -> None:
        """Hold the replay where it is."""
        self._anchor_pos, self._anchor_now, self.paused = self.position(now), now, True

    def resume(self, now: float) -> None:
        """Go on from where it was paused."""
        self._anchor_now, self.paused = now, False

    def next_at(self, now: float) -> float | None:
        """Wall time when the next tick is due (None when paused or done)."""
        if self.paused or self.done:
            return None
        due_pos = (self.match.tick + 1) * self.match.dt
        return now + max(0.0, due_pos - self.position(now)) / self.speed

    def due(self, now: float) -> list[Frame]:
        """Run the ticks whose time has come; the spectators' delta of each."""
        target = min(self.ticks, int(self.position(now) * self.match.tick_rate + 1e-9))
        frames: list[Frame] = []
        while self.match.tick < target:
            self.match.run_tick(self._by_tick.get(self.match.tick, []))
            frames.extend(f for f in self.match._frames() if f.audience == self.audience)
        return frames
