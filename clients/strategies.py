"""What a bot does in each game: pure functions from a match view to an input (or None).

connect_four: win now, else block the opponent's win, else avoid handing over a win, else
prefer the centre. Other games get their own function here as they ship.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from typing import Any

COLUMNS = 7
ROWS = 6
CENTRE_ORDER = [3, 2, 4, 1, 5, 0, 6]


def _wins(board: list[list[int]], col: int, seat: int) -> bool:
    """Would dropping a disc of `seat` into `col` make four in a row?"""
    row = len(board[col])
    if row >= ROWS:
        return False
    cells = {(c, r): s for c, column in enumerate(board) for r, s in enumerate(column)}
    cells[(col, row)] = seat
    for dc, dr in ((1, 0), (0, 1), (1, 1), (1, -1)):
        run = 1
        for sign in (1, -1):
            c, r = col + sign * dc, row + sign * dr
            while cells.get((c, r)) == seat:
                run += 1
                c, r = c + sign * dc, r + sign * dr
        if run >= 4:
            return True
    return False


def connect_four_column(game: dict[str, Any], seat: int, rng: random.Random | None = None) -> int | None:
    """The column a sensible player of `seat` drops into, or None if it is not its turn."""
    board: list[list[int]] = game["board"]
    over = game.get("winner") is not None or game.get("draw") or game.get("forfeit") is not None
    if over or game.get("turn") != seat:
        return None
    other = 1 - seat
    free = [c for c in CENTRE_ORDER if len(board[c]) < ROWS]
    if not free:
        return None
    for col in free:
        if _wins(board, col, seat):
            return col
    for col in free:
        if _wins(board, col, other):
            return col

    def gives_away(col: int) -> bool:
        above = [list(column) for column in board]
        above[col].append(seat)
        return _wins(above, col, other)

    safe = [c for c in free if not gives_away(c)] or free
    if rng is not None and len(safe) > 1 and rng.random() < 0.25:
        return rng.choice(safe[:3])
    return safe[0]


DIRECTIONS = [(dx, dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1) if dx or dy]


def arena_move(game: dict[str, Any], seat: int) -> dict[str, int] | None:
    """Head for the nearest pickup, steering round the pillars: {"dx", "dy"} each in -1, 0, 1."""
    me = (game.get("players") or {}).get(str(seat))
    if me is None or not me.get("on", True) or game.get("over"):
        return None
    x, y = me["x"], me["y"]
    pickups = [tuple(xy) for xy in (game.get("pickups") or {}).values()]
    if not pickups:
        return {"dx": 0, "dy": 0}
    tx, ty = min(pickups, key=lambda t: math.hypot(t[0] - x, t[1] - y))
    radius = game.get("radius", 60)
    step = 150  # look 1.5 units ahead (centi-units)

    def cost(direction: tuple[int, int]) -> float:
        dx, dy = direction
        norm = math.hypot(dx, dy)
        nx, ny = x + dx / norm * step, y + dy / norm * step
        blocked = any(math.hypot(nx - px, ny - py) < pr + radius for px, py, pr in game.get("pillars") or [])
        return math.hypot(tx - nx, ty - ny) + (10_000 if blocked else 0)

    if math.hypot(tx - x, ty - y) < radius:
        return {"dx": 0, "dy": 0}
    dx, dy = min(DIRECTIONS, key=cost)
    return {"dx": dx, "dy": dy}


STRATEGIES: dict[str, Callable[..., Any]] = {
    "connect_four": connect_four_column,
    "arena": arena_move,
}
