"""SpectatorFeed: frames held for the delay, the released document, a blind start."""

from __future__ import annotations

from engine.match import SPECTATORS, Frame
from game_server.spectators import SpectatorFeed


def delta(tick: int, value: int) -> Frame:
    return Frame(SPECTATORS, tick, False, {"set": {"x": value}}, tick - 1)


def test_frames_come_out_after_the_delay_and_the_snapshot_is_of_the_released_tick():
    feed = SpectatorFeed(2.0, {"x": 0}, 0, margin=0.025)
    for tick in range(1, 6):
        feed.push(delta(tick, tick), {"json": str(tick)}, now=tick * 0.05)
        assert feed.due(now=tick * 0.05) == []  # nothing before the delay
    assert feed.snapshot() == Frame(SPECTATORS, 0, True, {"x": 0})
    assert feed.due(now=2.05 + 0.024) == []  # the margin: not a hair early
    released = feed.due(now=2.10 + 0.025)
    assert [h.frame.tick for h in released] == [1, 2]
    assert feed.snapshot() == Frame(SPECTATORS, 2, True, {"x": 2})
    assert feed.next_due() == 0.15 + 2.0 + 0.025


def test_no_delay_releases_at_once_and_a_blind_feed_waits_for_a_full_frame():
    now = SpectatorFeed(0.0, {"x": 0}, 0, margin=0.025)
    now.push(delta(1, 1), {}, now=1.0)
    assert [h.frame.tick for h in now.due(now=1.0)] == [1]
    blind = SpectatorFeed(1.0, None, 40)
    blind.push(delta(41, 41), {}, now=0.0)
    blind.due(now=5.0)
    assert blind.snapshot() is None  # a delta alone cannot rebuild the document
    blind.push(Frame(SPECTATORS, 42, True, {"x": 42}), {}, now=5.0)
    blind.due(now=6.0)
    assert blind.snapshot() == Frame(SPECTATORS, 42, True, {"x": 42})
