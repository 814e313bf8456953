"""The errors services raise, and their codes.

Each code equals a value of `game_server.protocol.ErrorCode` (lobby may not import game_server,
so the strings live here too; a test checks that every code lobby raises is in ErrorCode).
"""

from __future__ import annotations

INVALID = "protocol/invalid"
LOBBY_NOT_FOUND = "lobby/not_found"
LOBBY_FULL = "lobby/full"
LOBBY_CLOSED = "lobby/closed"
ALREADY_IN_LOBBY = "lobby/already_in"
NOT_IN_LOBBY = "lobby/not_member"
NOT_HOST = "lobby/not_host"
NOT_READY = "lobby/not_ready"
UNKNOWN_GAME = "lobby/unknown_game"
BAD_OPTIONS = "lobby/bad_options"
KICKED = "lobby/kicked"
MEMBER_NOT_FOUND = "lobby/member_not_found"
ALREADY_QUEUED = "queue/already_in"
NOT_QUEUED = "queue/not_in"
MATCH_NOT_FOUND = "match/not_found"
NO_REMATCH = "lobby/no_rematch"

#: Every code a lobby service may raise.
CODES = frozenset(
    {
        INVALID,
        LOBBY_NOT_FOUND,
        LOBBY_FULL,
        LOBBY_CLOSED,
        ALREADY_IN_LOBBY,
        NOT_IN_LOBBY,
        NOT_HOST,
        NOT_READY,
        UNKNOWN_GAME,
        BAD_OPTIONS,
        KICKED,
        MEMBER_NOT_FOUND,
        ALREADY_QUEUED,
        NOT_QUEUED,
        MATCH_NOT_FOUND,
        NO_REMATCH,
    }
)


class LobbyError(Exception):
    """A rule of the lobby was broken; nothing was changed."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
