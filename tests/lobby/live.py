"""Helpers for tests against a real daphne: signed-in websocket clients and HTTP GETs."""

from __future__ import annotations

import json
import urllib.request

from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model

from game_server.tokens import token_issue
from tests.e2e.server import DaphneServer
from tests.e2e.wsclient import WsClient


def _token(name: str) -> str:
    user = get_user_model().objects.create_user(username=name)
    raw, _ = token_issue(user=user)
    return raw


async def connect(server: DaphneServer, name: str) -> WsClient:
    """A new user `name`, signed in over a JSON websocket (welcome consumed)."""
    token = await sync_to_async(_token)(name)
    client = await WsClient.open(server.ws, token=token, origin=server.http, codec="json")
    await client.expect_type("welcome")
    return client


def get_json(url: str) -> dict:
    """GET a JSON body."""
    with urllib.request.urlopen(url, timeout=5) as resp:
        return json.loads(resp.read())
