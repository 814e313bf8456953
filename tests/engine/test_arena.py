"""The arena's rules: options, movement, collisions, pickups, limits, the drop rule, the view."""

from __future__ import annotations

import math

import pytest

from engine.game import Player, Rejected
from engine.games import GAMES
from engine.games.arena import HEIGHT, PILLARS, RADIUS, SPEED, WIDTH, Arena, ArenaState, Pickup
from engine.match import Match

DT = 1 / 20


def new_state(players: int = 2, seed: int = 1, **options: int) -> ArenaState:
    game = Arena()
    return game.setup([Player(i, f"p{i}") for i in range(players)], game.options(options), seed)


def steps(state: ArenaState, n: int) -> None:
    for _ in range(n):
        Arena().step(state, DT)


def test_arena_is_registered_for_two_to_eight_players():
    game = GAMES["arena"]
    assert isinstance(game, Arena)
    assert (game.min_players, game.max_players, game.tick_rate) == (2, 8, 20)


def test_options_are_completed_and_validated():
    game = Arena()
    assert game.options({}) == {"time_seconds": 120, "score_limit": 25, "pickups": 6}
    assert game.options({"time_seconds": 5, "score_limit": 0})["time_seconds"] == 5
    for bad in ({"time_seconds": 4}, {"time_seconds": 1.5}, {"score_limit": -1}, {"pickups": 0}, {"speed": 3}):
        with pytest.raises(ValueError):
            game.options(bad)
    with pytest.raises(ValueError):
        game.options({"time_seconds": True})


def test_inputs_must_be_directions():
    state = new_state()
    game = Arena()
    assert game.apply(state, 0, {"dx": 1, "dy": -1}) is None
    for bad in ({"dx": 2}, {"dx": 0.5}, {"dy": True}, {"dx": "1"}, {"dx": 1, "fire": 1}):
        result = game.apply(state, 0, bad)
        assert isinstance(result, Rejected) and result.code == "input/invalid"
    assert (state.bodies[0].dx, state.bodies[0].dy) == (1, -1)


def test_a_held_direction_accelerates_to_full_speed_and_moves():
    state = new_state()
    body = state.bodies[0]
    body.x, body.y = 5.0, 5.0
    Arena().apply(state, 0, {"dx": 0, "dy": 1})
    steps(state, 1)
    assert 0 < body.vy < SPEED
    steps(state, 10)
    assert body.vy == SPEED and body.vx == 0
    assert body.y > 5.0 + SPEED * DT * 5
    Arena().apply(state, 0, {"dx": 1, "dy": 1})
    steps(state, 20)
    assert math.hypot(body.vx, body.vy) == pytest.approx(SPEED)


def test_walls_stop_a_player():
    state = new_state()
    body = state.bodies[0]
    Arena().apply(state, 0, {"dx": 1, "dy": 0})
    steps(state, 200)
    assert body.x == WIDTH - RADIUS and body.vx == 0.0
    assert 0 < body.y < HEIGHT


def test_pillars_are_solid():
    state = new_state()
    body = state.bodies[0]
    px, py, pr = PILLARS[0]
    body.x, body.y = px - pr - 3, py
    Arena().apply(state, 0, {"dx": 1, "dy": 0})
    steps(state, 40)
    assert math.hypot(body.x - px, body.y - py) >= pr + RADIUS - 1e-9
    assert body.x < px


def test_players_push_each_other_apart():
    state = new_state()
    a, b = state.bodies
    a.x, a.y, b.x, b.y = 19.0, 15.0, 20.5, 15.0
    Arena().apply(state, 0, {"dx": 1, "dy": 0})
    Arena().apply(state, 1, {"dx": -1, "dy": 0})
    for _ in range(30):
        steps(state, 1)
        assert math.hypot(a.x - b.x, a.y - b.y) >= 2 * RADIUS - 1e-9
    assert a.x < b.x


def test_touching_a_pickup_scores_and_a_new_one_appears():
    state = new_state(pickups=1)
    body = state.bodies[0]
    state.pickups[0] = Pickup(99, body.x + 2.0, body.y)
    Arena().apply(state, 0, {"dx": 1, "dy": 0})
    steps(state, 20)
    assert body.score == 1
    assert len(state.pickups) == 1 and state.pickups[0].id != 99


def test_pickups_come_from_the_seeded_rng():
    assert [(p.x, p.y) for p in new_state(seed=5).pickups] == [(p.x, p.y) for p in new_state(seed=5).pickups]
    assert [(p.x, p.y) for p in new_state(seed=5).pickups] != [(p.x, p.y) for p in new_state(seed=6).pickups]


def test_time_limit_ends_the_game_best_score_first():
    state = new_state(players=3, time_seconds=5)
    state.bodies[0].score, state.bodies[1].score, state.bodies[2].score = 2, 4, 2
    game = Arena()
    for _ in range(99):
        game.step(state, DT)
        assert game.outcome(state) is None
    game.step(state, DT)
    outcome = game.outcome(state)
    assert outcome is not None and outcome.reason == "time_up"
    assert outcome.placements == {1: 1, 0: 2, 2: 2}
    assert outcome.scores == {0: 2.0, 1: 4.0, 2: 2.0}
    assert outcome.winners == [1]


def test_score_limit_ends_the_game():
    state = new_state(score_limit=3)
    state.bodies[1].score = 3
    steps(state, 1)
    outcome = Arena().outcome(state)
    assert outcome is not None and outcome.reason == "score_limit" and outcome.winners == [1]


def test_a_dropped_player_leaves_the_field_and_places_last():
    state = new_state(players=3)
    game = Arena()
    state.bodies[0].score = 9
    game.apply(state, 0, {"dx": 1, "dy": 0})
    steps(state, 2)
    game.drop(state, 0)
    x, y = state.bodies[0].x, state.bodies[0].y
    steps(state, 10)
    assert (state.bodies[0].x, state.bodies[0].y) == (x, y)
    assert game.view(state, None)["players"]["0"]["on"] is False
    assert game.outcome(state) is None
    game.drop(state, 1)
    outcome = game.outcome(state)
    assert outcome is not None and outcome.reason == "last_standing"
    assert outcome.winners == [2]
    assert outcome.placements[0] == 2 and outcome.placements[1] == 3


def test_drop_after_grace_through_the_match():
    game = Arena()
    match = Match(
        match_id="m", game=game, players=[Player(0, "a"), Player(1, "b")], options={}, seed=3, grace_seconds=1
    )
    match.connect(0)
    match.connect(1)
    match.disconnect(1)
    ended = None
    for _ in range(25):
        for item in match.advance():
            ended = ended or (item if type(item).__name__ == "MatchEnded" else None)
    assert ended is not None
    assert ended.outcome.reason == "last_standing" and ended.outcome.winners == [0]
    assert list(match.log[-1][1:3]) == [1, "drop"]


def test_the_view_holds_small_ints():
    state = new_state(players=8)
    steps(state, 3)
    view = Arena().view(state, None)
    assert set(view["players"]) == {str(i) for i in range(8)}
    for player in view["players"].values():
        assert all(type(player[k]) is int for k in ("x", "y", "vx", "vy", "score"))
    assert all(type(c) is int for p in view["pickups"].values() for c in p)
    assert view["size"] == [4000, 3000]
    assert Arena().view(state, 0) == view  # no hidden information
