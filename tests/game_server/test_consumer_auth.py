"""Who may open a socket: session cookies, bearer tokens, origins, subprotocols."""

from __future__ import annotations

import msgpack
import pytest
from asgiref.sync import sync_to_async

from game_server.protocol import CloseCode
from game_server.tokens import token_revoke
from tests.game_server.conftest import make_token, make_user, session_cookie


async def test_anonymous_socket_is_closed_4001(open_socket):
    sock, (accepted, _) = await open_socket()
    assert accepted
    assert await sock.closed_with() == CloseCode.WS_4001_UNAUTHENTICATED


async def test_bearer_token_authenticates(open_socket):
    user = await make_user("ada")
    sock, (accepted, subprotocol) = await open_socket(token=await make_token(user))
    assert accepted and subprotocol == "skirmish.v1.msgpack"
    welcome = await sock.expect("welcome")
    assert welcome["user"] == {"id": user.pk, "name": "ada"}


async def test_session_cookie_authenticates(open_socket):
    user = await make_user("grace")
    sock, (accepted, _) = await open_socket(cookie=await session_cookie(user))
    assert accepted
    assert (await sock.expect("welcome"))["user"]["name"] == "grace"


@pytest.mark.parametrize(
    "origin", [b"http://evil.example.com", b"null", b"", None], ids=["foreign", "null", "empty", "missing"]
)
async def test_foreign_or_missing_origin_is_refused_before_accept(open_socket, origin):
    user = await make_user("linus")
    header = (b"origin", origin) if origin is not None else None
    sock, (accepted, _) = await open_socket(cookie=await session_cookie(user), origin=header)
    assert not accepted


async def test_bad_and_revoked_tokens_are_closed_4001(open_socket):
    user = await make_user("ken")
    token = await make_token(user)
    sock, _ = await open_socket(token="sk_not-a-real-token")
    assert await sock.closed_with() == CloseCode.WS_4001_UNAUTHENTICATED
    assert await sync_to_async(token_revoke)(raw=token)
    sock, _ = await open_socket(token=token)
    assert await sock.closed_with() == CloseCode.WS_4001_UNAUTHENTICATED


async def test_token_of_an_inactive_user_is_refused(open_socket):
    user = await make_user("dormant", active=False)
    sock, _ = await open_socket(token=await make_token(user))
    assert await sock.closed_with() == CloseCode.WS_4001_UNAUTHENTICATED


async def test_bearer_header_wins_over_a_session_cookie(open_socket):
    alice, bob = await make_user("alice"), await make_user("bob")
    sock, _ = await open_socket(token=await make_token(bob), cookie=await session_cookie(alice))
    assert (await sock.expect("welcome"))["user"]["name"] == "bob"


async def test_a_token_handshake_makes_one_trip_to_the_database_thread(transactional_db, monkeypatch):
    """The session stack (one more trip through the sync thread's queue) is for cookies only."""
    from game_server import auth

    alice, bob = await make_user("alice"), await make_user("bob")
    headers = [(b"cookie", await session_cookie(alice))]
    token_headers = [*headers, (b"authorization", f"Bearer {await make_token(bob)}".encode())]
    trips = []
    real_db_call = auth.db_call
    monkeypatch.setattr(auth, "db_call", lambda fn: trips.append(fn) or real_db_call(fn))
    seen = {}

    async def app(scope, receive, send):
        seen.update(scope)

    stack = auth.skirmish_auth_stack(app)
    await stack({"type": "websocket", "headers": token_headers}, None, None)
    assert seen["user"] == bob and "session" not in seen and len(trips) == 1
    seen.clear()
    await stack({"type": "websocket", "headers": headers}, None, None)
    assert seen["user"] == alice and "session" in seen and len(trips) == 1


async def test_token_in_query_string_is_refused(open_socket):
    user = await make_user("dennis")
    token = await make_token(user)
    sock, (accepted, _) = await open_socket(cookie=await session_cookie(user), path=f"/ws/?token={token}")
    assert accepted
    assert await sock.closed_with() == CloseCode.WS_4001_UNAUTHENTICATED


@pytest.mark.parametrize("offered", [[], ["chat", "skirmish.v2.msgpack"]], ids=["none", "unknown"])
async def test_unsupported_subprotocol_is_closed_4005(open_socket, offered):
    user = await make_user("barbara")
    sock, (accepted, _) = await open_socket(token=await make_token(user), subprotocols=offered)
    assert accepted
    assert await sock.closed_with() == CloseCode.WS_4005_UNSUPPORTED_SUBPROTOCOL


async def test_json_subprotocol_speaks_json(open_socket):
    user = await make_user("guido")
    sock, (_, subprotocol) = await open_socket(token=await make_token(user), subprotocols=["x", "skirmish.v1.json"])
    assert subprotocol == "skirmish.v1.json"
    out = await sock.comm.receive_output(3)
    assert out["text"].startswith('{"type":"welcome"')


async def test_newer_socket_replaces_the_older_with_4010(open_socket):
    user = await make_user("margaret")
    token = await make_token(user)
    first, _ = await open_socket(token=token)
    await first.expect("welcome")
    second, _ = await open_socket(token=token)
    await second.expect("welcome")
    assert await first.closed_with() == CloseCode.WS_4010_REPLACED
    await second.send({"type": "ping", "rid": 1})
    assert (await second.expect("pong"))["rid"] == 1


async def test_invalid_messages_get_error_frames_then_4002(open_socket, settings):
    settings.SKIRMISH_MAX_INVALID_MESSAGES = 3
    user = await make_user("edsger")
    sock, _ = await open_socket(token=await make_token(user))
    await sock.expect("welcome")
    await sock.send({"type": "lobby.ready", "rid": 5})
    error = await sock.expect("error")
    assert (error["code"], error["rid"], error["field"]) == ("protocol/invalid", 5, "ready")
    await sock.comm.send_to(bytes_data=b"\xc1")
    assert (await sock.expect("error"))["code"] == "protocol/malformed"
    await sock.comm.send_to(text_data='{"type": "ping"}')
    assert (await sock.expect("error"))["code"] == "protocol/bad_frame"
    assert await sock.closed_with() == CloseCode.WS_4002_PROTOCOL_ERROR


async def test_oversize_frame_closes_1009(open_socket):
    user = await make_user("tony")
    sock, _ = await open_socket(token=await make_token(user))
    await sock.expect("welcome")
    await sock.comm.send_to(bytes_data=msgpack.packb({"type": "lobby.chat", "text": "x" * 5000}))
    assert await sock.closed_with() == CloseCode.WS_1009_MESSAGE_TOO_BIG


async def test_lobby_rule_errors_echo_the_request_id(open_socket):
    user = await make_user("frances")
    sock, _ = await open_socket(token=await make_token(user))
    await sock.expect("welcome")
    await sock.send({"type": "lobby.join", "rid": 9, "code": "ZZZZZZ"})
    error = await sock.expect("error")
    assert (error["rid"], error["code"]) == (9, "lobby/not_found")
    await sock.send({"type": "match.input", "rid": 10, "seq": 1, "data": {"col": 1}})
    error = await sock.expect("error")
    assert (error["rid"], error["code"]) == (10, "match/not_in_match")


async def test_session_of_a_deactivated_or_deleted_user_is_refused(open_socket):
    from channels.db import database_sync_to_async

    gone, idle = await make_user("gone"), await make_user("idle")
    gone_cookie, idle_cookie = await session_cookie(gone), await session_cookie(idle)
    await database_sync_to_async(gone.delete)()
    idle.is_active = False
    await database_sync_to_async(idle.save)()
    for cookie in (gone_cookie, idle_cookie):
        sock, (accepted, _) = await open_socket(cookie=cookie)
        assert accepted
        assert await sock.closed_with() == CloseCode.WS_4001_UNAUTHENTICATED


async def test_expired_token_is_refused_on_the_socket(open_socket):
    from datetime import timedelta

    from channels.db import database_sync_to_async
    from django.utils import timezone

    from game_server.models import ApiToken

    user = await make_user("late")
    token = await make_token(user)
    await database_sync_to_async(ApiToken.objects.update)(expires_at=timezone.now() - timedelta(seconds=1))
    sock, _ = await open_socket(token=token)
    assert await sock.closed_with() == CloseCode.WS_4001_UNAUTHENTICATED
