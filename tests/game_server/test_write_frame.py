"""daphne_adapter on a real Twisted TCP transport (a socketpair): write_frame's frames go out at once,
also behind bytes Twisted still holds, and nothing is lost or reordered when the kernel is full; with
the kernel mark (loopback TCP) the server holds about a frame for a client that reads nothing; the
HTTP side of an upgraded connection is let go of once the websocket is open."""

from __future__ import annotations

import fcntl
import gc
import socket
import struct
import sys
import weakref
from collections.abc import Iterator
from typing import Any

import pytest
from twisted.internet import tcp
from twisted.web.http import HTTPChannel

from game_server import daphne_adapter
from game_server.daphne_adapter import (
    FLUSH_BYTES,
    buffered_bytes,
    limit_kernel_queue,
    release_http_side,
    sockets_behind,
    write_frame,
)

SIOCOUTQNSD = 0x894B  # (Linux) bytes a TCP socket holds that it has not sent yet


class Reactor:
    """What a transport asks of its reactor (Twisted's method names): (un)registering for reads and writes."""

    def __init__(self) -> None:
        self.writers: set[Any] = set()

    def addReader(self, reader: Any) -> None: ...

    def removeReader(self, reader: Any) -> None: ...

    def addWriter(self, writer: Any) -> None:
        self.writers.add(writer)

    def removeWriter(self, writer: Any) -> None:
        self.writers.discard(writer)


class Port:
    _realPortNumber = 8000


class Protocol:
    """The state write_frame reads of daphne's websocket protocol."""

    STATE_OPEN, STATE_CLOSED = 1, 3
    state = STATE_OPEN
    _perMessageCompress = None
    send_queue: list[Any] = []
    _skirmish_slow_since = None
    _skirmish_marked = False

    def makeConnection(self, transport: Any) -> None:
        self.transport = transport


@pytest.fixture
def pair(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Protocol, socket.socket, Reactor]]:
    monkeypatch.setattr(daphne_adapter, "_tcp_server", tcp.Server)
    server, client = socket.socketpair()
    server.setblocking(False)
    client.setblocking(False)
    reactor = Reactor()
    protocol = Protocol()
    transport = tcp.Server(server, protocol, ("127.0.0.1", 40000), Port(), 1, reactor)
    protocol.makeConnection(transport)
    yield protocol, client, reactor
    server.close()
    client.close()


def received(client: socket.socket) -> bytes:
    data = b""
    while True:
        try:
            chunk = client.recv(1 << 20)
        except BlockingIOError:
            return data
        data += chunk


def test_a_frame_goes_out_at_once(pair: tuple[Protocol, socket.socket, Reactor]) -> None:
    protocol, client, reactor = pair
    assert write_frame(protocol, b"tick 1", droppable=True)
    assert received(client) == b"tick 1" and not reactor.writers


def test_a_frame_behind_held_bytes_takes_them_along_at_once(pair: tuple[Protocol, socket.socket, Reactor]) -> None:
    protocol, client, reactor = pair
    protocol.transport.write(b"ping;")  # (autobahn's ping: Twisted holds it for the loop's next turn)
    assert received(client) == b"" and reactor.writers
    assert write_frame(protocol, b"tick 1", droppable=True)
    assert received(client) == b"ping;tick 1"
    assert buffered_bytes(protocol) == 0 and not reactor.writers


def test_a_full_kernel_buffer_keeps_every_byte_in_order(pair: tuple[Protocol, socket.socket, Reactor]) -> None:
    protocol, client, reactor = pair
    sent = b""
    for n in range(2_000):  # far past what the socketpair's kernel buffers take
        frame = b"%06d" % n + b"." * 994
        if n % 50 == 0:
            protocol.transport.write(frame)  # (a reply through autobahn now and then)
        else:
            write_frame(protocol, frame, droppable=False)
        sent += frame
    held = buffered_bytes(protocol)
    assert held > FLUSH_BYTES and reactor.writers  # behind: the rest waits for the socket to drain
    got = b""
    while len(got) < len(sent):
        got += received(client)
        protocol.transport.doWrite()  # (what the reactor does once the socket is writable)
    assert got == sent and buffered_bytes(protocol) == 0 and not reactor.writers


def test_a_droppable_frame_is_dropped_while_the_socket_is_behind_and_a_reply_is_not(
    pair: tuple[Protocol, socket.socket, Reactor], monkeypatch: pytest.MonkeyPatch
) -> None:
    protocol, client, reactor = pair
    monkeypatch.setitem(daphne_adapter._config, "slow_bytes", 100_000)
    sent = b""
    while buffered_bytes(protocol) <= 100_000:  # the client reads nothing: the kernel fills, then Twisted holds
        frame = b"%06d" % len(sent) + b"." * 994
        assert write_frame(protocol, frame, droppable=False)
        sent += frame
    assert protocol._skirmish_slow_since is None
    assert not write_frame(protocol, b"tick", droppable=True)  # behind: the newest state waits for a resync
    assert protocol._skirmish_slow_since is not None  # (from now on the socket counts towards 4009)
    assert write_frame(protocol, b"reply", droppable=False)  # never dropped
    got = b""
    while len(got) < len(sent) + len(b"reply"):
        got += received(client)
        protocol.transport.doWrite()
    assert got == sent + b"reply" and not reactor.writers


def tcp_pair(client_buffer: int = 0) -> tuple[socket.socket, socket.socket]:
    """(server side, client side) of a loopback TCP connection; `client_buffer`: the client's SO_RCVBUF."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        client = socket.socket()
        if client_buffer:
            client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, client_buffer)
        client.connect(listener.getsockname())
        server, _ = listener.accept()
    server.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # (as daphne's HTTP channel does)
    server.setblocking(False)
    client.setblocking(False)
    return server, client


def unsent_in_kernel(sock: socket.socket) -> int:
    return struct.unpack("i", fcntl.ioctl(sock.fileno(), SIOCOUTQNSD, b"\0" * 4))[0]


@pytest.mark.skipif(sys.platform != "linux", reason="TCP_NOTSENT_LOWAT and SIOCOUTQNSD as Linux has them")
@pytest.mark.parametrize("size", [60, 1_000, 20_000])
@pytest.mark.parametrize("client_buffer", [4096, 0])
def test_with_the_kernel_mark_the_server_holds_one_frame_for_a_client_that_reads_nothing(
    size: int, client_buffer: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slow reader's lag is what the server holds for it over its reading speed: about a frame,
    whatever the frame's size and the client's buffer, not 384 KiB (minutes of a small-frame game)."""
    monkeypatch.setattr(daphne_adapter, "_tcp_server", tcp.Server)
    monkeypatch.setitem(daphne_adapter._config, "slow_bytes", 0)
    server, client = tcp_pair(client_buffer)
    protocol = Protocol()
    protocol.makeConnection(tcp.Server(server, protocol, ("127.0.0.1", 40000), Port(), 1, Reactor()))
    limit_kernel_queue(protocol)
    assert protocol._skirmish_marked
    monkeypatch.setattr(daphne_adapter, "_open", weakref.WeakSet([protocol]))  # (what on_open does)
    assert sockets_behind() == 0
    try:
        written = []
        for n in range(20_000_000 // size):  # 20 MB of frames, far past every buffer on the way
            frame = b"%08d" % n + b"." * (size - 8)
            if write_frame(protocol, frame, droppable=True):
                written.append(frame)
        kernel, held = unsent_in_kernel(server), buffered_bytes(protocol)
        print(f"{size} B frames: {len(written)} written, then the kernel held {kernel} B unsent, Twisted {held} B")
        # The one frame it refused, which waits in Twisted, and in the kernel the last frame it took
        # (cut into segments of up to half the client's window: 2 KiB with the 4 KiB buffer), or two:
        # Twisted writes a held frame without MSG_EOR, so the next frame may join its segment. Before
        # the mark: 128 KiB in the kernel and 256 KiB in Twisted, whatever the frames' size.
        assert kernel + held <= 3 * size + 2048
        assert len(written) < 20_000_000 // size // 10  # the rest were dropped
        assert protocol._skirmish_slow_since is not None  # behind: from now on it counts towards 4009
        assert sockets_behind() == 1  # (skirmish_sockets_behind)
        assert write_frame(protocol, b"reply", droppable=False)  # never dropped
        got = b""
        expected = b"".join(written) + b"reply"
        while len(got) < len(expected):
            got += received(client)
            protocol.transport.doWrite()  # (what the reactor does once the socket is writable)
        assert got == expected  # every frame written arrives, in order
        assert write_frame(protocol, b"tick", droppable=True) and received(client) == b"tick"  # caught up
        assert protocol._skirmish_slow_since is None and sockets_behind() == 0
    finally:
        server.close()
        client.close()


class UpgradeRequest:
    """Stands for daphne's WebRequest: it points back at its channel, as the real one does."""

    def __init__(self, channel: HTTPChannel) -> None:
        self.channel = channel


def test_the_http_side_of_an_upgraded_socket_is_freed_at_once_and_writes_go_on() -> None:
    server, client = tcp_pair()  # (TCP, not a socketpair: the channel sets TCP_NODELAY)
    channel = HTTPChannel()
    channel.timeOut = None  # (no idle timer: it would need the global reactor)
    transport = tcp.Server(server, channel, ("127.0.0.1", 40000), Port(), 1, Reactor())
    channel.makeConnection(transport)  # registers itself as the transport's producer, as under daphne
    channel.requests.append(UpgradeRequest(channel))  # the upgrade request, which never finishes
    websocket = Protocol()
    transport.protocol = websocket  # daphne hands the connection over
    websocket.makeConnection(transport)
    assert transport.producer is channel
    gone_channel, gone_request = weakref.ref(channel), weakref.ref(channel.requests[0])
    del channel
    was_enabled = gc.isenabled()
    gc.disable()  # freed by reference counting, not left as cyclic garbage for a full collection
    try:
        release_http_side(websocket)
        assert gone_channel() is None and gone_request() is None
    finally:
        if was_enabled:
            gc.enable()
    assert transport.producer is None
    release_http_side(websocket)  # (again: nothing left to release)
    try:
        assert write_frame(websocket, b"tick 1", droppable=True)
        assert received(client) == b"tick 1"
    finally:
        server.close()
        client.close()
