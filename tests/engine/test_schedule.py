"""The fixed-timestep runner on a fake clock: no drift, bounded catch-up, counted lateness."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from engine.game import Player
from engine.games.arena import Arena
from engine.host import MAX_CATCHUP, MatchHost, Schedule
from engine.match import Frame, Match, MatchEnded, Outbound
from engine.rng import Rng

T0 = 5000.0


@pytest.mark.parametrize("rate", [20, 60])
def test_no_drift_over_a_ten_minute_match(rate: int):
    """Tick k starts at t0 + k·period (plus only that wake-up's own lateness), for 10 minutes."""
    period = 1 / rate
    schedule = Schedule(period=period, t0=T0)
    jitter = Rng(rate)
    now = T0
    started: list[float] = []
    while now < T0 + 600:
        now = max(now, schedule.deadline()) + jitter.uniform(0, 0.0015)  # the loop wakes a bit late
        for _ in range(schedule.due(now)):
            started.append(now)
            now += period * 0.3  # the tick itself takes 30 % of the period
    assert len(started) in (600 * rate, 600 * rate + 1)
    worst = max(abs(s - (T0 + k * period)) for k, s in enumerate(started))
    assert worst < 0.0015 + 1e-9  # no error accumulates: still within one wake-up's jitter at the end
    assert schedule.late_ticks == 0 and schedule.overruns == 0


def test_sleeping_a_period_after_each_tick_would_drift():
    """The naive loop this replaces: 10 minutes at 20 Hz end 1.5 minutes late with 30 % run time."""
    period, now = 1 / 20, T0
    for _ in range(600 * 20):
        now += period * 0.3 + period
    assert now - (T0 + 600) > 60


def test_a_late_tick_is_counted_and_caught_up_within_the_bound():
    period = 0.05
    schedule = Schedule(period=period, t0=T0)
    assert schedule.due(T0) == 1
    assert schedule.due(T0 + 0.01) == 0  # early for tick 1
    assert schedule.due(T0 + period + 0.001) == 1 and schedule.late_ticks == 0  # 1 ms: on time
    assert schedule.due(T0 + 2 * period + 0.060) == 2  # 60 ms late: tick 2 and tick 3 now
    assert (schedule.late_ticks, schedule.overruns) == (1, 0)
    assert schedule.deadline() == pytest.approx(T0 + 4 * period)


def test_a_long_stall_runs_at_most_max_catchup_ticks_and_counts_the_skipped_ones():
    period = 0.05
    schedule = Schedule(period=period, t0=T0)
    schedule.due(T0)
    stalled = T0 + period + 10.2 * period  # tick 1 is 10.2 periods late: slots 1..11 are due
    assert schedule.due(stalled) == MAX_CATCHUP
    assert schedule.overruns == 11 - MAX_CATCHUP
    assert schedule.late_ticks == 1
    assert schedule.due(stalled) == 0  # no burst afterwards: the next slot is in the future
    assert schedule.deadline() == pytest.approx(T0 + 12 * period)
    assert schedule.deadline() > stalled


class FakeClock:
    """Simulated monotonic time; each wait wakes 0.5 ms after its deadline."""

    def __init__(self) -> None:
        self.t = T0
        self.wakes = 0

    def now(self) -> float:
        return self.t

    def align(self, moment: float) -> float:
        return moment

    async def sleep_until(self, deadline: float) -> None:
        self.t = max(self.t, deadline) + 0.0005
        self.wakes += 1
        await asyncio.sleep(0)


class Recorder:
    """Broadcaster and result sink in one; each publish costs `cost` simulated seconds."""

    def __init__(self, clock: FakeClock, cost: float, stall_at: int | None = None, stall: float = 0.0) -> None:
        self.clock, self.cost, self.stall_at, self.stall = clock, cost, stall_at, stall
        self.ticks: list[tuple[int, float]] = []
        self.ended: MatchEnded | None = None
        self.host: MatchHost | None = None
        self.counters: tuple[int, int] = (0, 0)

    async def publish(self, match: Match, outbound: Sequence[Outbound]) -> None:
        tick = next(f.tick for f in outbound if isinstance(f, Frame))
        self.ticks.append((tick, self.clock.t))
        self.clock.t += self.cost + (self.stall if tick == self.stall_at else 0.0)
        assert self.host is not None
        schedule = self.host.schedules[match.match_id]
        self.counters = (schedule.late_ticks, schedule.overruns)

    async def record(self, match: Match, ended: MatchEnded) -> None:
        self.ended = ended


def arena(rate: int, seconds: int) -> Match:
    game = Arena()
    return Match(
        match_id=f"m{rate}",
        game=game,
        players=[Player(0, "a"), Player(1, "b")],
        options=game.options({"time_seconds": seconds, "score_limit": 0}),
        seed=1,
        tick_rate=rate,
    )


@pytest.mark.parametrize("rate", [20, 60])
async def test_the_host_ticks_a_match_on_schedule_until_it_ends(rate: int):
    clock = FakeClock()
    recorder = Recorder(clock, cost=0.2 / rate)
    host = MatchHost(recorder, recorder, clock)
    recorder.host = host
    await host.start(arena(rate, 30))
    assert recorder.ended is not None and recorder.ended.outcome.reason == "time_up"
    assert recorder.ended.tick == 30 * rate
    period = 1 / rate
    assert [tick for tick, _ in recorder.ticks] == list(range(1, 30 * rate + 1))
    assert all(abs(t - (T0 + (tick - 1) * period)) < 0.001 for tick, t in recorder.ticks)
    assert recorder.counters == (0, 0)
    assert host.matches == {} and host.schedules == {}


async def test_the_host_counts_a_stalled_tick_and_skips_rather_than_bursts():
    clock = FakeClock()
    recorder = Recorder(clock, cost=0.001, stall_at=10, stall=0.5)  # tick 10 takes 10 periods
    host = MatchHost(recorder, recorder, clock)
    recorder.host = host
    lateness: list[float] = []
    host.on_due = lateness.append
    await host.start(arena(20, 5))
    late, overruns = recorder.counters
    # The jitter hook hears how late each wake-up was: on time, except the one after the stall.
    assert len(lateness) > 80 and max(lateness) > 0.45
    assert sum(x > 0.01 for x in lateness) == 1
    # Tick 10 ends 10 periods after its slot, so slots 10..19 are due: 3 run at once, 7 skipped.
    assert late == 1 and overruns == 10 - MAX_CATCHUP
    times = dict(recorder.ticks)
    burst = list(range(11, 11 + MAX_CATCHUP))
    assert all(times[t] - times[10] < 0.52 for t in burst)  # the catch-up ticks run right after the stall
    after = times[11 + MAX_CATCHUP]
    assert after - times[11] > 0.04  # then the schedule resumes on its slots, no burst
    assert recorder.ended is not None and recorder.ended.tick == 100


class ParkedClock:
    """Time stands still at T0 (or a given moment) and no sleeper ever wakes: only first deadlines are set."""

    def __init__(self, now: float = T0) -> None:
        self.t = now

    def now(self) -> float:
        return self.t

    def align(self, moment: float) -> float:
        return moment

    async def sleep_until(self, deadline: float) -> None:
        await asyncio.get_running_loop().create_future()


def numbered_arena(i: int, rate: int) -> Match:
    match = arena(rate, 30)
    match.match_id = f"m{rate}-{i}"
    return match


def phases(host: MatchHost, period: float, width: float) -> list[int]:
    return sorted(round((s.t0 % period) / width) % round(period / width) for s in host.schedules.values())


@pytest.mark.parametrize(("rate", "count"), [(20, 100), (60, 40)])
async def test_matches_started_together_are_spread_over_the_period(rate: int, count: int):
    """A burst of starts must not tick in one loop turn forever: each phase gets its share."""
    clock = ParkedClock()
    recorder = Recorder(clock, cost=0.0)  # type: ignore[arg-type]
    host = MatchHost(recorder, recorder, clock)
    tasks = [host.start(numbered_arena(i, rate)) for i in range(count)]
    await asyncio.sleep(0)
    period = 1 / rate
    slots = round(period / 0.001)  # 50 phases at 20 Hz, 17 at 60 Hz
    taken = phases(host, period, period / slots)
    assert len(taken) == count
    assert {taken.count(k) for k in range(slots)} <= {count // slots, count // slots + 1}
    assert all(T0 <= s.t0 < T0 + period for s in host.schedules.values())  # none waits past one period
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_a_new_match_takes_the_soonest_free_phase_and_a_lone_one_starts_at_once():
    clock = ParkedClock()
    recorder = Recorder(clock, cost=0.0)  # type: ignore[arg-type]
    host = MatchHost(recorder, recorder, clock)
    tasks = [host.start(numbered_arena(0, 20))]
    await asyncio.sleep(0)
    assert host.schedules["m20-0"].t0 == T0  # nobody else: no wait at all
    clock.t = T0 + 0.0101  # 10.1 ms on: the phase at 10 ms is gone by, the next one is free
    tasks.append(host.start(numbered_arena(1, 20)))
    await asyncio.sleep(0)
    assert host.schedules["m20-1"].t0 == pytest.approx(T0 + 0.0101, abs=1e-9)
    tasks.append(host.start(numbered_arena(2, 20)))  # its phase is taken now: the next one
    await asyncio.sleep(0)
    assert host.schedules["m20-2"].t0 == pytest.approx(T0 + 0.0111, abs=1e-9)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def test_a_schedule_keeps_no_history_however_long_the_match() -> None:
    """Hundreds of matches tick for an hour each: a schedule is the same few words throughout."""
    import tracemalloc

    period = 0.05
    schedule = Schedule(period=period, t0=T0)
    schedule.due(T0)
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for k in range(1, 10_000):
        schedule.due(T0 + k * period + 0.0003)
    grown = sum(s.size_diff for s in tracemalloc.take_snapshot().compare_to(before, "filename"))
    tracemalloc.stop()
    assert schedule.lateness == pytest.approx(0.0003)
    assert grown < 8_000
