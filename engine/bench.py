"""The engine benchmark: CPU time per tick of the arena, and bytes per snapshot and delta.

    python -m engine.bench            (or: python -m engine bench)
    python -m engine.bench --ticks 2000 --players 2,8,32

Bots hold a direction and change it now and then (about twice a second, sending an input each
time), so every player is moving in a typical tick. A tick is `Match.advance()`: inputs, the
game step, the view and the delta. Sizes are the msgpack bytes of the frames as the server sends
them (`{"type", "tick", "t", "doc"}` and `{"type", "tick", "base", "t", "delta"}`), computed by
`packed_size`, an exact msgpack length count written here so the engine imports no codec.
"""

from __future__ import annotations

import argparse
import statistics
import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from engine.game import Player
from engine.games.arena import Arena
from engine.match import Frame, Match
from engine.rng import Rng

TURN_CHANCE = 0.1  # per player per tick: at 20 Hz, a new direction about every half second


def _int_size(n: int) -> int:
    if 0 <= n < 128 or -32 <= n < 0:
        return 1
    if 0 <= n < 1 << 8 or -(1 << 7) <= n < 0:
        return 2
    if 0 <= n < 1 << 16 or -(1 << 15) <= n < 0:
        return 3
    if 0 <= n < 1 << 32 or -(1 << 31) <= n < 0:
        return 5
    return 9


def _len_header(n: int, fix_limit: int, small: bool = False) -> int:
    if n < fix_limit:
        return 1
    if small and n < 1 << 8:
        return 2
    return 3 if n < 1 << 16 else 5


def packed_size(obj: Any) -> int:
    """The length of `msgpack.packb(obj, use_bin_type=True)`, without msgpack."""
    if obj is None or obj is True or obj is False:
        return 1
    if isinstance(obj, int):
        return _int_size(obj)
    if isinstance(obj, float):
        return 9  # msgpack-python packs Python floats as float64
    if isinstance(obj, str):
        n = len(obj.encode("utf-8"))
        return _len_header(n, 32, small=True) + n
    if isinstance(obj, bytes):
        return (2 if len(obj) < 1 << 8 else 3 if len(obj) < 1 << 16 else 5) + len(obj)
    if isinstance(obj, list | tuple):
        return _len_header(len(obj), 16) + sum(packed_size(v) for v in obj)
    if isinstance(obj, dict):
        return _len_header(len(obj), 16) + sum(packed_size(k) + packed_size(v) for k, v in obj.items())
    raise TypeError(f"cannot size {type(obj).__name__}")


def frame_size(frame: Frame) -> int:
    """The msgpack size of an engine frame as the wire message that carries it."""
    t = struct.unpack("d", struct.pack("d", time.time() * 1000))[0]
    if frame.full:
        return packed_size({"type": "snapshot", "tick": frame.tick, "t": t, "doc": frame.body})
    return packed_size({"type": "delta", "tick": frame.tick, "base": frame.base, "t": t, "delta": frame.body})


@dataclass(frozen=True, slots=True)
class Result:
    """One benchmark row."""

    players: int
    ticks: int
    cpu_us_per_tick: float
    wall_us_p50: float
    wall_us_p99: float
    full_bytes: int
    delta_bytes_median: int
    delta_bytes_max: int

    @property
    def delta_ratio(self) -> float:
        """Median delta size as a fraction of the full snapshot."""
        return self.delta_bytes_median / self.full_bytes


def arena_match(players: int, seed: int = 7) -> Match:
    """An arena match with `players` seats (the bench goes past the lobby's 8), all connected."""
    game = Arena()
    match = Match(
        match_id=f"bench-{players}",
        game=game,
        players=[Player(i, f"bot{i}") for i in range(players)],
        options=game.options({"time_seconds": 900, "score_limit": 0}),
        seed=seed,
    )
    for seat in match.seats:
        match.connect(seat)
    return match


def run(players: int, ticks: int = 2000, warmup: int = 200) -> Result:
    """Tick an arena match with bots and measure it."""
    match = arena_match(players)
    bots = Rng(players)
    seqs = dict.fromkeys(match.seats, 0)
    walls: list[float] = []
    deltas: list[int] = []
    cpu = 0.0
    for k in range(warmup + ticks):
        for seat in match.seats:
            if k == 0 or bots.random() < TURN_CHANCE:
                seqs[seat] += 1
                match.receive_input(seat, seqs[seat], {"dx": bots.randint(-1, 1), "dy": bots.randint(-1, 1)})
        c0, w0 = time.process_time(), time.perf_counter()
        out = match.advance()
        w1, c1 = time.perf_counter(), time.process_time()
        if k >= warmup:
            cpu += c1 - c0
            walls.append(w1 - w0)
            deltas.extend(frame_size(f) for f in out if isinstance(f, Frame))
    full = frame_size(match.snapshot(None))
    walls.sort()
    return Result(
        players=players,
        ticks=ticks,
        cpu_us_per_tick=cpu / ticks * 1e6,
        wall_us_p50=walls[len(walls) // 2] * 1e6,
        wall_us_p99=walls[int(len(walls) * 0.99)] * 1e6,
        full_bytes=full,
        delta_bytes_median=int(statistics.median(deltas)),
        delta_bytes_max=max(deltas),
    )


def table(results: Sequence[Result]) -> str:
    """The results as a Markdown table."""
    lines = [
        "| players | ticks | CPU µs/tick (mean) | wall µs/tick p50 | p99 | full snapshot B | delta B median | max "
        "| delta/full |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.players} | {r.ticks} | {r.cpu_us_per_tick:.1f} | {r.wall_us_p50:.1f} | {r.wall_us_p99:.1f} "
            f"| {r.full_bytes} | {r.delta_bytes_median} | {r.delta_bytes_max} | {r.delta_ratio:.0%} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the arena benchmark and print a Markdown table."""
    parser = argparse.ArgumentParser(prog="python -m engine.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--ticks", type=int, default=2000)
    parser.add_argument("--players", default="2,8,32", help="comma-separated player counts")
    args = parser.parse_args(argv)
    results = [run(int(n), args.ticks) for n in args.players.split(",")]
    print(table(results))


if __name__ == "__main__":
    main()
