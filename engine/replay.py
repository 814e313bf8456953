"""Re-simulate a match from its seed and input log, to verify or to watch it again."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from engine.game import Game, Player
from engine.match import LogEntry, Match


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
    by_tick: dict[int, list[LogEntry]] = {}
    for entry in log:
        by_tick.setdefault(int(entry[0]), []).append(entry)
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
