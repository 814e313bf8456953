"""Quick play services: joining and leaving the queue, the matcher, one place per player."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from lobby import services
from lobby.errors import LobbyError
from lobby.matchmaking import Policy
from lobby.models import Match, QueueEntry, Rating

pytestmark = pytest.mark.django_db

NOW_ONLY = Policy(base_window=3.0, widen_per_second=0.5, max_window=50.0, fill_after=20.0)


def broken(code: str):
    return pytest.raises(LobbyError, match=".", check=lambda exc: exc.code == code)


def rate(user, game: str, mu: float) -> None:
    Rating.objects.create(user=user, game=game, mu=mu, sigma=5.0, rating=mu - 15)


def test_join_and_leave_the_queue(make_user):
    alice = make_user("alice")
    entry = services.queue_join(user=alice, game="connect_four")
    assert entry.game == "connect_four" and entry.skill == 25.0  # a new player's mu
    with broken("queue/already_in"):
        services.queue_join(user=alice, game="connect_four")
    assert services.queue_leave(user=alice) == "connect_four"
    with broken("queue/not_in"):
        services.queue_leave(user=alice)
    with broken("lobby/unknown_game"):
        services.queue_join(user=alice, game="chess")


def test_the_queue_uses_the_players_rating(make_user):
    alice = make_user("alice")
    rate(alice, "connect_four", 31.5)
    assert services.queue_join(user=alice, game="connect_four").skill == 31.5


def test_a_player_is_in_one_lobby_or_queue_at_a_time(make_user):
    alice, bob = make_user("alice"), make_user("bob")
    services.queue_join(user=alice, game="connect_four")
    with broken("queue/already_in"):
        services.lobby_create(host=alice, name="x", game="connect_four")
    lobby = services.lobby_create(host=bob, name="x", game="connect_four")
    with broken("queue/already_in"):
        services.lobby_join(user=alice, lobby_id=lobby.pk)
    with broken("lobby/already_in"):
        services.queue_join(user=bob, game="connect_four")


def test_the_matcher_seats_two_close_players_and_empties_their_tickets(make_user):
    alice, bob = make_user("alice"), make_user("bob")
    services.queue_join(user=alice, game="connect_four")
    assert services.queue_match(game="connect_four") == []  # alone
    services.queue_join(user=bob, game="connect_four")
    [spec] = services.queue_match(game="connect_four")
    assert spec.lobby_id is None and spec.game == "connect_four" and spec.options == {"turn_seconds": 30.0}
    assert [pl["name"] for pl in spec.players] == ["alice", "bob"]
    match = Match.objects.get(pk=spec.match_id)
    assert match.mode == "quickplay" and match.status == "running"
    assert list(match.participants.values_list("user__username", "seat")) == [("alice", 0), ("bob", 1)]
    assert not QueueEntry.objects.exists()
    assert services.queue_match(game="connect_four") == []
    with broken("lobby/already_in"):  # playing now
        services.queue_join(user=alice, game="connect_four")


def test_far_apart_ratings_are_matched_only_after_waiting(make_user):
    alice, bob = make_user("alice"), make_user("bob")
    rate(alice, "connect_four", 20.0)
    rate(bob, "connect_four", 30.0)
    services.queue_join(user=alice, game="connect_four")
    services.queue_join(user=bob, game="connect_four")
    now = timezone.now()
    assert services.queue_match(game="connect_four", now=now, policy=NOW_ONLY) == []
    # After 14 s the window is 3 + 0.5 * 14 = 10 points: wide enough.
    [spec] = services.queue_match(game="connect_four", now=now + timedelta(seconds=14), policy=NOW_ONLY)
    assert {pl["name"] for pl in spec.players} == {"alice", "bob"}


def test_players_are_grouped_with_the_nearest_rating(make_user):
    users = [make_user(name) for name in ("a", "b", "c", "d")]
    for user, mu in zip(users, (10.0, 30.0, 11.0, 31.0), strict=True):
        rate(user, "connect_four", mu)
        services.queue_join(user=user, game="connect_four")
    specs = services.queue_match(game="connect_four")
    assert sorted(sorted(pl["name"] for pl in s.players) for s in specs) == [["a", "c"], ["b", "d"]]
