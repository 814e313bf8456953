"""Connect four: two players drop discs into a 7×6 grid; four in a row wins.

Turn-based, with a turn timer: a player who lets the timer run out forfeits. A player whose
seat is dropped (grace period over) forfeits too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.game import Data, Game, Outcome, Player, Rejected, Viewer

COLUMNS = 7
ROWS = 6


@dataclass(slots=True)
class C4State:
    names: list[str]
    board: list[list[int]]  # board[col] = discs from the bottom, as seat numbers
    turn: int = 0  # seat to move
    turn_left: float = 30.0  # seconds left on the mover's clock
    turn_seconds: float = 30.0
    moves: int = 0
    winner: int | None = None
    draw: bool = False
    forfeit: int | None = None  # seat that forfeited
    line: list[list[int]] = field(default_factory=list)  # the winning four [col, row]


class ConnectFour(Game[C4State]):
    """Classic connect four with a per-turn clock."""

    name = "connect_four"
    title = "Connect Four"
    min_players = 2
    max_players = 2
    tick_rate = 10
    grace_seconds = 30.0
    max_inputs_per_tick = 1

    def options(self, raw: Mapping[str, Any]) -> Data:
        unknown = set(raw) - {"turn_seconds"}
        if unknown:
            raise ValueError(f"unknown option: {sorted(unknown)[0]}")
        turn_seconds = raw.get("turn_seconds", 30)
        if type(turn_seconds) not in (int, float) or not 3 <= turn_seconds <= 300:
            raise ValueError("turn_seconds must be a number from 3 to 300")
        return {"turn_seconds": float(turn_seconds)}

    def setup(self, players: Sequence[Player], options: Mapping[str, Any], seed: int) -> C4State:
        turn_seconds = float(options.get("turn_seconds", 30.0))
        return C4State(
            names=[p.name for p in sorted(players, key=lambda p: p.seat)],
            board=[[] for _ in range(COLUMNS)],
            turn=seed % 2,  # the seed picks who starts
            turn_left=turn_seconds,
            turn_seconds=turn_seconds,
        )

    def apply(self, state: C4State, seat: int, data: Mapping[str, Any]) -> Rejected | None:
        if self._over(state):
            return Rejected("input/game_over", "the game is over")
        if seat != state.turn:
            return Rejected("input/not_your_turn", "it is not your turn")
        col = data.get("col")
        if type(col) is not int or not 0 <= col < COLUMNS:
            return Rejected("input/invalid", f"col must be an integer from 0 to {COLUMNS - 1}")
        if len(state.board[col]) >= ROWS:
            return Rejected("input/column_full", f"column {col} is full")
        state.board[col].append(seat)
        state.moves += 1
        line = _four_from(state.board, col, len(state.board[col]) - 1)
        if line:
            state.winner, state.line = seat, line
        elif state.moves == COLUMNS * ROWS:
            state.draw = True
        else:
            state.turn = 1 - seat
            state.turn_left = state.turn_seconds
        return None

    def step(self, state: C4State, dt: float) -> None:
        if self._over(state):
            return
        state.turn_left = max(0.0, state.turn_left - dt)
        if state.turn_left <= 0.0:
            state.forfeit = state.turn

    def drop(self, state: C4State, seat: int) -> None:
        if not self._over(state):
            state.forfeit = seat

    def view(self, state: C4State, viewer: Viewer) -> Data:
        return {
            "board": [list(col) for col in state.board],
            "turn": state.turn,
            "turn_left": round(state.turn_left, 1),
            "winner": state.winner,
            "draw": state.draw,
            "forfeit": state.forfeit,
            "line": state.line,
            "names": state.names,
        }

    def outcome(self, state: C4State) -> Outcome | None:
        if state.winner is not None:
            w = state.winner
            return Outcome({w: 1, 1 - w: 2}, {w: 1.0, 1 - w: 0.0}, "four_in_a_row")
        if state.forfeit is not None:
            w = 1 - state.forfeit
            return Outcome({w: 1, state.forfeit: 2}, {w: 1.0, state.forfeit: 0.0}, "forfeit")
        if state.draw:
            return Outcome({0: 1, 1: 1}, {0: 0.5, 1: 0.5}, "draw")
        return None

    @staticmethod
    def _over(state: C4State) -> bool:
        return state.winner is not None or state.draw or state.forfeit is not None


def _four_from(board: list[list[int]], col: int, row: int) -> list[list[int]]:
    """The winning line through (col, row), or [] if there is none."""
    seat = board[col][row]
    for dc, dr in ((1, 0), (0, 1), (1, 1), (1, -1)):
        line = [[col, row]]
        for sign in (1, -1):
            c, r = col + sign * dc, row + sign * dr
            while 0 <= c < COLUMNS and 0 <= r < len(board[c]) and board[c][r] == seat:
                line.append([c, r])
                c, r = c + sign * dc, r + sign * dr
        if len(line) >= 4:
            return sorted(line)[:4] if len(line) == 4 else sorted(line)
    return []
