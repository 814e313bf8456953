"""The pure pairing rules of quick play."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lobby.matchmaking import Policy, Ticket, form_groups, window

POLICY = Policy(base_window=2.0, widen_per_second=1.0, max_window=10.0, fill_after=5.0)


def ids(groups: list[list[Ticket]]) -> list[list[int]]:
    return [[t.id for t in g] for g in groups]


def test_the_window_widens_with_waiting_up_to_its_maximum():
    assert window(waited=0, policy=POLICY) == 2.0
    assert window(waited=3, policy=POLICY) == 5.0
    assert window(waited=1000, policy=POLICY) == 10.0
    assert window(waited=-5, policy=POLICY) == 2.0


def test_close_ratings_are_paired_at_once():
    tickets = [Ticket(1, 25.0, 0.0), Ticket(2, 26.5, 0.0)]
    assert ids(form_groups(tickets=tickets, min_size=2, max_size=2, policy=POLICY)) == [[1, 2]]


def test_distant_ratings_wait_until_the_window_has_widened():
    fresh = [Ticket(1, 20.0, 0.0), Ticket(2, 26.0, 0.0)]
    assert form_groups(tickets=fresh, min_size=2, max_size=2, policy=POLICY) == []
    later = [Ticket(1, 20.0, 4.0), Ticket(2, 26.0, 0.5)]
    assert ids(form_groups(tickets=later, min_size=2, max_size=2, policy=POLICY)) == [[1, 2]]


def test_the_longest_waiter_is_served_first_with_the_nearest_rating():
    tickets = [Ticket(1, 25.0, 1.0), Ticket(2, 30.0, 9.0), Ticket(3, 29.0, 0.0), Ticket(4, 24.0, 0.0)]
    # 2 waited longest: its window (10) reaches everyone; 3 is nearest. Then 1 pairs with 4.
    assert ids(form_groups(tickets=tickets, min_size=2, max_size=2, policy=POLICY)) == [[2, 3], [1, 4]]


def test_groups_fill_to_the_largest_size_or_start_short_after_fill_after():
    tickets = [Ticket(i, 25.0, 1.0) for i in range(1, 4)]
    assert form_groups(tickets=tickets, min_size=2, max_size=4, policy=POLICY) == []
    waited = [Ticket(i, 25.0, 6.0) for i in range(1, 4)]
    assert ids(form_groups(tickets=waited, min_size=2, max_size=4, policy=POLICY)) == [[1, 2, 3]]
    full = [Ticket(i, 25.0, 0.0) for i in range(1, 10)]
    assert ids(form_groups(tickets=full, min_size=2, max_size=4, policy=POLICY)) == [[1, 2, 3, 4], [5, 6, 7, 8]]


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError):
        form_groups(tickets=[], min_size=3, max_size=2)


@given(
    st.lists(
        st.tuples(st.floats(0, 60, allow_nan=False), st.floats(0, 120, allow_nan=False)), max_size=40, unique_by=id
    ),
    st.integers(1, 4),
    st.integers(0, 4),
)
def test_every_group_is_within_the_anchors_window_and_nobody_is_used_twice(raw, low, extra):
    tickets = [Ticket(i, skill, waited) for i, (skill, waited) in enumerate(raw)]
    groups = form_groups(tickets=tickets, min_size=low, max_size=low + extra, policy=POLICY)
    used = [t.id for g in groups for t in g]
    assert len(used) == len(set(used))
    for group in groups:
        anchor = group[0]
        assert low <= len(group) <= low + extra
        assert all(abs(t.skill - anchor.skill) <= window(waited=anchor.waited, policy=POLICY) for t in group)
    anchors = [g[0].waited for g in groups]
    assert anchors == sorted(anchors, reverse=True)  # the longest waiters anchor first
