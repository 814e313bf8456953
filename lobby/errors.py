"""The errors services raise. Codes equal game_server.protocol.ErrorCode values (tested)."""

from __future__ import annotations


class LobbyError(Exception):
    """A rule of the lobby was broken; nothing was changed."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
