"""ProtocolConsumer: the socket half every Skirmish consumer shares.

Handshake: pick the codec from the offered subprotocols (none we speak: accept, close 4005),
refuse a token in the query string and anonymous users (close 4001). Receive: size limit
(close 1009), decode and validate (`error` frame; too many: close 4002), then dispatch through
the subclass's HANDLERS table (message type -> method). Handlers raise LobbyError for broken
rules; anything else is logged and answered with `internal`, never a traceback on the wire.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar
from urllib.parse import parse_qs

from channels.consumer import AsyncConsumer, get_handler_name
from channels.exceptions import StopConsumer
from django.conf import settings
from pydantic import BaseModel

from game_server import protocol as p
from game_server.ratelimit import TokenBucket
from lobby.errors import LobbyError

logger = logging.getLogger(__name__)

QUERY_TOKEN_KEYS = {"token", "access_token", "auth", "bearer"}


class ProtocolConsumer(AsyncConsumer):
    """Codec negotiation, auth checks, decoding, dispatch and error frames."""

    HANDLERS: ClassVar[dict[str, str]] = {}

    codec: p.Codec
    user: Any

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels >= 4.2 hops to a thread (close_old_connections) before every handler, a
        # serialized ~100 µs per frame. Our handlers reach the ORM only through
        # database_sync_to_async, which closes stale connections itself, so skip the hop.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"no handler for message type {message['type']}")
        await handler(message)

    # ---- socket lifecycle ---------------------------------------------------------------

    async def websocket_connect(self, message: dict[str, Any]) -> None:
        self.groups: set[str] = set()
        self.invalid_messages = 0
        self.closed = False
        codec = p.choose_codec(self.scope.get("subprotocols") or [])
        if codec is None:
            await self.send({"type": "websocket.accept"})
            await self.close(
                p.CloseCode.WS_4005_UNSUPPORTED_SUBPROTOCOL, "offer skirmish.v1.msgpack or skirmish.v1.json"
            )
            return
        self.codec = codec
        await self.send({"type": "websocket.accept", "subprotocol": codec.subprotocol})
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        if QUERY_TOKEN_KEYS & set(query):
            await self.close(p.CloseCode.WS_4001_UNAUTHENTICATED, "send tokens in the Authorization header")
            return
        self.user = self.scope.get("user")
        if self.user is None or not self.user.is_authenticated or not self.user.is_active:
            await self.close(p.CloseCode.WS_4001_UNAUTHENTICATED, "sign in first")
            return
        await self.on_connect()

    async def websocket_receive(self, message: dict[str, Any]) -> None:
        if self.closed:
            return
        data = message.get("bytes") if message.get("bytes") is not None else message.get("text")
        try:
            msg = p.decode_client(self.codec, data, settings.SKIRMISH_MAX_FRAME_BYTES)
        except p.FrameTooLarge as exc:
            await self.close(p.CloseCode.WS_1009_MESSAGE_TOO_BIG, exc.message)
            return
        except p.ProtocolError as exc:
            await self.refuse(exc)
            return
        if not self.allow(msg):
            return
        try:
            await getattr(self, self.HANDLERS[msg.type])(msg)
        except LobbyError as exc:
            await self.send_error(exc.code, exc.message, rid=msg.rid)
        except Exception:
            logger.exception("handler for %s failed (user %s)", msg.type, self.user.pk)
            await self.send_error(p.ErrorCode.INTERNAL, "the server failed; nothing was changed", rid=msg.rid)

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        self.closed = True
        try:
            if hasattr(self, "user") and getattr(self.user, "is_authenticated", False) and hasattr(self, "codec"):
                await self.on_disconnect()
        finally:
            for group in list(getattr(self, "groups", ())):
                await self.leave_group(group)
        raise StopConsumer()

    # ---- hooks for subclasses -----------------------------------------------------------

    async def on_connect(self) -> None:
        """The socket is accepted and the user authenticated."""

    async def on_disconnect(self) -> None:
        """The socket is gone (groups are discarded after this)."""

    def allow(self, msg: BaseModel) -> bool:
        """Rate limiting hook: return False to drop a message (after answering it)."""
        return True

    # ---- helpers ------------------------------------------------------------------------

    async def refuse(self, exc: p.ProtocolError) -> None:
        """Answer an invalid message; close with 4002 once there were too many."""
        self.invalid_messages += 1
        await self.send_error(exc.code, exc.message, rid=exc.rid, field=exc.field)
        if self.invalid_messages >= settings.SKIRMISH_MAX_INVALID_MESSAGES:
            await self.close(p.CloseCode.WS_4002_PROTOCOL_ERROR, "too many invalid messages")

    async def send_message(self, message: BaseModel) -> None:
        """Encode a server message with this socket's codec and send it."""
        await self.send_raw(p.encode(self.codec, message))  # type: ignore[arg-type]

    async def send_raw(self, payload: bytes | str) -> None:
        """Send an already-encoded frame (broadcasts are forwarded untouched)."""
        if self.closed:
            return
        if isinstance(payload, bytes):
            await self.send({"type": "websocket.send", "bytes": payload})
        else:
            await self.send({"type": "websocket.send", "text": payload})

    async def send_error(self, code: str, message: str, *, rid: int | None = None, field: str | None = None) -> None:
        await self.send_message(p.Error(rid=rid, code=str(code), message=message, field=field))

    async def close(self, code: int, reason: str = "") -> None:
        """Close the socket with a documented code."""
        if not self.closed:
            self.closed = True
            await self.send({"type": "websocket.close", "code": int(code), "reason": reason[:120]})

    async def join_group(self, group: str) -> None:
        if group not in self.groups:
            self.groups.add(group)
            await self.channel_layer.group_add(group, self.channel_name)

    async def leave_group(self, group: str) -> None:
        if group in self.groups:
            self.groups.discard(group)
            await self.channel_layer.group_discard(group, self.channel_name)


def chat_bucket() -> TokenBucket:
    """Chat: 5 lines in a burst, then one every 2 seconds."""
    return TokenBucket(rate=0.5, burst=5)
