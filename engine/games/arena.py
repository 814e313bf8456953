"""Arena: a real-time top-down game for 2–8 players. Run into pickups to score.

Each player is a disc that accelerates towards the direction held (`{"dx": -1|0|1, "dy": -1|0|1}`),
slides along the arena's walls, bounces off four pillars and pushes other players aside. Touching
a pickup scores a point; a new pickup appears at once somewhere free (placed with the match's
seeded RNG, kept in the state). The game ends when the time limit runs out or a player reaches the
score limit (0: no score limit); the best score wins, ties share a place.

Drop rule: a player whose grace period runs out leaves the field (the disc no longer moves,
collides or collects) and keeps the score; dropped players are placed below every player still
in the game. When only one player is left in the game, that player wins (`last_standing`).

The view is the same for everybody (no hidden information). Positions and velocities are ints in
centi-units (1/100 of a world unit) so that a delta carries a few small ints per moving player.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.game import Data, Game, Outcome, Player, Rejected, Viewer
from engine.rng import Rng

WIDTH = 40.0  # world units
HEIGHT = 30.0
RADIUS = 0.6  # a player's disc
PICKUP_RADIUS = 0.4
SPEED = 8.0  # units per second at full speed
ACCEL = 40.0  # units per second², towards the held direction
PILLARS: tuple[tuple[float, float, float], ...] = (
    (WIDTH * 0.3, HEIGHT * 0.3, 1.5),
    (WIDTH * 0.7, HEIGHT * 0.3, 1.5),
    (WIDTH * 0.3, HEIGHT * 0.7, 1.5),
    (WIDTH * 0.7, HEIGHT * 0.7, 1.5),
)
SPAWN_TRIES = 16
DIAGONAL = 1.0 / math.sqrt(2.0)


def _q(value: float) -> int:
    """A world coordinate in centi-units."""
    return round(value * 100)


_SIZE = [_q(WIDTH), _q(HEIGHT)]
_PILLARS = [[_q(x), _q(y), _q(r)] for x, y, r in PILLARS]
_RADIUS = _q(RADIUS)
_PICKUP_RADIUS = _q(PICKUP_RADIUS)


@dataclass(slots=True)
class Body:
    """One player's disc."""

    seat: int
    x: float
    y: float
    vx: float = 0.0
    vy: float = 0.0
    dx: int = 0  # the direction held
    dy: int = 0
    score: int = 0
    active: bool = True  # False once the seat is dropped


@dataclass(slots=True)
class Pickup:
    id: int
    x: float
    y: float


@dataclass(slots=True)
class ArenaState:
    names: list[str]
    bodies: list[Body]  # in seat order
    pickups: list[Pickup]
    rng: Rng
    time_limit: float
    score_limit: int
    started_with: int
    elapsed_ticks: int = 0
    elapsed: float = 0.0
    next_pickup: int = 0
    over: str | None = None  # why the game ended


class Arena(Game[ArenaState]):
    """Top-down arena: velocity movement, circle collisions, pickups, a time and score limit."""

    name = "arena"
    title = "Arena"
    min_players = 2
    max_players = 8
    tick_rate = 20
    grace_seconds = 30.0
    max_inputs_per_tick = 3  # an input is the direction held; the last one of a tick wins

    OPTIONS: Mapping[str, tuple[int, int, int]] = {
        "time_seconds": (5, 900, 120),
        "score_limit": (0, 1000, 25),
        "pickups": (1, 20, 6),
    }

    def options(self, raw: Mapping[str, Any]) -> Data:
        unknown = set(raw) - set(self.OPTIONS)
        if unknown:
            raise ValueError(f"unknown option: {sorted(unknown)[0]}")
        clean: Data = {}
        for key, (low, high, default) in self.OPTIONS.items():
            value = raw.get(key, default)
            if type(value) is not int or not low <= value <= high:
                raise ValueError(f"{key} must be an integer from {low} to {high}")
            clean[key] = value
        return clean

    def setup(self, players: Sequence[Player], options: Mapping[str, Any], seed: int) -> ArenaState:
        opts = {key: options.get(key, default) for key, (_, _, default) in self.OPTIONS.items()}
        ordered = sorted(players, key=lambda p: p.seat)
        bodies = [Body(p.seat, *_spawn_point(i, len(ordered))) for i, p in enumerate(ordered)]
        state = ArenaState(
            names=[p.name for p in ordered],
            bodies=bodies,
            pickups=[],
            rng=Rng(seed),
            time_limit=float(opts["time_seconds"]),
            score_limit=int(opts["score_limit"]),
            started_with=len(ordered),
        )
        for _ in range(int(opts["pickups"])):
            state.pickups.append(_new_pickup(state))
        return state

    def apply(self, state: ArenaState, seat: int, data: Mapping[str, Any]) -> Rejected | None:
        if state.over is not None:
            return Rejected("input/game_over", "the game is over")
        dx, dy = data.get("dx", 0), data.get("dy", 0)
        if type(dx) is not int or type(dy) is not int or dx not in (-1, 0, 1) or dy not in (-1, 0, 1):
            return Rejected("input/invalid", "dx and dy must each be -1, 0 or 1")
        if len(data) > 2 or not set(data) <= {"dx", "dy"}:
            return Rejected("input/invalid", "an arena input has only dx and dy")
        body = _body(state, seat)
        body.dx, body.dy = dx, dy
        return None

    def step(self, state: ArenaState, dt: float) -> None:
        if state.over is not None:
            return
        active = [b for b in state.bodies if b.active]
        for body in active:
            _move(body, dt)
        _separate(active)
        for body in active:
            _collide_static(body)
        _collect(state, active)
        state.elapsed_ticks += 1
        state.elapsed = state.elapsed_ticks * dt
        state.over = _why_over(state, active)

    def drop(self, state: ArenaState, seat: int) -> None:
        body = _body(state, seat)
        body.active = False
        body.vx = body.vy = 0.0
        body.dx = body.dy = 0
        if state.over is None:
            state.over = _why_over(state, [b for b in state.bodies if b.active])

    def view(self, state: ArenaState, viewer: Viewer) -> Data:
        return {
            "names": state.names,
            "size": _SIZE,  # (the same objects every tick: the diff skips them at once)
            "radius": _RADIUS,
            "pickup_radius": _PICKUP_RADIUS,
            "pillars": _PILLARS,
            "time_limit_ms": round(state.time_limit * 1000),
            "score_limit": state.score_limit,
            "elapsed_ds": math.floor(state.elapsed * 10 + 1e-9),  # tenths of a second
            "players": {  # (centi-units as _q gives them, computed inline: the view is built every tick)
                str(b.seat): {
                    "x": round(b.x * 100),
                    "y": round(b.y * 100),
                    "vx": round(b.vx * 100),
                    "vy": round(b.vy * 100),
                    "score": b.score,
                    "on": b.active,
                }
                for b in state.bodies
            },
            "pickups": {str(p.id): [round(p.x * 100), round(p.y * 100)] for p in state.pickups},
            "over": state.over,
        }

    def outcome(self, state: ArenaState) -> Outcome | None:
        if state.over is None:
            return None
        ranked = sorted(state.bodies, key=lambda b: (not b.active, -b.score))
        placements: dict[int, int] = {}
        for i, body in enumerate(ranked):
            prev = ranked[i - 1] if i else None
            same = prev is not None and (prev.active, prev.score) == (body.active, body.score)
            placements[body.seat] = placements[prev.seat] if same and prev else i + 1
        return Outcome(placements, {b.seat: float(b.score) for b in state.bodies}, state.over)


def _body(state: ArenaState, seat: int) -> Body:
    for body in state.bodies:
        if body.seat == seat:
            return body
    raise KeyError(seat)


def _spawn_point(index: int, count: int) -> tuple[float, float]:
    """Players start evenly spaced on an ellipse around the centre."""
    angle = 2 * math.pi * index / max(count, 1)
    return WIDTH / 2 + WIDTH * 0.4 * math.cos(angle), HEIGHT / 2 + HEIGHT * 0.4 * math.sin(angle)


def _approach(v: float, target: float, step: float) -> float:
    if v < target:
        return min(v + step, target)
    return max(v - step, target)


def _move(body: Body, dt: float) -> None:
    scale = SPEED * (DIAGONAL if body.dx and body.dy else 1.0)
    step = ACCEL * dt
    body.vx = _approach(body.vx, body.dx * scale, step)
    body.vy = _approach(body.vy, body.dy * scale, step)
    body.x += body.vx * dt
    body.y += body.vy * dt


def _separate(bodies: list[Body]) -> None:
    """Overlapping players are pushed apart equally along the line between their centres."""
    limit = 2 * RADIUS
    limit_sq = limit * limit
    for i, a in enumerate(bodies):
        for b in bodies[i + 1 :]:
            ox, oy = b.x - a.x, b.y - a.y
            dist_sq = ox * ox + oy * oy
            if dist_sq >= limit_sq:
                continue
            dist = math.sqrt(dist_sq)
            nx, ny = (ox / dist, oy / dist) if dist > 1e-9 else (1.0, 0.0)
            push = (limit - dist) / 2
            a.x, a.y = a.x - nx * push, a.y - ny * push
            b.x, b.y = b.x + nx * push, b.y + ny * push


def _collide_static(body: Body) -> None:
    """Push a player out of the pillars and back inside the walls, stopping motion into them."""
    for px, py, pr in PILLARS:
        ox, oy = body.x - px, body.y - py
        limit = pr + RADIUS
        dist_sq = ox * ox + oy * oy
        if dist_sq >= limit * limit:
            continue
        dist = math.sqrt(dist_sq)
        nx, ny = (ox / dist, oy / dist) if dist > 1e-9 else (1.0, 0.0)
        body.x, body.y = px + nx * limit, py + ny * limit
        into = body.vx * nx + body.vy * ny
        if into < 0:
            body.vx, body.vy = body.vx - into * nx, body.vy - into * ny
    if body.x < RADIUS or body.x > WIDTH - RADIUS:
        body.x = min(max(body.x, RADIUS), WIDTH - RADIUS)
        body.vx = 0.0
    if body.y < RADIUS or body.y > HEIGHT - RADIUS:
        body.y = min(max(body.y, RADIUS), HEIGHT - RADIUS)
        body.vy = 0.0


def _collect(state: ArenaState, bodies: list[Body]) -> None:
    """Each pickup touched goes to the lowest seat touching it and is replaced at once."""
    reach_sq = (RADIUS + PICKUP_RADIUS) ** 2
    for i, pickup in enumerate(state.pickups):
        for body in bodies:
            ox, oy = body.x - pickup.x, body.y - pickup.y
            if ox * ox + oy * oy < reach_sq:
                body.score += 1
                state.pickups[i] = _new_pickup(state)
                break


def _new_pickup(state: ArenaState) -> Pickup:
    """A pickup at a random free spot (clear of pillars and players), from the state's RNG."""
    margin = 1.0
    x = y = 0.0
    for _ in range(SPAWN_TRIES):
        x = state.rng.uniform(margin, WIDTH - margin)
        y = state.rng.uniform(margin, HEIGHT - margin)
        if _free(state, x, y):
            break
    state.next_pickup += 1
    return Pickup(state.next_pickup, x, y)


def _free(state: ArenaState, x: float, y: float) -> bool:
    for px, py, pr in PILLARS:
        if (x - px) ** 2 + (y - py) ** 2 < (pr + PICKUP_RADIUS + 0.2) ** 2:
            return False
    reach_sq = (RADIUS + PICKUP_RADIUS + 0.5) ** 2
    return all((b.x - x) ** 2 + (b.y - y) ** 2 >= reach_sq for b in state.bodies if b.active)


def _why_over(state: ArenaState, active: list[Body]) -> str | None:
    if state.score_limit and any(b.score >= state.score_limit for b in active):
        return "score_limit"
    if state.started_with >= 2 and len(active) == 1:
        return "last_standing"
    if state.elapsed >= state.time_limit - 1e-9:
        return "time_up"
    return None
