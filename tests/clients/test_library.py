"""The Python client library against a real server: lobby calls, a whole match, a reconnect mid-match."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async

from clients.skirmish_client import MatchView, SkirmishClient, SkirmishError, SnapshotStream, register
from game_server import protocol as p
from lobby.models import Match
from tests.e2e.accounts import PASSWORD, make_user
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


async def collect(stream: SnapshotStream) -> list[MatchView]:
    """Every view a stream yields, to its end."""
    return [view async for view in stream]


async def test_live_list_spectate_from_it_and_a_replay_to_its_stored_outcome(server: DaphneServer):
    for name in ("ann", "ben", "sam"):
        await sync_to_async(make_user)(name)
    ann = await SkirmishClient.sign_in(server.http, "ann", PASSWORD)
    ben = await SkirmishClient.sign_in(server.http, "ben", PASSWORD, codec=p.JSON)
    sam = await SkirmishClient.sign_in(server.http, "sam", PASSWORD)
    assert await sam.list_live_matches() == []

    created = await ann.create_lobby("Public table", "connect_four", options={"turn_seconds": 20})
    await ben.join_lobby(code=created["code"])
    await ann.set_ready(True)
    await ben.set_ready(True)
    match_id = await ann.start_match()

    # the live list is pushed to sam: the match, its players and their ratings (none yet), nobody watching
    await sam.until(lambda c: match_id in c.live_matches)
    row = sam.live_matches[match_id]
    assert row.game == "connect_four" and row.mode == "lobby" and row.spectators == 0
    assert [(pl.seat, pl.user.name, pl.rating) for pl in row.players] == [(0, "ann", None), (1, "ben", None)]
    watching = await sam.spectate(row.match_id)
    assert watching.seat is None and not watching.replay
    sam_views = sam.snapshots()
    await ann.until(lambda c: c.view is not None and c.view.doc["spectators"] == 1)  # players see the count
    await sam.until(lambda c: c.live_matches[match_id].spectators == 1)  # and so does the list
    await sam.drop_connection()  # the client spectates the same match again after its reconnect
    await sam.until(lambda c: c.reconnects == 1 and c.connected and c.match is not None and c.view is not None)

    await ann.until(lambda c: c.view is not None)
    first = ann.view.game["turn"]
    winner, loser = (ann, ben) if first == 0 else (ben, ann)
    await asyncio.wait_for(asyncio.gather(play(winner, 0), play(loser, 6)), 60)
    live = await asyncio.wait_for(collect(sam_views), 15)
    assert live[-1].game["winner"] == first and live[-1].seat is None
    assert sam.last_outcome is not None and sam.last_outcome.match_id == match_id  # watched to the end
    await sam.until(lambda c: match_id not in c.live_matches)  # an ended match leaves the list

    stored = await sync_to_async(Match.objects.get)(pk=match_id)
    participants = await sync_to_async(list)(stored.participants.values_list("seat", "placement"))
    started = await sam.replay(match_id, speed=2)
    assert started.replay and started.seat is None and started.match_id == match_id
    replayed = sam.snapshots()
    first_view = await replayed.next(timeout=10)
    assert first_view.tick == 0 and sum(map(len, first_view.game["board"])) == 0  # from the start
    paused = await sam.replay_control(paused=True)
    assert paused.paused and paused.speed == 2
    held = sam.view.tick
    with pytest.raises(TimeoutError):  # nothing comes while paused (one frame in flight at most)
        while True:
            view = await replayed.next(timeout=0.5)
            assert view.tick <= held + 1
    resumed = await sam.replay_control(paused=False, speed=4)
    assert not resumed.paused and resumed.speed == 4
    views = [view async for view in replayed]
    assert [v.tick for v in views] == list(range(views[0].tick, stored.ticks + 1))  # every tick, in order
    assert views[-1].game == live[-1].game  # the replay ends on the live final board
    ended = sam.last_outcome
    assert ended is not None and ended.match_id == match_id and ended.state_hash == stored.final_hash
    assert ended.outcome.reason == stored.reason == "four_in_a_row"
    assert ended.outcome.placements == {str(seat): place for seat, place in participants}
    assert ended.outcome == winner.last_outcome.outcome  # what the players were told at the end
    assert sam.match is None
    for client in (ann, ben, sam):
        await client.close()
    assert "Traceback" not in server.logs()
