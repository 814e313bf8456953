"""ProtocolConsumer: the socket half every Skirmish consumer shares.

Handshake: pick the codec from the offered subprotocols (none we speak: accept, close 4005),
refuse a token in the query string and anonymous users (close 4001). Receive: size limit
(close 1009), decode and validate (`error` frame; too many: close 4002), then dispatch through
the subclass's HANDLERS table (message type -> method). Handlers raise LobbyError for broken
rules; anything else is logged and answered with `internal`, never a traceback on the wire.
"""

from __future__ import annotations

import logging
import time
from collections import Counter, OrderedDict
from typing import Any, ClassVar
from urllib.parse import parse_qs

from channels.consumer import AsyncConsumer, get_handler_name
from channels.exceptions import StopConsumer
from django.conf import settings
from pydantic import BaseModel

from game_server import daphne_adapter, metrics, netsim
from game_server import protocol as p
from game_server.ratelimit import TokenBucket
from lobby.errors import LobbyError

logger = logging.getLogger(__name__)

QUERY_TOKEN_KEYS = {"token", "access_token", "auth", "bearer"}

#: Open sockets per client address, in this process (the per-IP connection cap).
_sockets_by_ip: Counter[str] = Counter()
#: Per-user rate-limit buckets, kept across reconnects (bounded LRU), in this process.
_user_buckets: OrderedDict[int, dict[str, TokenBucket]] = OrderedDict()
MAX_TRACKED_USERS = 10_000


def rate_category(msg: BaseModel | p.InputFrame) -> str | None:
    """Which per-user rate limit a message counts against (None: only the per-socket one)."""
    kind: str = msg.type  # type: ignore[attr-defined]
    if kind == "match.input":
        return "input"
    if kind == "lobby.chat":
        return "chat"
    if kind == "lobby.join" and getattr(msg, "code", None):
        return "code"  # guessing private join codes
    if kind.startswith(("lobby.", "queue.")) and kind != "lobby.list.unsubscribe":
        return "lobby"
    return None


def user_buckets(user_id: int) -> dict[str, TokenBucket]:
    """The user's rate-limit buckets by category (kept across reconnects; most recent user last)."""
    buckets = _user_buckets.get(user_id)
    if buckets is None:
        buckets = _user_buckets[user_id] = {}
        if len(_user_buckets) > MAX_TRACKED_USERS:
            _user_buckets.popitem(last=False)
    else:
        _user_buckets.move_to_end(user_id)
    return buckets


class ProtocolConsumer(AsyncConsumer):
    """Codec negotiation, auth checks, decoding, dispatch and error frames."""

    HANDLERS: ClassVar[dict[str, str]] = {}
    #: Message type -> method taking it synchronously, straight from daphne (see receive_now).
    NOW_HANDLERS: ClassVar[dict[str, str]] = {}
    _protocol: Any = None  # daphne's protocol of this socket, with direct frames on
    #: The last frame receive_now decoded and left to the queue, with its message: the normal
    #: path takes the message from here instead of decoding the frame again.
    _left: tuple[bytes | str, BaseModel | p.InputFrame] | None = None

    codec: p.Codec
    user: Any

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Channels >= 4.2 hops to a thread (close_old_connections) before every handler, a
        # serialized ~100 µs per frame. Our handlers reach the ORM only through
        # game_server.db.db_call, which tidies connections itself, so skip the hop.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"no handler for message type {message['type']}")
        await handler(message)

    # ---- socket lifecycle ---------------------------------------------------------------

    async def websocket_connect(self, message: dict[str, Any]) -> None:
        self.groups: set[str] = set()
        self.invalid_messages = 0
        self.closed = False
        rate, burst = settings.SKIRMISH_RATE_LIMITS["message"]
        self.frames = TokenBucket(rate, burst)  # every frame, checked before decoding
        rate, burst = settings.SKIRMISH_RATE_LIMITS["patience"]
        self.patience = TokenBucket(rate, burst)  # rate-limited messages tolerated before 4008
        self.last_warning = 0.0
        client = self.scope.get("client") or ("?", 0)
        self.ip = str(client[0])
        _sockets_by_ip[self.ip] += 1
        metrics.SOCKETS.inc()
        codec = p.choose_codec(self.scope.get("subprotocols") or [])
        if codec is None:
            await self.send({"type": "websocket.accept"})
            await self.close(
                p.CloseCode.WS_4005_UNSUPPORTED_SUBPROTOCOL, "offer skirmish.v1.msgpack or skirmish.v1.json"
            )
            return
        self.codec = codec
        await self.send({"type": "websocket.accept", "subprotocol": codec.subprotocol})
        daphne_adapter.arm_shutdown()
        if _sockets_by_ip[self.ip] > settings.SKIRMISH_MAX_SOCKETS_PER_IP:
            await self.close(p.CloseCode.WS_4011_TOO_MANY_CONNECTIONS, "too many connections from your address")
            return
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        if QUERY_TOKEN_KEYS & set(query):
            await self.close(p.CloseCode.WS_4001_UNAUTHENTICATED, "send tokens in the Authorization header")
            return
        self.user = self.scope.get("user")
        if self.user is None or not self.user.is_authenticated or not self.user.is_active:
            await self.close(p.CloseCode.WS_4001_UNAUTHENTICATED, "sign in first")
            return
        self.user_id: int = self.user.pk  # (the user is a lazy object: one lookup, not one per frame)
        self.buckets = user_buckets(self.user_id)  # (looked up once: inputs take one each)
        self.start_direct_frames()
        await self.on_connect()

    async def websocket_receive(self, message: dict[str, Any]) -> None:
        try:
            await self.receive_message(message)
        finally:
            if self._protocol is not None:
                daphne_adapter.received(self._protocol)

    async def receive_message(self, message: dict[str, Any]) -> None:
        """One websocket.receive: limits, decoding, then the handler."""
        if self.closed:
            return
        metrics.FRAMES_IN.inc()
        if not self.frames.take():
            await self.rate_limited(None)
            return
        data = message.get("bytes") if message.get("bytes") is not None else message.get("text")
        left, self._left = self._left, None
        try:
            if left is not None and left[0] == data:
                msg: BaseModel | p.InputFrame = left[1]
            else:
                msg = p.decode_client(self.codec, data, settings.SKIRMISH_MAX_FRAME_BYTES)
        except p.FrameTooLarge as exc:
            await self.close(p.CloseCode.WS_1009_MESSAGE_TOO_BIG, exc.message)
            return
        except p.ProtocolError as exc:
            await self.refuse(exc)
            return
        category = rate_category(msg)
        if category is not None and not self.bucket(category).take():
            await self.rate_limited(msg.rid)  # type: ignore[attr-defined]
            return
        try:
            await getattr(self, self.HANDLERS[msg.type])(msg)
        except LobbyError as exc:
            await self.send_error(exc.code, exc.message, rid=msg.rid)
        except Exception:
            logger.exception("handler for %s failed (user %s)", msg.type, self.user.pk)
            await self.send_error(p.ErrorCode.INTERNAL, "the server failed; nothing was changed", rid=msg.rid)

    def receive_now(self, data: bytes | str) -> bool:
        """A frame from daphne before it is queued, with no earlier frame queued or being handled.

        A valid message with a NOW_HANDLERS entry, within every rate limit, whose handler takes
        it (returns True), is done here: no queue, no task, no dispatch. Anything else (another
        type, bad input, a limit reached, a handler that declines) returns False with nothing
        spent, and takes the normal path (websocket_receive), which answers it as always.
        """
        if self.closed:
            return False
        limit = settings.SKIRMISH_MAX_FRAME_BYTES
        msg: BaseModel | p.InputFrame | None = p.decode_input(self.codec, data, limit)
        if msg is None:
            left = self._left
            if left is not None and left[0] == data:  # (offered again while it waits in the queue)
                msg = left[1]
            else:
                try:
                    msg = p.decode_client(self.codec, data, limit)
                except p.ProtocolError:
                    return False
        self._left = (data, msg)  # until taken: a frame left to the queue is not decoded again
        name = self.NOW_HANDLERS.get(msg.type)
        if name is None or not self.frames.take():
            return False
        category = rate_category(msg)
        bucket = self.bucket(category) if category is not None else None
        if bucket is not None and not bucket.take():
            self.frames.give_back()
            return False
        taken = False
        try:
            taken = bool(getattr(self, name)(msg))
        finally:
            if not taken:  # (declined, or failed): the tokens go back, the normal path spends them
                self.frames.give_back()
                if bucket is not None:
                    bucket.give_back()
        if taken:
            self._left = None
            metrics.FRAMES_IN.inc()
        return taken

    def bucket(self, category: str) -> TokenBucket:
        """This user's bucket for a rate-limit category, created from settings.SKIRMISH_RATE_LIMITS."""
        bucket = self.buckets.get(category)
        if bucket is None:
            rate, burst = settings.SKIRMISH_RATE_LIMITS[category]
            bucket = self.buckets[category] = TokenBucket(rate, burst)
        return bucket

    async def websocket_disconnect(self, message: dict[str, Any]) -> None:
        self.closed = True
        self.stop_direct_frames()
        if hasattr(self, "ip"):
            _sockets_by_ip[self.ip] -= 1
            if _sockets_by_ip[self.ip] <= 0:
                del _sockets_by_ip[self.ip]
            metrics.SOCKETS.dec()
        try:
            if hasattr(self, "user") and getattr(self.user, "is_authenticated", False) and hasattr(self, "codec"):
                await self.on_disconnect()
        finally:
            for group in list(getattr(self, "groups", ())):
                await self.leave_group(group)
        raise StopConsumer()

    # ---- direct tick frames (FANOUT=direct; see game_server.channel_layer) ---------------

    def start_direct_frames(self) -> None:
        """Have match.frame messages written straight to this socket, when the setup allows it."""
        if settings.SKIRMISH_FANOUT != "direct" or settings.SKIRMISH_NETSIM is not None:
            return  # netsim must see every frame
        protocol = daphne_adapter.protocol_of(self.scope)
        register = getattr(self.channel_layer, "register_sink", None)
        if protocol is None or register is None or not hasattr(self, "match_frame"):
            return  # not under daphne, or a layer without direct delivery: the normal path
        self._protocol = protocol
        register(self.channel_name, self.direct_frame)
        if self.NOW_HANDLERS:
            daphne_adapter.set_receiver(protocol, self.receive_now)

    def stop_direct_frames(self) -> None:
        """Back to the normal path (the socket is closing or gone)."""
        if self._protocol is not None:
            daphne_adapter.set_receiver(self._protocol, None)
            self._protocol = None
            self.channel_layer.unregister_sink(self.channel_name)

    def direct_frame(self, event: dict[str, Any], cache: dict[Any, Any]) -> None:
        """A match.frame from the layer, written now: the websocket frame is built once per message and codec."""
        if self.closed:
            return
        subprotocol = self.codec.subprotocol
        frame = cache.get(subprotocol)
        if frame is None:
            payload = event["frames"][subprotocol]
            if self.oversize(payload):
                return
            frame = cache[subprotocol] = daphne_adapter.websocket_frame(payload)
        if daphne_adapter.write_frame(self._protocol, frame, droppable=event.get("droppable", False)):
            metrics.FRAMES_OUT.inc()

    # ---- hooks for subclasses -----------------------------------------------------------

    async def on_connect(self) -> None:
        """The socket is accepted and the user authenticated."""

    async def on_disconnect(self) -> None:
        """The socket is gone (groups are discarded after this)."""

    # ---- helpers ------------------------------------------------------------------------

    async def rate_limited(self, rid: int | None) -> None:
        """Refuse a message over a rate limit: `rate_limited` (at most one a second), then 4008."""
        metrics.RATE_LIMITED.inc()
        if not self.patience.take():
            await self.close(p.CloseCode.WS_4008_RATE_LIMITED, "kept sending too fast")
            return
        now = time.monotonic()
        if rid is not None or now - self.last_warning >= 1.0:
            self.last_warning = now
            await self.send_error(p.ErrorCode.RATE_LIMITED, "slow down: too many messages", rid=rid)

    async def refuse(self, exc: p.ProtocolError) -> None:
        """Answer an invalid message; close with 4002 once there were too many."""
        self.invalid_messages += 1
        await self.send_error(exc.code, exc.message, rid=exc.rid, field=exc.field)
        if self.invalid_messages >= settings.SKIRMISH_MAX_INVALID_MESSAGES:
            await self.close(p.CloseCode.WS_4002_PROTOCOL_ERROR, "too many invalid messages")

    async def send_message(self, message: BaseModel) -> None:
        """Encode a server message with this socket's codec and send it."""
        await self.send_raw(p.encode(self.codec, message))  # type: ignore[arg-type]

    async def send_raw(self, payload: bytes | str, *, droppable: bool = False) -> None:
        """Send an already-encoded frame (broadcasts are forwarded untouched).

        `droppable` frames (tick deltas) may be dropped by the server for a socket that is
        behind; see game_server.daphne_adapter.
        """
        if self.closed or self.oversize(payload):
            return
        metrics.FRAMES_OUT.inc()
        key = "bytes" if isinstance(payload, bytes) else "text"
        frame = {"type": "websocket.send", key: payload, "droppable": droppable}
        if settings.SKIRMISH_NETSIM is not None:  # development only: a simulated bad network (netsim.py)
            netsim.submit(self, settings.SKIRMISH_NETSIM, frame, droppable=droppable)
            return
        await self.send(frame)

    def oversize(self, payload: bytes | str) -> bool:
        """Whether an outbound frame is over SKIRMISH_MAX_OUTBOUND_BYTES (logged: it is dropped).

        daphne's --websocket-max-message-size caps outbound messages too; a larger one would end
        this socket with 1011. Skip it loudly instead: it is a server-side bug.
        """
        if len(payload) <= settings.SKIRMISH_MAX_OUTBOUND_BYTES:
            return False
        logger.error(
            "outbound frame of %s bytes over the %s-byte limit dropped (user %s)",
            len(payload),
            settings.SKIRMISH_MAX_OUTBOUND_BYTES,
            getattr(getattr(self, "user", None), "pk", None),
        )
        return True

    async def send_error(self, code: str, message: str, *, rid: int | None = None, field: str | None = None) -> None:
        metrics.ERRORS.labels(code=str(code)).inc()
        await self.send_message(p.Error(rid=rid, code=str(code), message=message, field=field))

    async def close(self, code: int, reason: str = "") -> None:
        """Close the socket with a documented code."""
        if not self.closed:
            self.closed = True
            self.stop_direct_frames()
            metrics.CLOSES.labels(code=str(int(code))).inc()
            await self.send({"type": "websocket.close", "code": int(code), "reason": reason[:120]})

    async def join_group(self, group: str) -> None:
        if group not in self.groups:
            self.groups.add(group)
            await self.channel_layer.group_add(group, self.channel_name)

    async def leave_group(self, group: str) -> None:
        if group in self.groups:
            self.groups.discard(group)
            await self.channel_layer.group_discard(group, self.channel_name)
