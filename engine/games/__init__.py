"""The registry of games: name -> game instance. Register a new game here."""

from __future__ import annotations

from typing import Any

from engine.game import Game
from engine.games.arena import Arena
from engine.games.connect_four import ConnectFour

GAMES: dict[str, Game[Any]] = {game.name: game for game in (Arena(), ConnectFour())}


def get_game(name: str) -> Game[Any]:
    """The registered game called `name`; KeyError if there is none."""
    return GAMES[name]
