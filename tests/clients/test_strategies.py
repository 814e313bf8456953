"""The bots' game sense, without sockets: win when you can, block when you must, chase pickups."""

from __future__ import annotations

from clients.strategies import arena_move, connect_four_column


def c4(board: list[list[int]], turn: int) -> dict:
    return {"board": board, "turn": turn, "winner": None, "draw": False, "forfeit": None}


def test_connect_four_takes_the_win():
    board = [[0, 0, 0], [1, 1], [1], [], [], [], []]
    assert connect_four_column(c4(board, 0), 0) == 0


def test_connect_four_blocks_the_opponents_win():
    board = [[], [1], [1], [1], [0], [0], []]
    assert connect_four_column(c4(board, 0), 0) == 0  # 1 threatens 0-1-2-3 on the bottom row


def test_connect_four_does_not_hand_over_a_win_and_waits_its_turn():
    # 1 would win at (3, 1) with a row 0-1-2-3 at height 1; playing column 3 lets it.
    board = [[1, 1], [0, 1], [0, 1], [], [1], [], []]
    assert connect_four_column(c4(board, 0), 0) != 3
    assert connect_four_column(c4(board, 1), 0) is None


def test_arena_heads_for_the_nearest_pickup_round_pillars():
    game = {
        "players": {"0": {"x": 1000, "y": 1500, "on": True}},
        "pickups": {"1": [3000, 1500], "2": [1000, 2800]},
        "pillars": [[1200, 900, 150]],
        "radius": 60,
        "over": None,
    }
    assert arena_move(game, 0) == {"dx": 0, "dy": 1}
    game["pickups"] = {"1": [1000, 100]}  # straight up is blocked by nothing: go up
    assert arena_move(game, 0) == {"dx": 0, "dy": -1}
    game["pillars"] = [[1000, 1300, 150]]  # now a pillar sits in the way: steer round it
    around = arena_move(game, 0)
    assert around is not None and around["dx"] != 0 and around["dy"] <= 0
    game["over"] = "time_up"
    assert arena_move(game, 0) is None
