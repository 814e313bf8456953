"""A new account on a test server, signed in over HTTP: what several e2e tests start from."""

from __future__ import annotations

import asyncio

from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model

from tests.e2e.server import DaphneServer
from tests.e2e.wsclient import http_json

PASSWORD = "correct horse battery"


async def token_for(server: DaphneServer, name: str) -> str:
    """Create the user `name` and return a bearer token from the server's /api/auth/token."""
    await sync_to_async(get_user_model().objects.create_user)(username=name, password=PASSWORD)
    status, body = await asyncio.to_thread(
        http_json, f"{server.http}/api/auth/token", {"username": name, "password": PASSWORD}
    )
    assert status == 200, body
    return body["token"]
