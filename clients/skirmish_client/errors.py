"""Exceptions the client library raises."""

from __future__ import annotations


class SkirmishError(Exception):
    """The server refused a request: `code` is a stable `ErrorCode` string (or `http/...`)."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.field = field


class Disconnected(SkirmishError):
    """The socket dropped before the request was answered; it may or may not have been applied."""

    def __init__(self, message: str = "the connection dropped") -> None:
        super().__init__("client/disconnected", message)


class ConnectionRefused(SkirmishError):
    """The server closed the socket for good (bad token, replaced by a newer socket, ...)."""

    def __init__(self, close_code: int, reason: str) -> None:
        super().__init__(f"close/{close_code}", reason or f"closed with {close_code}")
        self.close_code = close_code
