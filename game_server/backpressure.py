"""Slow sockets under daphne: keep only the newest state, and close clients that stay behind.

daphne has no write backpressure (django/daphne#170): `send()` never waits, and a client that
reads slowly grows the server's write buffer without bound (+205 MiB measured for 200 MiB sent).
Tick frames are the bulk of what we send and each one is superseded by the next, so we mark
them `droppable` and, at daphne's end of the ASGI `send`, drop them while the socket already
has more than SLOW_CLIENT_BYTES waiting. The client sees a gap in ticks and resyncs (the
protocol's rule), which gives it the newest full state once it catches up. A socket that stays
over the limit for SLOW_CLIENT_SECONDS is closed with 4009 and then dropped.

Replies, errors and lobby messages are never dropped. Under any other ASGI server (or in
tests with WebsocketCommunicator) the `droppable` key is ignored.
"""

from __future__ import annotations

import logging
import time
from typing import Any

logger = logging.getLogger(__name__)

SLOW_CLOSE_CODE = 4009


def buffered_bytes(protocol: Any) -> int:
    """Bytes written to a Twisted transport that the kernel has not taken yet."""
    transport = getattr(protocol, "transport", None)
    if transport is None:
        return 0
    data = getattr(transport, "dataBuffer", b"")
    return len(data) - getattr(transport, "offset", 0) + getattr(transport, "_tempDataLen", 0)


def install(limit_bytes: int, close_after: float) -> bool:
    """Patch daphne's websocket protocol once; False when daphne is not importable."""
    try:
        from daphne.ws_protocol import WebSocketProtocol
    except ImportError:
        return False
    if getattr(WebSocketProtocol, "_skirmish_backpressure", None) is not None:
        WebSocketProtocol._skirmish_backpressure = (limit_bytes, close_after)
        return True
    original = WebSocketProtocol.handle_reply

    def handle_reply(self: Any, message: dict[str, Any]) -> None:
        if message.get("droppable") and message.get("type") == "websocket.send":
            limit, patience = WebSocketProtocol._skirmish_backpressure
            if buffered_bytes(self) > limit:
                _too_slow(self, patience)
                return
            self._skirmish_slow_since = None
        original(self, message)

    WebSocketProtocol.handle_reply = handle_reply
    WebSocketProtocol._skirmish_backpressure = (limit_bytes, close_after)
    return True


def _too_slow(protocol: Any, patience: float) -> None:
    now = time.monotonic()
    since = getattr(protocol, "_skirmish_slow_since", None)
    if since is None:
        protocol._skirmish_slow_since = now
        return
    if now - since < patience or getattr(protocol, "_skirmish_closing", False):
        return
    protocol._skirmish_closing = True
    logger.warning("closing a socket that stayed %.1fs behind (%s bytes unsent)", now - since, buffered_bytes(protocol))
    # The close frame queues behind the unsent bytes; if the client never drains them, drop the
    # TCP connection so the buffer is freed either way.
    protocol.sendClose(code=SLOW_CLOSE_CODE, reason="too slow: you fell too far behind")
    from twisted.internet import reactor

    reactor.callLater(2.0, _abort, protocol)


def _abort(protocol: Any) -> None:
    transport = getattr(protocol, "transport", None)
    if transport is not None and hasattr(transport, "abortConnection"):
        transport.abortConnection()
