"""Hostile clients against a real daphne: size limits, tokens in URLs, idle sockets, junk handshakes."""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import struct

import msgpack
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidMessage, InvalidStatus

from tests.e2e.accounts import token_for
from tests.e2e.server import DaphneServer
from tests.e2e.server import test_database_url as database_url
from tests.e2e.wsclient import WsClient

pytestmark = pytest.mark.e2e


async def closed_code(client: WsClient) -> int | None:
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            await client.recv(timeout=10)
    return closed.value.rcvd.code if closed.value.rcvd else None


async def still_serving(server: DaphneServer, token: str) -> None:
    client = await WsClient.open(server.ws, token=token, origin=server.http)
    await client.expect_type("welcome")
    await client.send({"type": "ping"})
    await client.expect_type("pong")
    await client.close()


async def test_frame_over_the_protocol_limit_closes_1009(server: DaphneServer):
    token = await token_for(server, "big")
    client = await WsClient.open(server.ws, token=token, origin=server.http)
    await client.expect_type("welcome")
    await client.ws.send(msgpack.packb({"type": "lobby.chat", "text": "x" * 5000}))
    assert await closed_code(client) == 1009
    await still_serving(server, token)


async def test_frame_over_daphnes_cap_is_dropped_and_the_server_lives(server: DaphneServer):
    token = await token_for(server, "huge")
    client = await WsClient.open(server.ws, token=token, origin=server.http)
    await client.expect_type("welcome")
    await client.ws.send(b"\x00" * 70_000)  # over --websocket-max-message-size 65536
    assert await closed_code(client) in (None, 1009)  # autobahn fails the connection
    await still_serving(server, token)
    assert "Traceback" not in server.logs()


@pytest.mark.parametrize("drop", ["reset", "eof"])
async def test_sockets_gone_without_a_close_frame_give_their_place_back(transactional_db, tmp_path, drop: str):
    """A client whose TCP connection is reset (RST), or ends (FIN) with no close frame, is
    disconnected like any other: with at most 2 sockets per address, 3 such clients in a row
    leave room for 2 more."""
    env = {"MAX_SOCKETS_PER_IP": "2"}
    server = DaphneServer(database_url=database_url(), log_path=tmp_path / "daphne.log", env=env)
    server.start()
    try:
        token = await token_for(server, "dropper")
        for _ in range(3):
            client = await WsClient.open(server.ws, token=token, origin=server.http)
            await client.expect_type("welcome")
            transport = client.ws.transport
            if drop == "reset":
                linger = struct.pack("ii", 1, 0)  # close with RST
                transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
                transport.abort()
            else:
                transport.close()
        await asyncio.sleep(0.5)
        first = await WsClient.open(server.ws, token=token, origin=server.http)
        await first.expect_type("welcome")
        second = await WsClient.open(server.ws, token=token, origin=server.http)
        await second.expect_type("welcome")
        await second.send({"type": "ping"})
        await second.expect_type("pong")
        await first.close()
        await second.close()
        assert "Traceback" not in server.logs()
    finally:
        server.stop()


async def test_token_in_the_query_string_is_refused_and_never_logged(server: DaphneServer):
    token = await token_for(server, "leaky")
    ws = await connect(f"{server.ws}?token={token}", subprotocols=["skirmish.v1.msgpack"], origin=server.http)
    client = WsClient(ws, binary=True)
    assert await closed_code(client) == 4001
    await still_serving(server, token)  # a bearer header, which is never logged either
    await asyncio.sleep(0.3)
    logs = server.logs()
    assert token not in logs and token[3:20] not in logs


async def test_idle_socket_that_never_answers_pings_is_closed(transactional_db, tmp_path):
    server = DaphneServer(
        database_url=database_url(),
        log_path=tmp_path / "daphne.log",
        args=["--ping-interval", "1", "--ping-timeout", "2"],
    )
    server.start()
    try:
        token = await token_for(server, "sleepy")
        sock = socket.create_connection(("127.0.0.1", server.port))
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall(
            (
                f"GET /ws/ HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: skirmish.v1.json\r\n"
                f"Origin: {server.http}\r\nAuthorization: Bearer {token}\r\n\r\n"
            ).encode()
        )
        sock.settimeout(15)
        assert b" 101 " in sock.recv(4096).split(b"\r\n")[0]
        received = b""
        while True:  # read what comes (welcome, pings) but never answer: the server must hang up
            try:
                chunk = await asyncio.to_thread(sock.recv, 65536)
            except ConnectionResetError:
                break  # hung up hard: fine too
            if not chunk:
                break
            received += chunk
        assert b"\x89" in received  # it did ping us
        sock.close()
    finally:
        server.stop()


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-WebSocket-Protocol": "skirmish.v1.json, \u00e9vil"},
        {"X-Junk": "a" * 60_000},
    ],
    ids=["non-ascii-subprotocol", "huge-header"],
)
async def test_junk_handshakes_do_not_leak_errors(server: DaphneServer, headers: dict[str, str]):
    token = await token_for(server, "junk")
    try:
        ws = await connect(server.ws, origin=server.http, additional_headers=headers, open_timeout=5)
        await ws.close()
    except (InvalidStatus, InvalidMessage, OSError, ConnectionClosed, TimeoutError) as exc:
        text = str(exc)
        assert "Traceback" not in text and "Error(" not in text
    await still_serving(server, token)
