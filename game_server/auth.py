"""Websocket authentication: the browser's session cookie, or a desktop client's bearer token.

`skirmish_auth_stack(inner)`: a handshake with an `Authorization: Bearer <token>` header is
authenticated by the token alone (cookies are ignored); a bad token leaves the user anonymous and
the consumer closes with 4001. Any other handshake goes through Channels' cookie -> session ->
auth stack (the browser's session user). Token handshakes skip that stack: it resolves the session
user on the sync thread, one more trip through the thread's queue for every handshake, which is
the queue that fills up while many players are being seated (docs/benchmarks.md).
Tokens are never read from the query string (they would end up in access logs).
"""

from __future__ import annotations

from typing import Any

from channels.auth import AuthMiddlewareStack
from channels.middleware import BaseMiddleware
from django.contrib.auth.models import AnonymousUser

from game_server.db import db_call
from game_server.tokens import token_user


def bearer_token(headers: list[tuple[bytes, bytes]]) -> str | None:
    """The token of an `Authorization: Bearer` header, '' for a malformed one, None if absent."""
    for name, value in headers:
        if name.lower() == b"authorization":
            scheme, _, token = value.decode("latin-1").strip().partition(" ")
            return token.strip() if scheme.lower() == "bearer" else ""
    return None


class BearerTokenMiddleware(BaseMiddleware):
    """Sets scope["user"] from a bearer token; handshakes without one go to the session stack."""

    def __init__(self, inner: Any) -> None:
        super().__init__(inner)
        self.session_stack = AuthMiddlewareStack(inner)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        token = bearer_token(scope.get("headers", []))
        if token is None:
            return await self.session_stack(scope, receive, send)
        scope = dict(scope)
        user = await db_call(token_user)(raw=token) if token else None
        scope["user"] = user or AnonymousUser()
        scope["auth_method"] = "token"
        return await self.inner(scope, receive, send)


def skirmish_auth_stack(inner: Any) -> Any:
    """Bearer tokens for desktop clients, session auth for browsers."""
    return BearerTokenMiddleware(inner)
