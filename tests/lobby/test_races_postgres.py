"""Races on PostgreSQL: threads call the services at the same instant; row locks pick one winner.

Run with DATABASE_URL=postgres://...; on SQLite (which serializes every write) these skip.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from lobby import services
from lobby.errors import LobbyError
from lobby.matchmaking import Policy
from lobby.models import Match, MatchParticipant, Membership, QueueEntry, Rating

pytestmark = pytest.mark.postgres
ROUNDS = 5


def race(*calls: Callable[[], Any]) -> list[Any]:
    """Run each call in its own thread, released together; results are values or LobbyError codes."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(i: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            results[i] = call()
        except LobbyError as exc:
            results[i] = exc.code
        except Exception as exc:  # surfaced by the assertions below
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return results


def users(prefix: str, n: int) -> list[Any]:
    return [get_user_model().objects.create_user(username=f"{prefix}{i}") for i in range(n)]


@pytest.mark.parametrize("r", range(ROUNDS))
def test_the_last_seat_goes_to_exactly_one_player(postgres, r):
    host, *rivals = users(f"seat{r}-", 7)
    lobby = services.lobby_create(host=host, name="x", game="connect_four")
    results = race(*[lambda u=u: services.lobby_join(user=u, lobby_id=lobby.pk) for u in rivals])
    winners = [x for x in results if not isinstance(x, str)]
    assert len(winners) == 1, results
    assert sorted(x for x in results if isinstance(x, str)) == ["lobby/full"] * 5
    assert Membership.objects.filter(lobby=lobby).count() == 2


@pytest.mark.parametrize("r", range(ROUNDS))
def test_a_double_start_makes_one_match(postgres, r):
    host, guest = users(f"start{r}-", 2)
    lobby = services.lobby_create(host=host, name="x", game="connect_four")
    services.lobby_join(user=guest, lobby_id=lobby.pk)
    services.lobby_ready_set(user=host, ready=True)
    services.lobby_ready_set(user=guest, ready=True)
    results = race(*[lambda: services.lobby_start(user=host)] * 4)
    specs = [x for x in results if isinstance(x, services.MatchSpec)]
    assert len(specs) == 1 and sorted(x for x in results if isinstance(x, str)) == ["lobby/closed"] * 3, results
    assert Match.objects.filter(lobby=lobby).count() == 1


@pytest.mark.parametrize("r", range(ROUNDS))
def test_a_user_cannot_take_a_lobby_and_the_queue_at_once(postgres, r):
    [user] = users(f"both{r}-", 1)
    results = race(
        lambda: services.lobby_create(host=user, name="x", game="connect_four"),
        lambda: services.queue_join(user=user, game="connect_four"),
    )
    assert sum(not isinstance(x, str) for x in results) == 1, results
    assert Membership.objects.filter(user=user).count() + QueueEntry.objects.filter(user=user).count() == 1


def test_matchers_running_at_once_seat_each_player_once(postgres):
    players = users("queued", 12)
    for user in players:
        services.queue_join(user=user, game="connect_four")
    wide = Policy(base_window=100.0)
    results = race(*[lambda: services.queue_match(game="connect_four", policy=wide)] * 4)
    specs = [spec for batch in results for spec in batch]
    seated = [pl["user_id"] for spec in specs for pl in spec.players]
    assert len(seated) == len(set(seated)), results  # nobody seated twice
    # Matchers skip the rows another one holds, so each may be left with an odd player: those stay
    # queued (nobody is lost) and the next run pairs them.
    waiting = set(QueueEntry.objects.values_list("user_id", flat=True))
    assert waiting.isdisjoint(seated) and waiting | set(seated) == {u.pk for u in players}
    seated += [pl["user_id"] for spec in services.queue_match(game="connect_four", policy=wide) for pl in spec.players]
    assert len(seated) == len(set(seated)) == 12
    assert not QueueEntry.objects.exists()
    assert MatchParticipant.objects.count() == 12


@pytest.mark.parametrize("r", range(ROUNDS))
def test_a_result_delivered_several_times_at_once_is_saved_and_rated_once(postgres, r):
    a, b = users(f"dup{r}-", 2)
    services.queue_join(user=a, game="connect_four")
    services.queue_join(user=b, game="connect_four")
    [spec] = services.queue_match(game="connect_four", policy=Policy(base_window=100.0))

    def deliver() -> bool:
        _, first = services.match_result_record(
            match_id=spec.match_id,
            placements={0: 1, 1: 2},
            scores={},
            reason="four_in_a_row",
            ticks=5,
            input_log=[],
            final_hash="h",
        )
        return first

    results = race(*[deliver] * 4)
    assert sorted(results) == [False, False, False, True], results
    assert list(Rating.objects.filter(user__in=[a, b]).values_list("matches", flat=True)) == [1, 1]
    assert MatchParticipant.objects.filter(match_id=spec.match_id, rating_after__isnull=False).count() == 2
