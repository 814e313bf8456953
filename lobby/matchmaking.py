"""Quick-play pairing: pure functions from waiting tickets to groups. No database, no clock.

Every ticket has a skill (the player's rating mean) and how long it has waited. A ticket
accepts players whose skill lies within its *window*, which starts narrow and widens the
longer it waits (Nakama's widening intervals, Colyseus' priority after waiting cycles).

`form_groups` takes the tickets oldest first. Each still-free ticket anchors a group: the free
tickets within the anchor's window, nearest in skill first, up to the game's largest group.
A full group is formed at once; a smaller one (at least the game's minimum) only once the
anchor has waited `fill_after` seconds. So the longest waiter is served first, and its
widening window is what lets an unusual rating find opponents at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Ticket:
    """One queued player, as the matcher sees it."""

    id: int
    skill: float
    waited: float  # seconds in the queue


@dataclass(frozen=True, slots=True)
class Policy:
    """How the skill window widens with waiting, and when a group may start short of full."""

    base_window: float = 3.0  # skill points accepted at once
    widen_per_second: float = 0.5  # added for every second waited
    max_window: float = 50.0  # the widest it gets (at the defaults: everyone, after ~94 s)
    fill_after: float = 20.0  # seconds before a group smaller than the largest may start
    interval: float = 2.0  # seconds between matcher runs while anyone is queued


DEFAULT_POLICY = Policy()


def window(*, waited: float, policy: Policy = DEFAULT_POLICY) -> float:
    """The skill distance a ticket accepts after waiting `waited` seconds."""
    return min(policy.max_window, policy.base_window + policy.widen_per_second * max(0.0, waited))


def form_groups(
    *, tickets: Sequence[Ticket], min_size: int, max_size: int, policy: Policy = DEFAULT_POLICY
) -> list[list[Ticket]]:
    """Group tickets into matches of `min_size`..`max_size` players; each ticket is used at most once.

    Groups come in the order they formed (oldest anchor first); each lists its anchor first, then the others
    nearest in skill first.
    """
    if not 1 <= min_size <= max_size:
        raise ValueError("need 1 <= min_size <= max_size")
    free = sorted(tickets, key=lambda t: (-t.waited, t.id))
    taken: set[int] = set()
    groups: list[list[Ticket]] = []
    for anchor in free:
        if anchor.id in taken:
            continue
        reach = window(waited=anchor.waited, policy=policy)
        near = sorted(
            (t for t in free if t.id != anchor.id and t.id not in taken and abs(t.skill - anchor.skill) <= reach),
            key=lambda t: (abs(t.skill - anchor.skill), -t.waited, t.id),
        )
        group = [anchor, *near[: max_size - 1]]
        if len(group) == max_size or (len(group) >= min_size and anchor.waited >= policy.fill_after):
            groups.append(group)
            taken.update(t.id for t in group)
    return groups
