"""Spectating: who may watch which running match (the consumer joins the groups and asks the engine).

A spectator joins the match's groups like a player without a seat: `match.<id>` (frames of games
without hidden information, and the end of the match) and `match.<id>.spectators` (the
spectators' document of games with hidden information). The engine answers its `match.join`
(viewer None) with a full snapshot of the spectator view; deltas follow with everybody else's,
encoded once per tick for all spectators together.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser

from game_server.protocol import ErrorCode
from lobby import selectors
from lobby.errors import LobbyError
from lobby.models import Match


def spectate_target(*, user: AbstractBaseUser, match_id: str, code: str | None) -> dict[str, Any]:
    """The running match `user` may watch, as `match.started` needs it; LobbyError otherwise."""
    match = Match.objects.select_related("lobby").filter(pk=match_id, status=Match.Status.RUNNING).first()
    if match is None:
        raise LobbyError(ErrorCode.MATCH_NOT_FOUND, "no such running match")
    if match.is_private and (code is None or match.lobby is None or match.lobby.code != code):
        raise LobbyError(ErrorCode.MATCH_PRIVATE, "this match is private: give its lobby's join code")
    if selectors.seat_for_user(user=user) is not None:
        raise LobbyError(ErrorCode.SEATED, "you are playing a match")
    return {
        "match_id": str(match.pk),
        "game": match.game,
        "tick_rate": match.tick_rate,
        "players": selectors.match_players(match=match),
    }
