"""The database work of seating players, counted: on a busy server every call waits its turn on the
one database thread, so each statement saved is a player seated sooner (`python -m bench.seating`)."""

from __future__ import annotations

import pytest
from django.db import connection

from game_server.consumers.player import _restore
from game_server.engine_bridge import with_payloads
from game_server.spectators import live_entry
from lobby import services
from tests.lobby.test_live_matches import lobby_match

pytestmark = pytest.mark.django_db

# SQLite takes no row locks (its transactions begin IMMEDIATE); elsewhere the user's row is locked.
LOCK = 1 if connection.features.has_select_for_update else 0
# Inside a test's transaction a service's own transaction is a savepoint: two statements more.
SAVEPOINT = 2


def test_a_socket_with_nothing_to_restore_asks_three_small_questions(make_user, django_assert_num_queries):
    ann, ben = make_user("ann"), make_user("ben")
    with django_assert_num_queries(3) as queries:  # in a lobby? seated? queued?
        assert _restore(ann) == (None, None, None)
    assert all(q["sql"].startswith('SELECT 1 AS "a"') for q in queries.captured_queries)  # not the rows
    lobby = services.lobby_create(host=ann, name="l", game="connect_four")
    services.queue_join(user=ben, game="connect_four")
    info, seat, entry = _restore(ann)
    assert info is not None and info["id"] == lobby.pk and seat is None and entry is None
    info, seat, entry = _restore(ben)
    assert info is None and seat is None and entry is not None and entry.game == "connect_four"


def test_a_restored_seat_names_the_match_and_its_players(make_user):
    ann, ben = make_user("ann"), make_user("ben")
    match_id = lobby_match(ann, ben, private=True)
    info, seat, entry = _restore(ben)
    assert seat is not None and seat["match_id"] == match_id and seat["seat"] == 1
    assert [p["user"]["name"] for p in seat["players"]] == ["ann", "ben"]
    assert info is not None and info["match_id"] == match_id and entry is None


def test_a_lobby_request_reads_only_the_members_again(make_user, django_assert_num_queries):
    ann, ben = make_user("ann"), make_user("ben")
    lobby = services.lobby_create(host=ann, name="l", game="connect_four")
    services.lobby_join(user=ben, code=lobby.code)
    # the lobby (locked), the ready flag, the lobby's update time, then its members for the payloads
    with django_assert_num_queries(4 + SAVEPOINT):
        returned, payloads = with_payloads(services.lobby_ready_set)(user=ben, ready=True)
    assert returned.pk == lobby.pk and payloads is not None
    info, summary = payloads
    assert [(m["user"]["name"], m["ready"], m["host"]) for m in info["members"]] == [
        ("ann", False, True),
        ("ben", True, False),
    ]
    assert summary == {**summary, "host": "ann", "players": 2, "status": "open"}


def test_a_lobby_its_host_left_still_names_the_host_in_its_summary(make_user):
    ann = make_user("ann")
    services.lobby_create(host=ann, name="l", game="connect_four")
    _, payloads = with_payloads(services.lobby_leave)(user=ann)
    assert payloads is not None
    info, summary = payloads
    assert info["members"] == [] and info["status"] == "closed"
    assert summary["host"] == "ann" and summary["players"] == 0


def test_a_join_checks_the_player_is_free_in_small_questions(make_user, django_assert_num_queries):
    ann, ben = make_user("ann"), make_user("ben")
    lobby = services.lobby_create(host=ann, name="l", game="connect_four")
    # the lobby (locked); ben a member already? [his row locked]; in a lobby, queued, seated?;
    # the seats taken; a savepoint around the insert and its release; the lobby's update time
    with django_assert_num_queries(10 + LOCK + SAVEPOINT):
        services.lobby_join(user=ben, code=lobby.code)


def test_the_live_list_hears_of_a_private_match_in_one_query(make_user, django_assert_num_queries):
    match_id = lobby_match(make_user("ann"), make_user("ben"), private=True)
    with django_assert_num_queries(1):
        assert live_entry(match_id) == (None, False)
    assert live_entry(match_id, ended=True) == (None, False)


def test_the_live_list_gets_a_public_matchs_row_with_its_new_spectator_count(make_user):
    match_id = lobby_match(make_user("ann"), make_user("ben"), private=False)
    row, public = live_entry(match_id, spectators=4)
    assert public and row is not None and row["match_id"] == match_id and row["spectators"] == 4
    assert live_entry(match_id, ended=True) == (None, True)  # the list drops it
    services.match_result_record(
        match_id=match_id, placements={0: 1, 1: 2}, scores={}, reason="x", ticks=3, input_log=[], final_hash="x"
    )
    assert live_entry(match_id) == (None, True)  # finished: not listed, but public, so removed
