"""The process's tick clock: a timerfd wakes the grid's slots, never early, without the loop's timers."""

from __future__ import annotations

import asyncio
import sys
import time

import pytest
from django.test import override_settings

from engine.ports import MonotonicClock
from game_server.clock import TimerfdClock, tick_clock

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="timerfd is Linux's")


@linux_only
async def test_every_sleeper_wakes_at_or_after_its_deadline() -> None:
    clock = TimerfdClock()
    start = clock.now()
    deadlines = [start + 0.003 + i * 0.0007 for i in range(40)] + [start + 0.002] * 5

    async def sleeper(deadline: float) -> float:
        await clock.sleep_until(deadline)
        return clock.now() - deadline

    lateness = await asyncio.gather(*(sleeper(d) for d in deadlines))
    assert min(lateness) >= 0
    assert max(lateness) < 0.1  # (woken at all)
    assert clock._pending == [] and clock._slots == {}


@linux_only
async def test_it_sets_no_timer_on_the_event_loop() -> None:
    """The point of it: the loop's timers wake through epoll, rounded up to the next millisecond."""
    clock = TimerfdClock()
    loop = asyncio.get_running_loop()
    deadline = clock.align(clock.now() + 0.02)
    sleeping = asyncio.ensure_future(clock.sleep_until(deadline))
    await asyncio.sleep(0)
    assert not loop._scheduled  # type: ignore[attr-defined]  # (asyncio's heap of call_at timers)
    await asyncio.wait_for(sleeping, 1.0)
    assert time.monotonic() >= deadline


@linux_only
async def test_an_earlier_slot_rearms_the_timer_and_a_cancelled_sleeper_wakes_nobody() -> None:
    clock = TimerfdClock()
    base = clock.align(clock.now())
    late = asyncio.ensure_future(clock.sleep_until(base + 0.05))
    cancelled = asyncio.ensure_future(clock.sleep_until(base + 0.02))
    early = asyncio.ensure_future(clock.sleep_until(base + 0.01))  # armed for this one now
    await asyncio.sleep(0)
    cancelled.cancel()
    await asyncio.wait_for(early, 1.0)
    assert time.monotonic() >= base + 0.01 and not late.done()
    await asyncio.wait_for(late, 1.0)
    assert time.monotonic() >= base + 0.05


@linux_only
def test_one_clock_serves_one_loop_after_another() -> None:
    """Test runs and `runengine` restarts may hand the clock a new loop: the timerfd follows it."""
    clock = TimerfdClock()

    async def nap() -> float:
        deadline = clock.now() + 0.005
        await clock.sleep_until(deadline)
        return clock.now() - deadline

    assert asyncio.run(nap()) >= 0
    assert asyncio.run(nap()) >= 0


@linux_only
def test_the_process_ticks_on_the_timerfd_unless_told_not_to() -> None:
    assert type(tick_clock()) is TimerfdClock
    with override_settings(SKIRMISH_TICK_TIMERFD=False):
        assert type(tick_clock()) is MonotonicClock
