"""The two HTTP calls a non-browser client needs: register an account, get a token."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from typing import Any

from clients.skirmish_client.errors import SkirmishError

TIMEOUT = 10.0


def _post_json(url: str, body: dict[str, Any], timeout: float = TIMEOUT) -> dict[str, Any]:
    """POST a JSON body; the parsed JSON answer, or SkirmishError with the server's error code."""
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST")
    req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as err:
        try:
            detail = json.loads(err.read()).get("error", {})
        except ValueError:
            detail = {}
        raise SkirmishError(detail.get("code", f"http/{err.code}"), detail.get("message", str(err))) from None
    except urllib.error.URLError as err:
        raise SkirmishError("http/unreachable", f"cannot reach {url}: {err.reason}") from None


async def register(base_url: str, username: str, password: str) -> dict[str, Any]:
    """Create an account (`POST /api/auth/register`); returns {"user": {"id", "name"}}."""
    return await asyncio.to_thread(
        _post_json, f"{base_url.rstrip('/')}/api/auth/register", {"username": username, "password": password}
    )


async def issue_token(base_url: str, username: str, password: str) -> dict[str, Any]:
    """Sign in (`POST /api/auth/token`); returns {"token", "expires_at", "user"}."""
    return await asyncio.to_thread(
        _post_json, f"{base_url.rstrip('/')}/api/auth/token", {"username": username, "password": password}
    )
