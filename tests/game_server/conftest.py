"""Consumer-level fixtures: users, tokens, and communicators on the real ASGI application."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import msgpack
import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import get_user_model
from django.test import Client

from game_server import protocol as p
from game_server.asgi import application
from game_server.tokens import token_issue

ORIGIN = (b"origin", b"http://localhost")


@database_sync_to_async
def make_user(name: str, *, active: bool = True) -> Any:
    return get_user_model().objects.create_user(username=name, password="pw-for-tests-1", is_active=active)


@database_sync_to_async
def make_token(user: Any) -> str:
    return token_issue(user=user)[0]


@database_sync_to_async
def session_cookie(user: Any) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


class Socket:
    """A communicator that speaks msgpack."""

    def __init__(self, comm: WebsocketCommunicator) -> None:
        self.comm = comm
        self.reader = p.FrameReader()

    async def send(self, message: dict[str, Any]) -> None:
        await self.comm.send_to(bytes_data=msgpack.packb(message))

    async def recv(self, timeout: float = 3) -> dict[str, Any]:
        while True:
            out = await self.comm.receive_output(timeout)
            assert out["type"] == "websocket.send", out
            msg: dict[str, Any] | None = self.reader.read(out["bytes"])
            if msg is not None:  # (None: a delta before the first snapshot)
                return msg

    async def expect(self, kind: str, timeout: float = 3) -> dict[str, Any]:
        while True:
            msg = await self.recv(timeout)
            if msg["type"] == kind:
                return msg

    async def closed_with(self, timeout: float = 3) -> int:
        while True:
            out = await self.comm.receive_output(timeout)
            if out["type"] == "websocket.close":
                return out.get("code", 1000)


@pytest.fixture
async def open_socket(transactional_db) -> AsyncIterator[Callable[..., Any]]:
    opened: list[WebsocketCommunicator] = []

    async def _open(
        *,
        token: str | None = None,
        cookie: bytes | None = None,
        subprotocols: list[str] | None = None,
        origin: tuple[bytes, bytes] | None = ORIGIN,
        path: str = "/ws/",
    ) -> tuple[Socket, tuple[bool, Any]]:
        headers = [origin] if origin else []
        if token is not None:
            headers.append((b"authorization", f"Bearer {token}".encode()))
        if cookie is not None:
            headers.append((b"cookie", cookie))
        comm = WebsocketCommunicator(
            application,
            path,
            headers=headers,
            subprotocols=["skirmish.v1.msgpack"] if subprotocols is None else subprotocols,
        )
        opened.append(comm)
        return Socket(comm), await comm.connect()

    yield _open
    for comm in opened:
        await comm.disconnect()
