"""Test accounts on a test server: made with the shared password, signed in over HTTP."""

from __future__ import annotations

import asyncio

from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model

from tests.e2e.server import DaphneServer
from tests.e2e.wsclient import http_json

PASSWORD = "correct horse battery"


def make_user(name: str) -> None:
    """An account with the shared test password (sync: call it through sync_to_async in a test)."""
    get_user_model().objects.create_user(username=name, password=PASSWORD)


async def existing_token(server: DaphneServer, name: str) -> str:
    """A bearer token from the server's /api/auth/token for the account `name` (made with make_user)."""
    status, body = await asyncio.to_thread(
        http_json, f"{server.http}/api/auth/token", {"username": name, "password": PASSWORD}
    )
    assert status == 200, body
    return body["token"]


async def token_for(server: DaphneServer, name: str) -> str:
    """Create the user `name` and return a bearer token from the server's /api/auth/token."""
    await sync_to_async(make_user)(name)
    return await existing_token(server, name)
