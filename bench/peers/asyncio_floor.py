"""The lower floor: the same arena broadcast as websockets_floor, on bare asyncio Protocols.

No websockets library: the handshake and the frames are done here, the least a CPython process
can do per frame. Each tick's delta is framed once and written to every socket's transport (one
`send` each); each input is unmasked and decoded in `data_received`, with no task per socket. It
speaks what the load generator sends (whole masked frames under 126 bytes, close, ping) and
closes the socket on anything else. Its match logic is websockets_floor's (`FloorMatch`).

Usage: python -m bench.peers.asyncio_floor [port] [rate]; the same URLs and inputs as
websockets_floor (ws://host:port/?match=<m>&seat=<n>, seat -1: spectator).
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.utils import accept_key

from bench.peers.websockets_floor import FloorMatch

MATCHES: dict[str, AsyncioMatch] = {}
MAX_HEAD = 8192  # bytes of a handshake request


def server_frame(payload: bytes, opcode: int = 0x2) -> bytes:
    """One unmasked, unfragmented server frame."""
    n = len(payload)
    if n < 126:
        return bytes((0x80 | opcode, n)) + payload
    return bytes((0x80 | opcode, 126)) + n.to_bytes(2, "big") + payload


class AsyncioMatch(FloorMatch):
    """A FloorMatch whose sockets are `Connection`s: the frame is built once, then written to each."""

    def broadcast(self, payload: bytes) -> None:
        frame = server_frame(payload)
        for conn in self.sockets:
            conn.transport.write(frame)


class Connection(asyncio.Protocol):
    """One socket: the handshake, then its frames (a player's inputs go to its match)."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self.buffer = b""
        self.open = False
        self.match_key = ""
        self.match: AsyncioMatch | None = None
        self.seat = -1
        self.transport: Any = None

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        buf = self.buffer + data if self.buffer else data
        if not self.open:
            head, sep, rest = buf.partition(b"\r\n\r\n")
            if not sep:
                if len(buf) > MAX_HEAD:
                    self.transport.close()
                self.buffer = buf
                return
            if not self.handshake(head):
                return
            buf = rest
        self.buffer = self.frames(buf)

    def handshake(self, head: bytes) -> bool:
        """Answer the upgrade request and join the match its URL names (False: refused and closed)."""
        lines = head.decode("latin-1").split("\r\n")
        headers = dict((k.strip().lower(), v.strip()) for k, _, v in (line.partition(":") for line in lines[1:]))
        parts = lines[0].split(" ")
        key = headers.get("sec-websocket-key")
        if len(parts) != 3 or key is None:
            self.transport.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            self.transport.close()
            return False
        reply = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        self.transport.write(f"{reply}Sec-WebSocket-Accept: {accept_key(key)}\r\n\r\n".encode())
        self.open = True
        query = parse_qs(urlsplit(parts[1]).query)
        self.match_key = query.get("match", ["0"])[0]
        self.seat = int(query.get("seat", ["-1"])[0])
        match = MATCHES.get(self.match_key)
        if match is None:
            match = MATCHES[self.match_key] = AsyncioMatch(self.rate)
        self.match = match
        match.sockets.add(self)
        if match.task is None or match.task.done():
            match.task = asyncio.get_running_loop().create_task(match.run())
        return True

    def frames(self, buf: bytes) -> bytes:
        """Handle the whole frames at the start of `buf`; the partial rest is returned."""
        i, end = 0, len(buf)
        while i + 2 <= end:
            head, size = buf[i], buf[i + 1]
            n = size & 0x7F
            if not head & 0x80 or not size & 0x80 or n >= 126:
                self.transport.close()  # (a fragment, an unmasked or a big frame: not the workload's)
                return b""
            if i + 6 + n > end:
                break
            key = buf[i + 2 : i + 6] * (n // 4 + 1)
            masked = int.from_bytes(buf[i + 6 : i + 6 + n], "little") ^ int.from_bytes(key[:n], "little")
            payload = masked.to_bytes(n, "little")
            i += 6 + n
            opcode = head & 0x0F
            if opcode == 0x2 and self.seat >= 0 and self.match is not None:
                self.match.take_input(self.seat, payload)
            elif opcode == 0x9:
                self.transport.write(server_frame(payload, 0xA))
            elif opcode == 0x8:
                self.transport.write(server_frame(payload[:2], 0x8))
                self.transport.close()
                return b""
        return buf[i:]

    def connection_lost(self, exc: Exception | None) -> None:
        match = self.match
        if match is not None:
            match.sockets.discard(self)
            if not match.sockets:
                MATCHES.pop(self.match_key, None)


async def main(port: int, rate: int) -> None:
    """Serve until killed."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Connection(rate), "127.0.0.1", port, backlog=4096)
    print(f"asyncio floor on ws://127.0.0.1:{port} at {rate} Hz", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 8766, int(sys.argv[2]) if len(sys.argv) > 2 else 20))
