"""Rematch: after a lobby's match, its players see a "play again" offer; all accepting starts a new match.

The service rules run on the test database; the end-to-end test plays two whole matches over
real websockets against a real daphne and checks each has its own record and rating change.
"""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model

from lobby import selectors, services
from lobby.errors import LobbyError
from lobby.models import Lobby, Match, Membership, Rating
from tests.e2e.server import DaphneServer
from tests.e2e.test_match_e2e import make_user, play_connect_four, sign_in
from tests.e2e.wsclient import WsClient


def lobby_after_a_match(*names: str) -> tuple[Lobby, list]:
    """A lobby of `names` whose first match (connect four) just ended, seat 0 winning."""
    users = [get_user_model().objects.create_user(username=name) for name in names]
    lobby = services.lobby_create(host=users[0], name="rematch", game="connect_four")
    for user in users[1:]:
        services.lobby_join(user=user, lobby_id=lobby.pk)
    for user in users:
        services.lobby_ready_set(user=user, ready=True)
    spec = services.lobby_start(user=users[0])
    services.match_result_record(
        match_id=spec.match_id,
        placements={0: 1, 1: 2},
        scores={0: 1.0, 1: 0.0},
        reason="four_in_a_row",
        ticks=9,
        input_log=[],
        final_hash="x",
    )
    return Lobby.objects.get(pk=lobby.pk), users


@pytest.mark.django_db
def test_the_offer_lists_the_players_and_who_accepted():
    lobby, (alice, bob) = lobby_after_a_match("alice", "bob")
    offer = selectors.lobby_info(lobby=lobby)["rematch"]
    assert offer == {"match_id": str(lobby.current_match_id), "players": [alice.pk, bob.pk], "accepted": []}
    result = services.lobby_rematch(user=bob)
    assert result.spec is None and not result.left
    assert selectors.lobby_info(lobby=lobby)["rematch"]["accepted"] == [bob.pk]


@pytest.mark.django_db
def test_when_everyone_accepts_the_same_game_and_options_start_again_as_a_new_match():
    lobby, (alice, bob) = lobby_after_a_match("alice", "bob")
    first = Match.objects.get(pk=lobby.current_match_id)
    services.lobby_rematch(user=alice)
    result = services.lobby_rematch(user=bob)
    assert result.spec is not None
    second = Match.objects.get(pk=result.spec.match_id)
    assert second.pk != first.pk and second.status == "running" and second.lobby_id == lobby.pk
    assert (second.game, second.options, second.tick_rate) == (first.game, first.options, first.tick_rate)
    assert [p["user_id"] for p in result.spec.players] == [alice.pk, bob.pk]  # the same seats
    lobby.refresh_from_db()
    assert lobby.status == "in_match" and str(lobby.current_match_id) == result.spec.match_id
    assert selectors.lobby_info(lobby=lobby)["rematch"] is None


@pytest.mark.django_db
def test_declining_leaves_the_lobby_and_a_newcomer_can_take_the_seat():
    lobby, (alice, bob) = lobby_after_a_match("alice", "bob")
    services.lobby_rematch(user=alice)
    result = services.lobby_rematch(user=bob, accept=False)
    assert result.left and result.spec is None  # alone, alice cannot play connect four
    assert not Membership.objects.filter(user=bob).exists()
    assert selectors.lobby_info(lobby=lobby)["rematch"]["players"] == [alice.pk]
    carol = get_user_model().objects.create_user(username="carol")
    services.lobby_join(user=carol, lobby_id=lobby.pk)
    with pytest.raises(LobbyError) as refused:  # carol did not play the last match
        services.lobby_rematch(user=carol)
    assert refused.value.code == "lobby/no_rematch"
    services.lobby_ready_set(user=carol, ready=True)
    spec = services.lobby_start(user=alice)  # the host starts with those who accepted, as usual
    assert [p["user_id"] for p in spec.players] == [alice.pk, carol.pk]


@pytest.mark.django_db
def test_no_offer_before_a_match_or_while_one_runs():
    alice = get_user_model().objects.create_user(username="alice")
    services.lobby_create(host=alice, name="fresh", game="connect_four")
    with pytest.raises(LobbyError) as refused:
        services.lobby_rematch(user=alice)
    assert refused.value.code == "lobby/no_rematch"


def accepted(message: dict) -> list[int]:
    """Who accepted the rematch offer in a lobby.state message."""
    return (message["lobby"]["rematch"] or {}).get("accepted", [])


async def reset_for_new_match(client: WsClient) -> None:
    """A new match: the client's document and input seq start over."""
    client.doc, client.tick, client.seq = None, -1, 0


@pytest.mark.e2e
async def test_a_rematch_over_websockets_is_a_second_match_with_its_own_record(server: DaphneServer):
    await sync_to_async(make_user)("alice")
    await sync_to_async(make_user)("bob")
    alice = await sign_in(server, "alice")
    bob = await sign_in(server, "bob", codec="json")
    created = await alice.request({"type": "lobby.create", "name": "Again", "game": "connect_four", "private": True})
    await bob.request({"type": "lobby.join", "code": created["data"]["code"]})
    for client in (alice, bob):
        assert (await client.request({"type": "lobby.ready", "ready": True}))["type"] == "ok"
    started = await alice.request({"type": "lobby.start"})
    assert started["type"] == "ok", started

    match_ids = []
    for round_ in range(2):
        a_start = await alice.expect_type("match.started")
        b_start = await bob.expect_type("match.started")
        assert a_start["match_id"] == b_start["match_id"] and a_start["match_id"] not in match_ids
        assert (a_start["seat"], b_start["seat"]) == (0, 1)
        match_ids.append(a_start["match_id"])
        first = await alice.expect_type("snapshot")
        mover = first["doc"]["game"]["turn"]
        ends = await asyncio.wait_for(
            asyncio.gather(play_connect_four(alice, 0, mover), play_connect_four(bob, 1, mover)), 60
        )
        assert all(e["match_id"] == a_start["match_id"] and e["outcome"]["winners"] == [mover] for e in ends)
        offer = await alice.expect(lambda m: m["type"] == "lobby.state" and m["lobby"].get("rematch"))
        assert offer["lobby"]["rematch"]["match_id"] == a_start["match_id"]
        assert offer["lobby"]["rematch"]["accepted"] == [] and len(offer["lobby"]["rematch"]["players"]) == 2
        if round_ == 1:
            break
        for client in (alice, bob):
            await reset_for_new_match(client)
        first_yes = await bob.request({"type": "lobby.rematch", "accept": True})
        assert first_yes == {"type": "ok", "rid": first_yes["rid"], "data": {}}
        seen = await alice.expect(lambda m: m["type"] == "lobby.state" and accepted(m))
        assert seen["lobby"]["rematch"]["accepted"] == [b_start["players"][1]["user"]["id"]]
        second_yes = await alice.request({"type": "lobby.rematch"})
        assert second_yes["type"] == "ok" and second_yes["data"]["match_id"] not in match_ids

    matches = await sync_to_async(list)(Match.objects.filter(pk__in=match_ids).order_by("started_at"))
    assert [str(m.pk) for m in matches] == match_ids
    assert all(m.status == "finished" and m.reason == "four_in_a_row" and m.lobby_id for m in matches)
    assert matches[0].seed != matches[1].seed or matches[0].input_log != matches[1].input_log
    for match in matches:
        rows = await sync_to_async(list)(match.participants.values_list("placement", "rating_before", "rating_after"))
        assert sorted(r[0] for r in rows) == [1, 2] and all(r[1] is not None and r[2] is not None for r in rows)
    ratings = await sync_to_async(list)(Rating.objects.filter(game="connect_four").values_list("matches", flat=True))
    assert ratings == [2, 2]  # each match rated once, as its own match
    await alice.close()
    await bob.close()
    assert "Traceback" not in server.logs()
