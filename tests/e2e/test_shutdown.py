"""SIGTERM of a web process: every client is told to reconnect (1012), and the process exits."""

from __future__ import annotations

import asyncio
import signal
import time

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from websockets.exceptions import ConnectionClosed

from tests.e2e.server import DaphneServer
from tests.e2e.wsclient import WsClient, http_json

pytestmark = pytest.mark.e2e


async def test_sigterm_closes_sockets_with_1012_then_exits(server: DaphneServer):
    await sync_to_async(get_user_model().objects.create_user)(username="ann", password="correct horse battery")
    status, body = await asyncio.to_thread(
        http_json, f"{server.http}/api/auth/token", {"username": "ann", "password": "correct horse battery"}
    )
    clients = [await WsClient.open(server.ws, token=body["token"], origin=server.http) for _ in range(1)]
    await clients[0].expect_type("welcome")
    started = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            await clients[0].recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1012
    assert await asyncio.to_thread(server.proc.wait, 15) == 0
    assert time.monotonic() - started < 10
    assert "told 1 sockets to reconnect (1012)" in server.logs()
