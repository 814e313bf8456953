"""Skirmish's engine: pure, deterministic game rules and the fixed-timestep host.

No Django, Channels, Redis or codec imports here: the engine takes data and returns data.
"""

from engine.game import SPECTATOR, Game, Outcome, Player, Rejected, Viewer
from engine.match import ALL, SPECTATORS, Frame, InputRejected, Match, MatchEnded, Outbound

__all__ = [
    "ALL",
    "SPECTATOR",
    "SPECTATORS",
    "Frame",
    "Game",
    "InputRejected",
    "Match",
    "MatchEnded",
    "Outbound",
    "Outcome",
    "Player",
    "Rejected",
    "Viewer",
]
