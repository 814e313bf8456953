"""The Python client library against a real server: lobby calls, a whole match, a reconnect mid-match."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async

from clients.skirmish_client import SkirmishClient, SkirmishError, register
from game_server import protocol as p
from lobby.models import Match
from tests.clients.conftest import PASSWORD, make_user
from tests.e2e.server import DaphneServer

pytestmark = pytest.mark.e2e


async def play(client: SkirmishClient, column: int, drop_after: int | None = None) -> tuple[str | None, int]:
    """Stack `column` until the match ends; drop the socket once after `drop_after` moves."""
    stream = client.snapshots()
    moves = 0
    async for view in stream:
        game = view.game
        if game["turn"] == view.seat and game["winner"] is None and not client.awaiting_ack(view):
            if drop_after is not None and moves == drop_after:
                drop_after = None
                await client.drop_connection()
                continue
            await client.send_input({"col": column})
            moves += 1
    return (stream.outcome.reason if stream.outcome else None), moves


async def test_register_and_sign_in_with_a_token(server: DaphneServer):
    created = await register(server.http, "carol", PASSWORD)
    assert created["user"]["name"] == "carol"
    with pytest.raises(SkirmishError) as taken:
        await register(server.http, "carol", PASSWORD)
    assert taken.value.code == "auth/username_taken"
    with pytest.raises(SkirmishError) as wrong:
        await SkirmishClient.sign_in(server.http, "carol", "wrong password")
    assert wrong.value.code == "auth/bad_credentials"
    async with await SkirmishClient.sign_in(server.http, "carol", PASSWORD) as carol:
        assert carol.user is not None and carol.user.name == "carol"
        assert "connect_four" in carol.games
        assert await carol.ping() > 0
        with pytest.raises(SkirmishError) as missing:
            await carol.join_lobby(code="ZZZZZZ")
        assert missing.value.code == p.ErrorCode.LOBBY_NOT_FOUND


async def test_two_clients_play_a_match_and_a_dropped_socket_keeps_the_seat(server: DaphneServer):
    await sync_to_async(make_user)("alice")
    await sync_to_async(make_user)("bob")
    await sync_to_async(make_user)("sam")
    alice = await SkirmishClient.sign_in(server.http, "alice", PASSWORD)  # msgpack
    bob = await SkirmishClient.sign_in(server.http, "bob", PASSWORD, codec=p.JSON)

    listing = await bob.list_lobbies(game="connect_four")
    assert listing == []
    sam = await SkirmishClient.sign_in(server.http, "sam", PASSWORD)
    created = await alice.create_lobby("Friday", "connect_four", options={"turn_seconds": 20})
    await bob.until(lambda c: created["lobby_id"] in c.lobbies)  # the live list saw it
    assert bob.lobbies[created["lobby_id"]].host == "alice"
    assert await bob.join_lobby(lobby_id=created["lobby_id"]) == created["lobby_id"]
    await alice.until(lambda c: c.lobby is not None and len(c.lobby.members) == 2)
    await bob.chat("good luck")
    await alice.until(lambda c: any(line.text == "good luck" for line in c.chat_log))

    with pytest.raises(SkirmishError) as early:
        await alice.start_match()
    assert early.value.code == p.ErrorCode.NOT_READY
    await alice.set_ready(True)
    await bob.set_ready(True)
    match_id = await alice.start_match()
    a_match, b_match = await alice.wait_match(), await bob.wait_match()
    assert a_match.match_id == b_match.match_id == match_id
    assert (a_match.seat, b_match.seat) == (0, 1)
    await alice.until(lambda c: c.view is not None)
    first = alice.view.game["turn"]
    winner, loser = (alice, bob) if first == 0 else (bob, alice)
    watching = await sam.spectate(match_id)
    assert watching.seat is None and [pl.user.name for pl in watching.players] == ["alice", "bob"]
    sam_views = sam.snapshots()

    (w_reason, w_moves), (l_reason, l_moves) = await asyncio.wait_for(
        asyncio.gather(play(winner, 0), play(loser, 6, drop_after=1)), 60
    )
    assert w_reason == l_reason == "four_in_a_row"
    assert (w_moves, l_moves) == (4, 3)
    assert loser.reconnects == 1 and loser.connected
    seen = [view async for view in sam_views]  # the spectator saw the same match, to the end
    assert seen and seen[-1].seat is None and seen[-1].game["winner"] == first
    assert sum(map(len, seen[-1].game["board"])) == 7 and sam_views.outcome.winners == [first]
    assert winner.last_outcome is not None and winner.last_outcome.outcome.winners == [first]
    match = await sync_to_async(Match.objects.get)(pk=match_id)
    assert match.status == "finished"
    seats = await sync_to_async(list)(match.participants.order_by("seat").values_list("user__username", "is_winner"))
    assert dict(seats)[winner.user.name] is True and dict(seats)[loser.user.name] is False
    await alice.close()
    await bob.close()
    await sam.close()
    assert "Traceback" not in server.logs()
