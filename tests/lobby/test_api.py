"""The lobby's JSON API: lobby list, match history, match detail, leaderboard."""

from __future__ import annotations

import pytest

from lobby import services
from lobby.matchmaking import Policy

pytestmark = pytest.mark.django_db

ANYONE = Policy(base_window=100.0)


def finish(winner, loser, *, private: bool = False) -> str:
    """Play a match (a lobby match if private, else quick play) that `winner` wins."""
    if private:
        lobby = services.lobby_create(host=winner, name="p", game="connect_four", private=True)
        services.lobby_join(user=loser, code=lobby.code)
        services.lobby_ready_set(user=winner, ready=True)
        services.lobby_ready_set(user=loser, ready=True)
        spec = services.lobby_start(user=winner)
        services.lobby_leave(user=winner)
        services.lobby_leave(user=loser)
    else:
        services.queue_join(user=winner, game="connect_four")
        services.queue_join(user=loser, game="connect_four")
        [spec] = services.queue_match(game="connect_four", policy=ANYONE)
    services.match_result_record(
        match_id=spec.match_id,
        placements={0: 1, 1: 2},
        scores={},
        reason="four_in_a_row",
        ticks=9,
        input_log=[],
        final_hash="h",
    )
    return spec.match_id


def test_lobby_list_filters_and_pages(client, make_user):
    users = [make_user(f"u{i}") for i in range(6)]
    lobbies = [services.lobby_create(host=users[i], name=f"L{i}", game="connect_four") for i in range(4)]
    services.lobby_create(host=users[4], name="hidden", game="connect_four", private=True)
    services.lobby_join(user=users[5], lobby_id=lobbies[0].pk)  # L0 is full now

    body = client.get("/api/lobbies").json()
    assert [lob["name"] for lob in body["results"]] == ["L3", "L2", "L1", "L0"]
    assert (body["count"], body["page"], body["pages"]) == (4, 1, 1)
    assert body["results"][3] == {
        "id": lobbies[0].pk,
        "name": "L0",
        "game": "connect_four",
        "host": "u0",
        "players": 2,
        "max_players": 2,
        "status": "open",
    }
    free = client.get("/api/lobbies?free=1&game=connect_four").json()
    assert [lob["name"] for lob in free["results"]] == ["L3", "L2", "L1"]
    page2 = client.get("/api/lobbies?page=2&page_size=3").json()
    assert [lob["name"] for lob in page2["results"]] == ["L0"] and page2["pages"] == 2
    assert client.get("/api/lobbies?page=9").json()["results"] == []


@pytest.mark.parametrize("query", ["page=0", "page=x", "page_size=101", "free=maybe", "game=chess"])
def test_lobby_list_refuses_bad_queries(client, db, query):
    response = client.get(f"/api/lobbies?{query}")
    assert response.status_code == 400 and response.json()["error"]["code"] == "protocol/invalid"


def test_only_get_is_allowed(client, db):
    assert client.post("/api/lobbies").status_code == 405


def test_match_history_of_a_player_newest_first_with_rating_changes(client, make_user):
    alice, bob, carol = make_user("alice"), make_user("bob"), make_user("carol")
    first = finish(alice, bob)
    second = finish(carol, alice)
    body = client.get(f"/api/players/{alice.pk}/matches").json()
    assert [m["id"] for m in body["results"]] == [second, first] and body["count"] == 2
    latest = body["results"][0]
    assert latest["mode"] == "quickplay" and latest["status"] == "finished" and latest["reason"] == "four_in_a_row"
    me = next(p for p in latest["participants"] if p["user"]["name"] == "alice")
    assert me["placement"] == 2 and not me["winner"] and me["rating_change"] < 0
    assert me["rating_after"] == pytest.approx(me["rating_before"] + me["rating_change"])
    assert client.get(f"/api/players/{bob.pk}/matches").json()["count"] == 1
    assert client.get(f"/api/players/{alice.pk}/matches?page_size=1&page=2").json()["results"][0]["id"] == first


def test_private_matches_are_shown_to_their_players_only(client, make_user):
    alice, bob, eve = make_user("alice"), make_user("bob"), make_user("eve")
    match_id = finish(alice, bob, private=True)
    assert client.get(f"/api/players/{alice.pk}/matches").json()["count"] == 0
    assert client.get(f"/api/matches/{match_id}").status_code == 404
    client.force_login(eve)
    assert client.get(f"/api/matches/{match_id}").status_code == 404
    client.force_login(bob)
    assert client.get(f"/api/players/{alice.pk}/matches").json()["count"] == 1
    assert client.get(f"/api/matches/{match_id}").json()["mode"] == "lobby"


def test_match_detail(client, make_user):
    alice, bob = make_user("alice"), make_user("bob")
    match_id = finish(alice, bob)
    body = client.get(f"/api/matches/{match_id}").json()
    assert body["id"] == match_id and body["game"] == "connect_four" and body["ticks"] == 9
    assert body["options"] == {"turn_seconds": 30.0} and isinstance(body["seed"], int)
    assert [(p["seat"], p["user"]["name"], p["placement"], p["winner"]) for p in body["participants"]] == [
        (0, "alice", 1, True),
        (1, "bob", 2, False),
    ]
    assert "input_log" not in body
    for missing in ("00000000-0000-0000-0000-000000000000", "not-a-uuid"):
        response = client.get(f"/api/matches/{missing}")
        assert response.status_code == 404 and response.json()["error"]["code"] == "match/not_found"


def test_leaderboard_ranks_players_by_rating(client, make_user):
    alice, bob, carol = make_user("alice"), make_user("bob"), make_user("carol")
    finish(alice, bob)
    finish(alice, carol)
    body = client.get("/api/leaderboards/connect_four").json()
    assert body["game"] == "connect_four" and body["count"] == 3
    assert [(r["rank"], r["user"]["name"]) for r in body["results"]][0] == (1, "alice")
    assert body["results"][0]["matches"] == 2 and body["results"][0]["wins"] == 2
    ratings = [r["rating"] for r in body["results"]]
    assert ratings == sorted(ratings, reverse=True)
    second_page = client.get("/api/leaderboards/connect_four?page=2&page_size=2").json()
    assert [r["rank"] for r in second_page["results"]] == [3]
    missing = client.get("/api/leaderboards/chess")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "lobby/unknown_game"
