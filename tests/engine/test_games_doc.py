"""The worked example in docs/games.md runs: the game in it plays a whole match through the engine."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from engine.game import SPECTATOR, Player
from engine.match import Frame, Match, MatchEnded
from engine.replay import final_hash

DOC = Path(__file__).resolve().parents[2] / "docs" / "games.md"


def example_game() -> Any:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    source = next(b for b in blocks if "class RockPaperScissors" in b)
    namespace: dict[str, Any] = {}
    exec(compile(source, str(DOC), "exec"), namespace)  # the documented code, as written
    return namespace["RockPaperScissors"]()


def test_the_documented_game_plays_a_match_and_replays():
    game = example_game()
    options = game.options({"best_of": 3})
    match = Match(match_id="rps", game=game, players=[Player(0, "a"), Player(1, "b")], options=options, seed=1)
    picks = {0: ["rock", "rock", "paper"], 1: ["scissors", "paper", "rock"]}
    ended = None
    for rnd in range(3):
        match.receive_input(0, rnd + 1, {"pick": picks[0][rnd]})
        out = match.advance()
        seat_frames = {f.audience: f for f in out if isinstance(f, Frame)}
        if rnd == 0:  # seat 0 has picked: only seat 0's document holds the pick
            assert match.snapshot(0).body["game"]["mine"] == "rock"
            assert match.snapshot(1).body["game"]["mine"] is None
            assert "rock" not in str(match.snapshot(SPECTATOR).body) and "rock" not in str(seat_frames[1].body)
        match.receive_input(1, rnd + 1, {"pick": picks[1][rnd]})
        out = match.advance()
        ended = next((o for o in out if isinstance(o, MatchEnded)), None)
    assert ended is not None and ended.outcome.winners == [0] and ended.outcome.reason == "best_of"
    replayed = final_hash(
        game=game, players=[Player(0, "a"), Player(1, "b")], options=options, seed=1, log=match.log, ticks=match.tick
    )
    assert replayed == ended.state_hash
