"""MonotonicClock: sleepers on one grain of the grid share a timer, none wakes early, and a
cancelled sleeper leaves the others asleep."""

from __future__ import annotations

import asyncio
import time

import pytest

from engine.ports import MonotonicClock


async def test_no_sleeper_wakes_before_its_deadline() -> None:
    clock = MonotonicClock()
    start = clock.now()
    deadlines = [start + 0.003 + i * 0.0007 for i in range(20)]

    async def sleeper(deadline: float) -> float:
        await clock.sleep_until(deadline)
        return clock.now() - deadline

    lateness = await asyncio.gather(*(sleeper(d) for d in deadlines))
    assert min(lateness) >= 0
    assert max(lateness) < 0.1  # (woken at all, in this century)


async def test_sleepers_in_one_grain_share_one_timer(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = MonotonicClock()
    loop = asyncio.get_running_loop()
    timers: list[float] = []
    call_at = loop.call_at

    def counting_call_at(when: float, *args: object) -> asyncio.TimerHandle:
        timers.append(when)
        return call_at(when, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(loop, "call_at", counting_call_at)
    t0 = clock.align(clock.now() + 0.01)
    # 30 matches whose next ticks fall on 3 points of the grid
    await asyncio.gather(*(clock.sleep_until(t0 + (i % 3) * clock.GRAIN) for i in range(30)))
    assert len(timers) == 3


async def test_a_deadline_on_the_grid_is_not_rounded_to_the_next_grain() -> None:
    clock = MonotonicClock()
    t0 = clock.align(clock.now())
    assert clock.align(t0) == t0
    for k in range(1, 2000):
        deadline = t0 + k * (1 / 60)  # a 60 Hz schedule: not a multiple of the grain
        assert clock.align(deadline) - deadline < clock.GRAIN
        on_grid = t0 + k * 0.05
        assert clock.align(on_grid) == pytest.approx(on_grid, abs=1e-9)


async def test_a_cancelled_sleeper_leaves_the_others_of_its_grain_asleep() -> None:
    clock = MonotonicClock()
    deadline = clock.align(clock.now() + 0.02)
    first = asyncio.ensure_future(clock.sleep_until(deadline))
    second = asyncio.ensure_future(clock.sleep_until(deadline))
    await asyncio.sleep(0)
    first.cancel()
    await asyncio.sleep(0)
    assert first.cancelled()
    assert not second.done()
    await asyncio.wait_for(second, 1.0)
    assert time.monotonic() >= deadline


async def test_a_past_deadline_returns_at_once() -> None:
    clock = MonotonicClock()
    started = time.monotonic()
    await clock.sleep_until(started - 5)
    assert time.monotonic() - started < 0.05
