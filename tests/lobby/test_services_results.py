"""Results: saved once, ratings updated in the same transaction, duplicates change nothing."""

from __future__ import annotations

import pytest

from lobby import services
from lobby.matchmaking import Policy
from lobby.models import Match, MatchParticipant, Rating

pytestmark = pytest.mark.django_db


def start_match(*users) -> str:
    for user in users:
        services.queue_join(user=user, game="connect_four")
    [spec] = services.queue_match(game="connect_four", policy=Policy(base_window=100.0))
    return spec.match_id


def record(match_id: str, placements: dict[int, int], reason: str = "four_in_a_row") -> bool:
    _, first = services.match_result_record(
        match_id=match_id,
        placements=placements,
        scores={seat: float(place == 1) for seat, place in placements.items()},
        reason=reason,
        ticks=42,
        input_log=[[1, 0, 1, {"col": 0}]],
        final_hash="abc",
    )
    return first


def test_a_result_rates_the_winner_up_and_the_loser_down(make_user):
    alice, bob = make_user("alice"), make_user("bob")
    match_id = start_match(alice, bob)
    assert record(match_id, {0: 1, 1: 2})
    match = Match.objects.get(pk=match_id)
    assert match.status == "finished" and match.reason == "four_in_a_row" and match.ticks == 42
    winner, loser = MatchParticipant.objects.filter(match_id=match_id).order_by("seat")
    assert winner.is_winner and winner.placement == 1 and not loser.is_winner
    assert winner.rating_before == loser.rating_before == pytest.approx(0.0)  # mu 25 - 3 * 8.33
    assert winner.rating_change > 0 > loser.rating_change
    a, b = Rating.objects.get(user=alice), Rating.objects.get(user=bob)
    assert a.mu > 25 > b.mu and a.sigma < 25 / 3 and (a.matches, a.wins, b.matches, b.wins) == (1, 1, 1, 0)
    assert a.rating == pytest.approx(a.mu - 3 * a.sigma) == pytest.approx(winner.rating_after)


def test_a_duplicate_result_changes_nothing(make_user):
    alice, bob = make_user("alice"), make_user("bob")
    match_id = start_match(alice, bob)
    assert record(match_id, {0: 1, 1: 2})
    before = list(Rating.objects.order_by("user_id").values_list("mu", "sigma", "matches"))
    assert not record(match_id, {0: 2, 1: 1})  # a late, different duplicate
    assert list(Rating.objects.order_by("user_id").values_list("mu", "sigma", "matches")) == before
    assert list(MatchParticipant.objects.filter(match_id=match_id).values_list("placement", flat=True)) == [1, 2]


def test_the_next_match_starts_from_the_rating_the_last_one_left(make_user):
    alice, bob = make_user("alice"), make_user("bob")
    record(start_match(alice, bob), {0: 1, 1: 2})
    after_first = Rating.objects.get(user=alice).rating
    second = start_match(alice, bob)
    record(second, {0: 1, 1: 2})
    seat = MatchParticipant.objects.get(match_id=second, user=alice)
    assert seat.rating_before == pytest.approx(after_first) and seat.rating_after > after_first
    assert Rating.objects.get(user=alice).matches == 2


def test_a_draw_moves_equal_ratings_by_nothing(make_user):
    alice, bob = make_user("alice"), make_user("bob")
    record(start_match(alice, bob), {0: 1, 1: 1}, reason="draw")
    a, b = Rating.objects.get(user=alice), Rating.objects.get(user=bob)
    assert a.mu == pytest.approx(25.0) == pytest.approx(b.mu) and a.wins == b.wins == 1


def test_aborted_matches_are_not_rated(make_user):
    alice, bob = make_user("alice"), make_user("bob")
    match_id = start_match(alice, bob)
    assert record(match_id, {}, reason="abandoned")
    assert Match.objects.get(pk=match_id).status == "aborted"
    assert not Rating.objects.exists()
    assert MatchParticipant.objects.filter(match_id=match_id, rating_after__isnull=False).count() == 0


def test_a_lobby_reopens_with_nobody_ready_after_its_match(make_user):
    alice, bob = make_user("alice"), make_user("bob")
    lobby = services.lobby_create(host=alice, name="x", game="connect_four")
    services.lobby_join(user=bob, lobby_id=lobby.pk)
    services.lobby_ready_set(user=alice, ready=True)
    services.lobby_ready_set(user=bob, ready=True)
    spec = services.lobby_start(user=alice)
    record(spec.match_id, {0: 2, 1: 1})
    lobby.refresh_from_db()
    assert lobby.status == "open" and not lobby.memberships.filter(ready=True).exists()
    assert Rating.objects.get(user=bob).wins == 1


def test_a_lobby_everyone_left_during_its_match_stays_closed(make_user):
    alice, bob = make_user("alice"), make_user("bob")
    lobby = services.lobby_create(host=alice, name="x", game="connect_four")
    services.lobby_join(user=bob, lobby_id=lobby.pk)
    services.lobby_ready_set(user=alice, ready=True)
    services.lobby_ready_set(user=bob, ready=True)
    spec = services.lobby_start(user=alice)
    services.lobby_leave(user=alice)
    services.lobby_leave(user=bob)
    record(spec.match_id, {0: 1, 1: 2})
    lobby.refresh_from_db()
    assert lobby.status == "closed"
