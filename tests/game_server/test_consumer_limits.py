"""Abuse: floods get `rate_limited` then 4008; join-code guessing is throttled; per-IP caps."""

from __future__ import annotations

import msgpack

from game_server.consumers import base
from game_server.protocol import CloseCode
from tests.game_server.conftest import make_token, make_user


async def signed_in(open_socket, name: str):
    user = await make_user(name)
    sock, (accepted, _) = await open_socket(token=await make_token(user))
    assert accepted
    await sock.expect("welcome")
    return sock


async def test_flood_gets_rate_limited_then_closed_4008(open_socket, settings):
    settings.SKIRMISH_RATE_LIMITS = {**settings.SKIRMISH_RATE_LIMITS, "message": (5, 10), "patience": (0.001, 5)}
    sock = await signed_in(open_socket, "flood")
    for rid in range(1, 40):
        await sock.comm.send_to(bytes_data=msgpack.packb({"type": "ping", "rid": rid}))
    pongs, limited = 0, 0
    while True:
        out = await sock.comm.receive_output(3)
        if out["type"] == "websocket.close":
            assert out["code"] == CloseCode.WS_4008_RATE_LIMITED
            break
        msg = sock.reader.read(out["bytes"])
        pongs += msg["type"] == "pong"
        limited += msg["type"] == "error" and msg["code"] == "rate_limited"
    assert pongs == 10  # the burst
    assert limited >= 1  # told first, then closed


async def test_guessing_join_codes_is_throttled_per_user(open_socket, settings):
    settings.SKIRMISH_RATE_LIMITS = {**settings.SKIRMISH_RATE_LIMITS, "code": (0.001, 3)}
    sock = await signed_in(open_socket, "guesser")
    codes = []
    for rid, guess in enumerate(["AAAAAA", "BBBBBB", "CCCCCC", "DDDDDD"], start=1):
        await sock.send({"type": "lobby.join", "rid": rid, "code": guess})
        codes.append((await sock.expect("error"))["code"])
    assert codes == ["lobby/not_found"] * 3 + ["rate_limited"]


async def test_rate_limits_survive_a_reconnect(open_socket, settings):
    settings.SKIRMISH_RATE_LIMITS = {**settings.SKIRMISH_RATE_LIMITS, "code": (0.001, 1)}
    user = await make_user("reconnector")
    token = await make_token(user)
    first, _ = await open_socket(token=token)
    await first.expect("welcome")
    await first.send({"type": "lobby.join", "rid": 1, "code": "AAAAAA"})
    assert (await first.expect("error"))["code"] == "lobby/not_found"
    second, _ = await open_socket(token=token)
    await second.expect("welcome")
    await second.send({"type": "lobby.join", "rid": 2, "code": "BBBBBB"})
    assert (await second.expect("error"))["code"] == "rate_limited"


async def test_connections_per_address_are_capped(open_socket, settings):
    settings.SKIRMISH_MAX_SOCKETS_PER_IP = 2
    socks = []
    for i in range(3):
        user = await make_user(f"crowd{i}")
        sock, (accepted, _) = await open_socket(token=await make_token(user))
        assert accepted
        socks.append(sock)
    await socks[0].expect("welcome")
    await socks[1].expect("welcome")
    assert await socks[2].closed_with() == CloseCode.WS_4011_TOO_MANY_CONNECTIONS
    await socks[2].comm.disconnect()  # the refused client finishes the close
    await socks[0].comm.disconnect()
    user = await make_user("latecomer")
    sock, _ = await open_socket(token=await make_token(user))
    assert (await sock.expect("welcome"))["user"]["name"] == "latecomer"
    assert sum(base._sockets_by_ip.values()) == 2
