"""Lobby services: every rule, and the error code each broken rule returns."""

from __future__ import annotations

import pytest

from engine.games import GAMES
from lobby import services
from lobby.errors import LobbyError
from lobby.models import Lobby, Match, MatchParticipant, Membership

pytestmark = pytest.mark.django_db


def broken(code: str):
    """Expect a LobbyError with `code`."""
    return pytest.raises(LobbyError, match=".", check=lambda exc: exc.code == code)


@pytest.fixture
def alice(make_user):
    return make_user("alice")


@pytest.fixture
def bob(make_user):
    return make_user("bob")


@pytest.fixture
def carol(make_user):
    return make_user("carol")


def open_lobby(host, **kwargs) -> Lobby:
    return services.lobby_create(host=host, name="Friday", game="connect_four", **kwargs)


def members(lobby: Lobby) -> list[str]:
    return [m.user.username for m in lobby.memberships.select_related("user").order_by("joined_at", "id")]


def test_create_seats_the_host_with_a_join_code_and_game_defaults(alice):
    lobby = open_lobby(alice, private=True)
    assert members(lobby) == ["alice"] and lobby.host == alice
    assert len(lobby.code) == 6 and lobby.is_private and lobby.max_players == 2
    assert lobby.options == {"turn_seconds": 30.0}


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"game": "chess"}, "lobby/unknown_game"),
        ({"max_players": 5}, "lobby/bad_options"),
        ({"options": {"turn_seconds": 1}}, "lobby/bad_options"),
        ({"options": {"colour": "red"}}, "lobby/bad_options"),
    ],
)
def test_create_refuses_bad_games_seats_and_options(alice, kwargs, code):
    with broken(code):
        services.lobby_create(host=alice, name="x", **{"game": "connect_four", **kwargs})
    assert not Lobby.objects.exists()


def test_join_by_id_or_code_and_joining_twice_is_harmless(alice, bob):
    lobby = open_lobby(alice)
    assert services.lobby_join(user=bob, lobby_id=lobby.pk) == lobby
    assert services.lobby_join(user=bob, code=lobby.code.lower()) == lobby
    assert members(lobby) == ["alice", "bob"]


def test_a_private_lobby_is_joined_by_code_only(alice, bob):
    lobby = open_lobby(alice, private=True)
    with broken("lobby/not_found"):
        services.lobby_join(user=bob, lobby_id=lobby.pk)
    services.lobby_join(user=bob, code=lobby.code)
    assert members(lobby) == ["alice", "bob"]


def test_join_errors(alice, bob, carol):
    with broken("lobby/not_found"):
        services.lobby_join(user=bob, code="ZZZZZZ")
    with broken("protocol/invalid"):
        services.lobby_join(user=bob)
    lobby = open_lobby(alice)
    services.lobby_join(user=bob, lobby_id=lobby.pk)
    with broken("lobby/full"):
        services.lobby_join(user=carol, lobby_id=lobby.pk)
    with broken("lobby/already_in"):
        services.lobby_create(host=bob, name="second", game="connect_four")


def test_a_user_is_in_one_lobby_at_a_time(alice, bob):
    first = open_lobby(alice)
    second = open_lobby(bob)
    with broken("lobby/already_in"):
        services.lobby_join(user=bob, lobby_id=first.pk)
    assert members(first) == ["alice"] and members(second) == ["bob"]


def test_leaving_hands_the_host_role_to_the_longest_seated_and_the_last_one_out_closes(alice, bob):
    lobby = open_lobby(alice)
    services.lobby_join(user=bob, lobby_id=lobby.pk)
    lobby = services.lobby_leave(user=alice)
    assert lobby.host == bob and lobby.status == "open"
    lobby = services.lobby_leave(user=bob)
    assert lobby.status == "closed" and not lobby.memberships.exists()
    with broken("lobby/closed"):
        services.lobby_join(user=alice, code=lobby.code)
    with broken("lobby/not_member"):
        services.lobby_leave(user=alice)


def test_the_host_kicks_a_member_who_may_not_come_back(alice, bob, carol):
    lobby = open_lobby(alice)
    services.lobby_join(user=bob, lobby_id=lobby.pk)
    lobby = services.lobby_kick(host=alice, user_id=bob.pk)
    assert members(lobby) == ["alice"] and lobby.kicked == [bob.pk]
    with broken("lobby/kicked"):
        services.lobby_join(user=bob, code=lobby.code)
    services.lobby_join(user=carol, lobby_id=lobby.pk)
    assert members(lobby) == ["alice", "carol"]


def test_kick_errors(alice, bob, carol):
    lobby = open_lobby(alice)
    services.lobby_join(user=bob, lobby_id=lobby.pk)
    with broken("lobby/not_host"):
        services.lobby_kick(host=bob, user_id=alice.pk)
    with broken("lobby/member_not_found"):
        services.lobby_kick(host=alice, user_id=carol.pk)
    with broken("protocol/invalid"):
        services.lobby_kick(host=alice, user_id=alice.pk)
    with broken("lobby/not_member"):
        services.lobby_kick(host=carol, user_id=bob.pk)
    assert members(lobby) == ["alice", "bob"]


def test_the_host_hands_over_the_host_role(alice, bob, carol):
    lobby = open_lobby(alice)
    services.lobby_join(user=bob, lobby_id=lobby.pk)
    with broken("lobby/member_not_found"):
        services.lobby_host_transfer(host=alice, user_id=carol.pk)
    assert services.lobby_host_transfer(host=alice, user_id=bob.pk).host == bob
    with broken("lobby/not_host"):
        services.lobby_host_transfer(host=alice, user_id=alice.pk)
    with broken("lobby/not_host"):
        services.lobby_kick(host=alice, user_id=bob.pk)


def test_changing_options_validates_them_and_resets_readiness(alice, bob):
    lobby = open_lobby(alice)
    services.lobby_join(user=bob, lobby_id=lobby.pk)
    services.lobby_ready_set(user=bob, ready=True)
    lobby = services.lobby_options_set(host=alice, options={"turn_seconds": 10})
    assert lobby.options == {"turn_seconds": 10.0}
    assert not Membership.objects.filter(ready=True).exists()
    with broken("lobby/bad_options"):
        services.lobby_options_set(host=alice, options={"turn_seconds": 9999})
    with broken("lobby/bad_options"):
        services.lobby_options_set(host=alice, max_players=1)
    with broken("lobby/not_host"):
        services.lobby_options_set(host=bob, options={})
    assert Lobby.objects.get(pk=lobby.pk).options == {"turn_seconds": 10.0}


def test_ready_and_unready(alice, bob):
    with broken("lobby/not_member"):
        services.lobby_ready_set(user=alice, ready=True)
    lobby = open_lobby(alice)
    services.lobby_ready_set(user=alice, ready=True)
    assert lobby.memberships.get(user=alice).ready
    services.lobby_ready_set(user=alice, ready=False)
    assert not lobby.memberships.get(user=alice).ready


def test_start_needs_the_host_enough_players_and_everyone_ready(alice, bob):
    lobby = open_lobby(alice)
    services.lobby_ready_set(user=alice, ready=True)
    with broken("lobby/not_ready"):
        services.lobby_start(user=alice)  # alone
    services.lobby_join(user=bob, lobby_id=lobby.pk)
    with broken("lobby/not_host"):
        services.lobby_start(user=bob)
    with broken("lobby/not_ready"):
        services.lobby_start(user=alice)  # bob is not ready
    services.lobby_ready_set(user=bob, ready=True)
    spec = services.lobby_start(user=alice)
    assert [(pl["seat"], pl["name"]) for pl in spec.players] == [(0, "alice"), (1, "bob")]
    match = Match.objects.get(pk=spec.match_id)
    assert match.mode == "lobby" and match.lobby == lobby and match.status == "running"
    lobby.refresh_from_db()
    assert lobby.status == "in_match" and lobby.current_match == match
    with broken("lobby/closed"):
        services.lobby_start(user=alice)
    with broken("lobby/closed"):
        services.lobby_options_set(host=alice, options={})
    assert Match.objects.count() == 1


def test_a_player_in_a_running_match_cannot_take_a_new_lobby(alice, bob, carol):
    lobby = open_lobby(alice)
    services.lobby_join(user=bob, lobby_id=lobby.pk)
    services.lobby_ready_set(user=alice, ready=True)
    services.lobby_ready_set(user=bob, ready=True)
    services.lobby_start(user=alice)
    services.lobby_leave(user=bob)  # still seated in the running match
    assert MatchParticipant.objects.filter(user=bob, match__status="running").exists()
    with broken("lobby/already_in"):
        services.lobby_create(host=bob, name="again", game="connect_four")
    with broken("lobby/already_in"):
        services.queue_join(user=bob, game="connect_four")


@pytest.mark.parametrize(("server_rate", "expected"), [(None, GAMES["connect_four"].tick_rate), (60, 60)])
def test_matches_tick_at_the_games_rate_unless_the_server_sets_one(alice, bob, settings, server_rate, expected):
    settings.SKIRMISH_TICK_RATE = server_rate  # TICK_RATE
    assert GAMES["connect_four"].tick_rate != 60
    lobby = open_lobby(alice)
    services.lobby_join(user=bob, lobby_id=lobby.pk)
    services.lobby_ready_set(user=alice, ready=True)
    services.lobby_ready_set(user=bob, ready=True)
    spec = services.lobby_start(user=alice)
    assert spec.tick_rate == expected and Match.objects.get(pk=spec.match_id).tick_rate == expected


def test_a_lobby_update_is_read_in_two_queries_and_counts_its_players(alice, bob, django_assert_num_queries):
    """Every lobby request reads the lobby's state for its members and the list: on a busy server
    the database thread is what players wait for while they are seated."""
    from game_server.engine_bridge import _lobby_payloads

    lobby = open_lobby(alice)
    services.lobby_join(user=bob, lobby_id=lobby.pk)
    with django_assert_num_queries(2):  # the lobby with its host, the members with their users
        payloads = _lobby_payloads(lobby.pk)
    assert payloads is not None
    info, summary = payloads
    assert [m["user"]["name"] for m in info["members"]] == ["alice", "bob"]
    assert summary["players"] == 2 and summary["host"] == "alice"
