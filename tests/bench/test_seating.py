"""bench.seating seats matches through the server's own database calls and reports each one."""

from __future__ import annotations

import pytest

from bench.seating import report, seat_matches

pytestmark = pytest.mark.django_db


def test_seating_makes_every_call_of_a_match_and_reports_its_cost():
    calls, statements = seat_matches(2, "seatbench")
    per_match = {label: len(times) / 2 for label, times in calls.items()}
    assert per_match == {
        "token_user": 6,
        "_restore": 6,
        "lobby_create": 1,
        "lobby_join": 3,
        "lobby_ready_set": 4,
        "lobby_start": 1,
        "_lobby_payloads": 1,
        "live_entry": 3,
        "spectate_target": 2,
    }
    assert all(statements[label] > 0 for label in calls)
    table = report(calls, statements, 2, "sqlite")
    assert table.splitlines()[0].startswith("2 matches seated") and "seatable per second" in table
