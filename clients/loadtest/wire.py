"""A lean websocket client (RFC 6455) on an asyncio Protocol, for the load generator only.

Why not `websockets.asyncio.client`: a load generator must cost less than the server it
measures. Here the handshake is checked with `websockets`' own header helpers, and frames are
parsed in place from each TCP read: no per-frame task, queue or copy. Server frames are
unmasked; client frames use the all-zero mask key (valid per RFC 6455 §5.3), so a payload is
sent as is. No extensions are offered (no compression); pings are answered.
"""

from __future__ import annotations

import asyncio
import base64
import os
import struct
import time
from collections.abc import Callable

from websockets.utils import accept_key

Handler = Callable[[bytes, int, int, int, float], None]

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0, 1, 2, 8, 9, 10
_ZERO_MASK = b"\x00\x00\x00\x00"
_U16 = struct.Struct("!H")
_U64 = struct.Struct("!Q")


def frame(payload: bytes, opcode: int = OP_BINARY) -> bytes:
    """One masked client frame (all-zero mask key) carrying `payload`."""
    n = len(payload)
    if n < 126:
        head = bytes((0x80 | opcode, 0x80 | n))
    elif n < 65536:
        head = bytes((0x80 | opcode, 0xFE)) + _U16.pack(n)
    else:
        head = bytes((0x80 | opcode, 0xFF)) + _U64.pack(n)
    return head + _ZERO_MASK + payload


class HandshakeFailed(Exception):
    """The server did not switch protocols (status, or a close right after accept)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"{status} {detail}")
        self.status = status
        self.detail = detail


class WsClient(asyncio.Protocol):
    """One websocket; calls `handler(buf, start, end, opcode, now)` for every data frame."""

    def __init__(self, handler: Handler, on_close: Callable[[int], None] | None = None) -> None:
        self.handler = handler
        self.on_close = on_close
        self.transport: asyncio.Transport | None = None
        self.opened: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        self.closed = False
        self.close_code = 0
        self.bytes_in = 0  # wire bytes of every frame (header + payload) after the handshake
        self._buf = b""
        self._key = ""
        self._request = b""
        self._frag: list[bytes] = []
        self._frag_op = 0

    # ---- handshake ------------------------------------------------------------------------

    def request(self, host: str, port: int, path: str, headers: dict[str, str]) -> None:
        """Prepare the upgrade request (sent on connection_made)."""
        self._key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {path} HTTP/1.1",
            f"Host: {host}:{port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {self._key}",
            "Sec-WebSocket-Version: 13",
            *(f"{k}: {v}" for k, v in headers.items()),
        ]
        self._request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(self._request)

    def _handshake(self, data: bytes) -> bytes | None:
        """Consume the 101 response; the bytes after it, or None while incomplete."""
        self._buf += data
        end = self._buf.find(b"\r\n\r\n")
        if end < 0:
            return None
        head, rest = self._buf[:end].decode("latin-1"), self._buf[end + 4 :]
        self._buf = b""
        status_line, *header_lines = head.split("\r\n")
        parts = status_line.split(" ", 2)
        status = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0
        headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines)}
        if status != 101:
            self._fail(HandshakeFailed(status, parts[2] if len(parts) > 2 else ""))
            return None
        if headers.get("sec-websocket-accept") != accept_key(self._key):
            self._fail(HandshakeFailed(status, "bad Sec-WebSocket-Accept"))
            return None
        if not self.opened.done():
            self.opened.set_result(headers.get("sec-websocket-protocol"))
        return rest

    def _fail(self, exc: Exception) -> None:
        if not self.opened.done():
            self.opened.set_exception(exc)
        if self.transport is not None:
            self.transport.close()

    # ---- frames ---------------------------------------------------------------------------

    def data_received(self, data: bytes) -> None:
        if not self.opened.done():
            rest = self._handshake(data)
            if not rest:
                return
            data = rest
        now = time.time()
        buf = self._buf + data if self._buf else data
        n = len(buf)
        pos = 0
        handler = self.handler
        while n - pos >= 2:
            b0 = buf[pos]
            length = buf[pos + 1] & 0x7F
            head = 2
            if length == 126:
                if n - pos < 4:
                    break
                length = _U16.unpack_from(buf, pos + 2)[0]
                head = 4
            elif length == 127:
                if n - pos < 10:
                    break
                length = _U64.unpack_from(buf, pos + 2)[0]
                head = 10
            end = pos + head + length
            if end > n:
                break
            opcode = b0 & 0x0F
            self.bytes_in += head + length
            if opcode in (OP_BINARY, OP_TEXT):
                if b0 & 0x80:
                    handler(buf, pos + head, end, opcode, now)
                else:
                    self._frag, self._frag_op = [buf[pos + head : end]], opcode
            elif opcode == OP_CONT:
                self._frag.append(buf[pos + head : end])
                if b0 & 0x80:
                    whole = b"".join(self._frag)
                    self._frag = []
                    handler(whole, 0, len(whole), self._frag_op, now)
            elif opcode == OP_PING:
                self.send(buf[pos + head : end], OP_PONG)
            elif opcode == OP_CLOSE:
                code = _U16.unpack_from(buf, pos + head)[0] if length >= 2 else 1005
                self._closed_by_peer(code, buf[pos + head : end])
                return
            pos = end
        self._buf = buf[pos:] if pos < n else b""

    def _closed_by_peer(self, code: int, payload: bytes) -> None:
        self.close_code = code
        if not self.opened.done():
            self.opened.set_exception(HandshakeFailed(101, f"closed with {code} right after accept"))
        self.send(payload[:2], OP_CLOSE)
        if self.transport is not None:
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.opened.done():
            self.opened.set_exception(HandshakeFailed(0, f"connection lost: {exc}"))
        if not self.closed:
            self.closed = True
            if self.on_close is not None:
                self.on_close(self.close_code or 1006)

    # ---- sending --------------------------------------------------------------------------

    def send(self, payload: bytes, opcode: int = OP_BINARY) -> None:
        """Send one frame (dropped if the socket is closed)."""
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(frame(payload, opcode))

    def close(self, code: int = 1000) -> None:
        """Send a close frame and drop the connection."""
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(frame(_U16.pack(code), OP_CLOSE))
            self.transport.close()


async def connect(
    host: str, port: int, path: str, headers: dict[str, str], handler: Handler, timeout: float = 10.0
) -> tuple[WsClient, str | None]:
    """Open a websocket; (client, chosen subprotocol) or HandshakeFailed / OSError / TimeoutError."""
    loop = asyncio.get_running_loop()
    client = WsClient(handler)
    client.request(host, port, path, headers)
    started = loop.time()
    await asyncio.wait_for(loop.create_connection(lambda: client, host, port), timeout)
    try:
        subprotocol = await asyncio.wait_for(client.opened, timeout)
    except HandshakeFailed as exc:  # say how long the server kept it waiting
        raise HandshakeFailed(exc.status, f"{exc.detail} after {loop.time() - started:.1f} s") from None
    return client, subprotocol
