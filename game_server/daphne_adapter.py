"""What Skirmish adds to daphne's websocket protocol, in one place.

1. **Slow sockets: keep only the newest state.** daphne has no write backpressure
   (django/daphne#170): `send()` never waits, and a client that reads slowly grows the server's
   write buffer without bound (+205 MiB measured for 200 MiB sent). Tick deltas are marked
   `droppable`. The kernel takes a websocket's frames only while less than `slow_bytes` of them
   wait unsent (`limit_kernel_queue`; by default, only while none does); a frame it refuses waits
   in Twisted, and deltas are dropped here while anything does. So the server holds about one
   frame for a slow reader, whatever the game's rate, and what it reads is at most that old. The
   client sees a gap in ticks and resyncs (the protocol's rule), which gives it the newest full
   state. A socket that stays behind for `slow_seconds` (its client took none of it) is closed
   with 4009, and its connection dropped two seconds later if it never drains. Where the kernel
   mark cannot be set (TLS, other systems), deltas are dropped past `slow_bytes` held in Twisted.
2. **Close codes and reasons.** daphne closes through autobahn's `sendClose`, which refuses
   1009 and 1012 and drops the reason; our documented codes go out as given, with the reason.
3. **Graceful shutdown.** Stock daphne drops its sockets on SIGTERM without a close frame
   (clients see 1006). From the first socket on, SIGTERM sends 1012 ("restarting: reconnect")
   on every open socket, then stops daphne after `drain_seconds`. With `manage.py runengine`
   workers the matches keep running; clients reconnect to another web process and resume.
4. **Pre-framed writes (FANOUT=direct).** Each websocket scope carries its daphne protocol
   (`protocol_of(scope)`); `write_frame` sends an already-encoded tick frame straight to its
   transport, with the websocket frame built once per message and codec (server frames are
   unmasked, so every recipient gets the same bytes), under the slow-socket rule above. It is
   sent at once, also when the socket still holds earlier bytes (a ping, a reply) that Twisted
   would only send on the loop's next turn (`_flush`).

5. **Inputs taken at once.** A consumer may set a receiver on its protocol (`set_receiver`).
   Each incoming message is offered to it first when no earlier message of the socket is still
   queued or being handled (the consumer calls `received` when it is done with each queued
   one); when it takes the message (ProtocolConsumer.receive_now: a valid, in-limit
   `match.input` for a running in-process match) the message never enters the queue. Otherwise
   it is queued as usual. So messages are handled in the order they came. While every queued
   message is still waiting in the queue, those at its head are offered too (`_take_queued`), so
   a backlog from a busy moment clears instead of holding every later input on the slow path.

6. **Small frames parsed here.** On a socket with a receiver, bytes that arrive while autobahn
   holds no partial frame are cut into frames here when they are what clients send all the time:
   whole, masked, unfragmented, uncompressed text or binary frames under 126 bytes (`split_frames`).
   Each goes to `onMessage` as autobahn would hand it over. Anything else from the first such frame
   on (control frames, fragments, bigger or partial frames, bad UTF-8) goes to autobahn unchanged,
   after the frames before it, so order, limits and close codes are autobahn's.

7. **The upgrade request let go** (`release_http_side`): once the socket is open, daphne's HTTP
   channel and request for it are freed instead of living as long as the socket.

8. **Sends after the client left are dropped.** A reply or lobby update on its way while the
   client's socket was closing made autobahn raise `Disconnected` in the consumer, which then
   died without running `websocket_disconnect` (no seat given up, the socket still counted
   against its address; "Exception inside application" in the log). It is dropped here; the
   disconnect event follows as usual.

Replies, errors and lobby messages are never dropped while the socket is open. Under another ASGI
server, or under Channels' WebsocketCommunicator, none of this is installed and the extra keys are
ignored.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import struct
import sys
import time
import weakref
from typing import Any

from game_server import metrics

logger = logging.getLogger(__name__)

SLOW_CLOSE_CODE = 4009
FLUSH_BYTES = 64 * 1024  # held bytes up to which a write sends at once without the kernel mark (see _flush)
TCP_NOTSENT_LOWAT: int | None = getattr(socket, "TCP_NOTSENT_LOWAT", None)  # (Linux and macOS)
# A frame's write starts a segment of its own (see limit_kernel_queue); Linux's TCP, where the mark is measured.
MSG_EOR: int = socket.MSG_EOR if sys.platform == "linux" else 0
RESTART_CODE = 1012
_config = {"slow_bytes": 0, "slow_seconds": 5.0, "drain_seconds": 1.0}
_open: weakref.WeakSet[Any] = weakref.WeakSet()
_armed: set[int] = set()
_SCOPE_KEY = "skirmish.daphne_protocol"
_tcp_server: Any = None  # twisted.internet.tcp.Server, once installed


def buffered_bytes(protocol: Any) -> int:
    """Bytes written to a Twisted transport that the kernel has not taken yet."""
    transport = getattr(protocol, "transport", None)
    if transport is None:
        return 0
    data = getattr(transport, "dataBuffer", b"")
    return len(data) - getattr(transport, "offset", 0) + getattr(transport, "_tempDataLen", 0)


def install(*, slow_bytes: int, slow_seconds: float, drain_seconds: float) -> bool:
    """Patch daphne's websocket protocol (once); False when daphne is not importable."""
    try:
        from daphne.ws_protocol import WebSocketProtocol
    except ImportError:
        return False
    _config.update(slow_bytes=slow_bytes, slow_seconds=slow_seconds, drain_seconds=drain_seconds)
    metrics.report_behind(sockets_behind)
    if getattr(WebSocketProtocol, "_skirmish", False):
        return True
    from daphne.server import Server
    from twisted.internet import tcp

    global _tcp_server
    _tcp_server = tcp.Server

    original_reply = WebSocketProtocol.handle_reply
    original_message = WebSocketProtocol.onMessage
    original_data = WebSocketProtocol.dataReceived
    original_open = WebSocketProtocol.onOpen
    original_create = Server.create_application

    def create_application(self: Any, protocol: Any, scope: dict[str, Any]) -> Any:
        if scope.get("type") == "websocket":
            scope[_SCOPE_KEY] = protocol
        return original_create(self, protocol, scope)

    def handle_reply(self: Any, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "websocket.send":
            if self.state in (self.STATE_CLOSING, self.STATE_CLOSED):
                return  # the client left while its reply was on the way; its websocket.disconnect follows
            if message.get("droppable") and _behind(self):
                return
        elif kind == "websocket.close" and self.state == self.STATE_OPEN:
            _close(self, message.get("code") or 1000, message.get("reason") or "")
            return
        original_reply(self, message)

    def on_message(self: Any, payload: bytes, is_binary: bool) -> None:
        receiver = self._skirmish_receiver
        if receiver is not None and not self.muted:
            if self._skirmish_pending:
                _take_queued(self, receiver)
            if not self._skirmish_pending and _offer(receiver, payload, text=not is_binary):
                self.last_ping = time.time()
                return
        self._skirmish_pending += 1
        original_message(self, payload, is_binary)

    def data_received(self: Any, data: bytes) -> None:
        if (
            self._skirmish_receiver is not None
            and self.state == self.STATE_OPEN
            and not self.data
            and self.current_frame is None
            and not self.inside_message
            and self._perMessageCompress is None
            and not self.logOctets
            and not self.logFrames
        ):
            frames, used = split_frames(data)
            for payload, is_binary in frames:
                if self.state != self.STATE_OPEN or self.failedByMe:
                    return  # closing: autobahn would drop what follows too
                if self.autoPingTimeoutCall and self.autoPingRestartOnAnyTraffic:
                    self._cancelAutoPingTimeoutCall()
                self.onMessage(payload, is_binary)
            if used == len(data):
                return
            data = data[used:]
        original_data(self, data)

    def on_open(self: Any) -> None:
        _open.add(self)
        release_http_side(self)
        limit_kernel_queue(self)
        original_open(self)

    _read_without_log_context()
    WebSocketProtocol.handle_reply = handle_reply
    WebSocketProtocol.onOpen = on_open
    WebSocketProtocol.onMessage = on_message
    WebSocketProtocol.dataReceived = data_received
    WebSocketProtocol._skirmish_receiver = None
    WebSocketProtocol._skirmish_slow_since = None  # (monotonic time since which the socket is behind)
    WebSocketProtocol._skirmish_marked = False  # the kernel holds at most slow_bytes unsent (limit_kernel_queue)
    WebSocketProtocol._skirmish_pending = 0  # messages queued and not yet handled
    Server.create_application = create_application
    WebSocketProtocol._skirmish = True
    return True


def _read_without_log_context() -> None:
    """Have the asyncio reactor hand a TCP connection's bytes to its protocol directly.

    It wraps every read in `log.callWithLogger` (a log prefix put in Twisted's context for the
    call, then taken out): ~5 % of the CPU at 100 matches, for a prefix that only Twisted's own
    legacy log lines would show. Below it, three more calls (`_readOrWrite`, `doRead`,
    `_dataReceived`) stand between the socket and `dataReceived` for every input a player sends.
    `read` does what they do, in one: `recv`, then `dataReceived`, or the same disconnect they
    would start (the peer closed, the socket failed, or the protocol raised). Errors are still
    logged (here, through `logging`)."""
    from twisted.internet import asyncioreactor, main, tcp

    reactor_class = asyncioreactor.AsyncioSelectorReactor
    original_add_reader = reactor_class.addReader

    def read(reactor: Any, reader: Any) -> None:
        try:
            data = reader.socket.recv(reader.bufferSize)
        except BlockingIOError:
            return
        except OSError:
            reactor._disconnectSelectable(reader, main.CONNECTION_LOST, True)
            return
        if not data:
            reactor._disconnectSelectable(reader, main.CONNECTION_DONE, True)
            return
        try:
            reader.protocol.dataReceived(data)
        except Exception as exc:
            logger.exception("reading from %r failed", reader)
            reactor._disconnectSelectable(reader, exc, True)

    def add_reader(self: Any, reader: Any) -> None:
        original_add_reader(self, reader)
        fd = self._readers.get(reader)
        if fd is not None and type(reader) is tcp.Server:
            self._asyncioEventloop.add_reader(fd, read, self, reader)  # (replaces the wrapped one)

    reactor_class.addReader = add_reader


def release_http_side(protocol: Any) -> None:
    """Let go of the HTTP request a websocket was upgraded from, once the socket is open.

    daphne hands the connection to the websocket protocol but leaves Twisted's `HTTPChannel`
    registered as the transport's producer, and the channel keeps the upgrade request in its
    `requests` list (it never finishes): request and response headers, the body buffer, addresses.
    They lived as long as the socket, 22 tracked objects of its ~170 (at 150 arena matches: 148,600
    tracked objects after a full collection, 128,700 with them let go), which every full
    collection scanned again, and went only as cyclic garbage once the socket closed. The channel
    does nothing for an upgraded socket: it stays `_handlingRequest`, so its `pauseProducing` never
    pauses the transport, and it has no timeout running (Twisted suspends it while a request is
    handled). Unregistered and emptied, channel and request are freed at once by reference counting.
    """
    transport = getattr(protocol, "transport", None)
    channel = getattr(transport, "producer", None)
    if channel is None or not hasattr(channel, "requests") or not hasattr(channel, "_networkProducer"):
        return  # not daphne's HTTP channel (another server, or already released)
    transport.unregisterProducer()
    channel.requests.clear()


def limit_kernel_queue(protocol: Any) -> None:
    """Have the kernel take a websocket's frames only while less than `slow_bytes` of them wait unsent.

    The kernel's send buffer grows to 4 MiB (`net.ipv4.tcp_wmem`), and a slow reader's frames
    waited there, where no rule could drop them: a reader at a tenth of a 2.9 MB/s stream
    (tests/e2e/test_slow_reader.py) had 2.8 MB queued, read every frame in order and fell 0.9 s
    further behind every second. With TCP_NOTSENT_LOWAT the kernel refuses more once that many
    bytes wait unsent (`slow_bytes`, at least 1: by default, once any does), the refused frame
    waits in Twisted, and `_behind` drops deltas while anything does. A socket whose client keeps up
    has no unsent bytes: the kernel sends each frame as it is written (the load generator's clients
    lost no frame at 100-500 arena matches on loopback). Frames are written with
    MSG_EOR, since without it the kernel appends a write to a segment still unsent without asking
    the mark (up to half the client's window, 45 kB measured). Not on systems without the option
    (the rule then counts what Twisted holds).
    """
    transport = getattr(protocol, "transport", None)
    if TCP_NOTSENT_LOWAT is None or not _writable(transport):
        return
    try:
        transport.socket.setsockopt(socket.IPPROTO_TCP, TCP_NOTSENT_LOWAT, max(1, _config["slow_bytes"]))
    except OSError:  # a socket that is already gone
        return
    protocol._skirmish_marked = True


def protocol_of(scope: dict[str, Any]) -> Any:
    """The daphne websocket protocol behind an ASGI scope (None under another server)."""
    return scope.get(_SCOPE_KEY)


def set_receiver(protocol: Any, receiver: Any) -> None:
    """Offer each incoming message to `receiver(data) -> taken` first (None: stop)."""
    protocol._skirmish_receiver = receiver


def _take_queued(protocol: Any, receiver: Any) -> None:
    """Take queued messages at once, oldest first, while the consumer has not started on them.

    Without this, one message that had to queue (the loop was busy) makes every later one on the
    socket queue behind it, and the queued path costs more: under load the backlog never clears.
    Only while every pending message is still in the queue (none dequeued or being handled) and
    only from its head, so the order holds. asyncio.Queue keeps its items in `_queue` (a deque); a
    consumer waiting in `get()` finds the queue empty again and keeps waiting.
    """
    queue = protocol.application_queue._queue
    while protocol._skirmish_pending and protocol._skirmish_pending == len(queue):
        head = queue[0]
        if head.get("type") != "websocket.receive":
            return
        data = head.get("bytes")
        if not _offer(receiver, data if data is not None else head.get("text")):
            return
        queue.popleft()
        protocol._skirmish_pending -= 1


def _offer(receiver: Any, data: bytes | str, *, text: bool = False) -> bool:
    """Whether the receiver took the message (`text`: UTF-8 bytes of a text frame, decoded here);
    a receiver that fails leaves it to the queue."""
    try:
        return bool(receiver(data.decode("utf-8") if text and isinstance(data, bytes) else data))
    except Exception:  # never lose the frame: the normal path answers it
        logger.exception("taking a frame at once failed; it takes the queue")
        return False


def received(protocol: Any) -> None:
    """The consumer is done with one queued message of this socket."""
    protocol._skirmish_pending = max(0, protocol._skirmish_pending - 1)


def split_frames(data: bytes) -> tuple[list[tuple[bytes, bool]], int]:
    """The whole small client frames at the start of `data`: ([(payload, is_binary)], bytes used).

    Stops at the first frame that is not a complete, masked, final, uncompressed text or binary
    frame of fewer than 126 bytes, or a text frame that is not UTF-8; the rest is autobahn's.
    """
    frames: list[tuple[bytes, bool]] = []
    i, end = 0, len(data)
    while i + 6 <= end:
        head, size = data[i], data[i + 1]
        if head not in (0x81, 0x82) or not size & 0x80:
            break
        n = size & 0x7F
        if n >= 126 or i + 6 + n > end:
            break
        key = data[i + 2 : i + 6] * (n // 4 + 1)
        masked = int.from_bytes(data[i + 6 : i + 6 + n], "little") ^ int.from_bytes(key[:n], "little")
        payload = masked.to_bytes(n, "little")
        if head == 0x81:
            try:
                payload.decode("utf-8")
            except UnicodeDecodeError:
                break
        frames.append((payload, head == 0x82))
        i += 6 + n
    return frames, i


def websocket_frame(payload: bytes | str) -> bytes:
    """One unfragmented, unmasked server websocket frame (binary for bytes, text for str)."""
    if isinstance(payload, str):
        payload, opcode = payload.encode("utf-8"), 0x81
    else:
        opcode = 0x82
    n = len(payload)
    if n < 126:
        header = bytes((opcode, n))
    elif n < 65536:
        header = struct.pack("!BBH", opcode, 126, n)
    else:
        header = struct.pack("!BBQ", opcode, 127, n)
    return header + payload


def write_frame(protocol: Any, frame: bytes, *, droppable: bool) -> bool:
    """Write a pre-built frame to an open socket; False if it was not written (closed, or behind)."""
    transport = protocol.transport
    if (
        _writable(transport)
        and not transport.dataBuffer
        and not transport._tempDataLen
        and protocol.state == protocol.STATE_OPEN
        and protocol._perMessageCompress is None
        and not protocol.send_queue
    ):
        # The usual case, checked first: an open socket with nothing unsent in Twisted. Send now,
        # as Twisted's doWrite would on the next loop turn, without registering the socket for
        # writing and unregistering it (~10 % of a frame). What the kernel refuses (the socket is
        # at its mark: see limit_kernel_queue) waits in Twisted, and the socket is behind.
        protocol._skirmish_slow_since = None
        try:
            sent = transport.socket.send(frame, MSG_EOR)
        except OSError:  # would block, or a broken socket: Twisted's own write finds out
            sent = 0
        if sent != len(frame):
            transport.write(frame[sent:])
        return True
    if protocol.state != protocol.STATE_OPEN or protocol._perMessageCompress is not None:
        return False
    if droppable and _behind(protocol):
        return False
    if protocol.send_queue:  # autobahn is trickling earlier data out: keep the order
        protocol.sendData(frame)
        return True
    transport.write(frame)
    _flush(protocol)
    return True


def _flush(protocol: Any) -> None:
    """Send what Twisted holds for a socket now, as far as the kernel takes it, not on the loop's next turn.

    A socket holds unsent bytes after daphne's ping or a reply went out through autobahn, and
    Twisted sends them only once the loop polls again; each frame written meanwhile queued behind
    them, and under load a loop turn lasts long (at 500 arena matches, 200-400 ms turns, with
    0.3-0.7 % of all frames waiting for one). `doWrite` is what Twisted runs when the socket is
    writable: it sends what the kernel takes and keeps the rest and the socket's writer
    registration (so an error still ends the connection there). Without the kernel mark, not for a
    socket far behind (its reader is slow, the kernel takes nothing: a syscall per frame for naught).
    """
    transport = protocol.transport
    if _writable(transport) and (protocol._skirmish_marked or buffered_bytes(protocol) <= FLUSH_BYTES):
        transport.doWrite()


def _writable(transport: Any) -> bool:
    """A plain (no TLS) Twisted TCP connection, up for writing: one a frame may be sent on directly."""
    return (
        type(transport) is _tcp_server
        and not transport.TLS
        and transport.connected
        and not transport.disconnecting
        and not transport._writeDisconnected
    )


def _behind(protocol: Any) -> bool:
    """The slow-socket rule for a droppable frame: True (drop it) while the socket is behind.

    With the kernel mark (limit_kernel_queue) a socket is behind while Twisted holds any of its
    bytes once it has sent what the kernel takes: the kernel already has `slow_bytes` unsent.
    Without it, while Twisted holds more than `slow_bytes`.
    """
    held = buffered_bytes(protocol)
    if held:
        _flush(protocol)
        held = buffered_bytes(protocol)
    behind = held > _limit(protocol)
    if behind:
        metrics.DELTAS_DROPPED.inc()
        _too_slow(protocol)
        return True
    protocol._skirmish_slow_since = None
    return False


def sockets_behind() -> int:
    """Open websockets that are behind now: Twisted holds more of theirs than `_limit` (for /metrics).

    Read from the metrics view's thread: `list()` of the WeakSet's own set is one C call, so the
    loop's thread cannot change it midway. A socket whose bytes wait only for the loop's next turn
    counts too, for that moment."""
    behind = 0
    for ref in list(_open.data):
        sock = ref()
        if sock is not None and sock.state == sock.STATE_OPEN and buffered_bytes(sock) > _limit(sock):
            behind += 1
    return behind


def _limit(protocol: Any) -> int:
    """The bytes Twisted may hold for a socket that is not behind (see _behind)."""
    return 0 if protocol._skirmish_marked else _config["slow_bytes"]


def _close(protocol: Any, code: int, reason: str) -> None:
    protocol.sendCloseFrame(code=int(code), reasonUtf8=reason.encode("utf-8")[:123], isReply=False)


def _too_slow(protocol: Any) -> None:
    now = time.monotonic()
    since = protocol._skirmish_slow_since
    if since is None:
        protocol._skirmish_slow_since = now
        return
    if now - since < _config["slow_seconds"] or getattr(protocol, "_skirmish_closing", False):
        return
    protocol._skirmish_closing = True
    logger.warning("closing a socket that stayed %.1fs behind (%s bytes unsent)", now - since, buffered_bytes(protocol))
    # The close frame queues behind the unsent bytes; if the client never drains them, drop
    # the TCP connection so the buffer is freed either way.
    _close(protocol, SLOW_CLOSE_CODE, "too slow: you fell too far behind")
    metrics.CLOSES.labels(code=str(SLOW_CLOSE_CODE)).inc()
    from twisted.internet import reactor

    reactor.callLater(2.0, _abort, protocol)


def _abort(protocol: Any) -> None:
    transport = getattr(protocol, "transport", None)
    if transport is not None and hasattr(transport, "abortConnection"):
        transport.abortConnection()


def arm_shutdown() -> None:
    """Take SIGTERM over on the running loop. Called when a socket opens, i.e. after daphne's
    own handlers are installed, so this one wins."""
    if not _open:
        return  # not under daphne
    loop = asyncio.get_running_loop()
    if id(loop) not in _armed:
        _armed.add(id(loop))
        loop.add_signal_handler(signal.SIGTERM, _drain)


def _drain() -> None:
    from twisted.internet import reactor

    sockets = [s for s in list(_open) if s.state == s.STATE_OPEN]
    for sock in sockets:
        _close(sock, RESTART_CODE, "server restarting: reconnect")
    logger.info("shutdown: told %s sockets to reconnect (1012)", len(sockets))
    reactor.callLater(_config["drain_seconds"] if sockets else 0, reactor.stop)
