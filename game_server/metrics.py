"""Prometheus metrics of this process: sockets, frames, errors, rate limits, and the engine.

Served at /metrics (staff or METRICS_TOKEN only). Engine figures are read from the hosts of
this process at scrape time, so the tick path pays only for two histogram observations.
"""

from __future__ import annotations

import weakref
from bisect import bisect_left
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.utils import floatToGoString

if TYPE_CHECKING:
    from engine.host import MatchHost
    from engine.match import Match

REGISTRY = CollectorRegistry(auto_describe=True)

SOCKETS = Gauge("skirmish_sockets_open", "Websockets open in this process", registry=REGISTRY)


class Tally:
    """A counter for the per-frame paths: a plain int, read at scrape time.

    prometheus_client's Counter takes a lock on every `inc()`; at tens of thousands of frames a
    second that was 8 % of the server's CPU. These are only touched on the event loop's thread."""

    __slots__ = ("documentation", "name", "value")

    def __init__(self, name: str, documentation: str) -> None:
        self.name = name
        self.documentation = documentation
        self.value = 0

    def inc(self) -> None:
        self.value += 1


FRAMES_IN = Tally("skirmish_frames_in", "Websocket frames received")
FRAMES_OUT = Tally("skirmish_frames_out", "Websocket frames sent")
INPUTS_DROPPED = Tally("skirmish_inputs_dropped", "Inputs dropped because their match's input queue was full")
DELTAS_DROPPED = Tally("skirmish_deltas_dropped", "Tick deltas not sent to a socket that was behind (it resyncs)")
ERRORS = Counter("skirmish_errors_total", "Error frames sent, by code", ["code"], registry=REGISTRY)
CLOSES = Counter("skirmish_closes_total", "Sockets closed by the server, by close code", ["code"], registry=REGISTRY)
RATE_LIMITED = Counter("skirmish_rate_limited_total", "Messages refused by a rate limit", registry=REGISTRY)


class TallyHistogram:
    """A histogram for the per-tick paths, like Tally: plain ints, read at scrape time.

    prometheus_client's Histogram takes a lock for its sum and again for the bucket on every
    `observe()`: 0.53 µs here (`timeit`), against 0.12 µs for this one, twice per match tick. A
    value goes to the first bucket whose upper bound it does not exceed, as there."""

    __slots__ = ("bounds", "counts", "documentation", "name", "total")

    def __init__(self, name: str, documentation: str, buckets: Sequence[float]) -> None:
        self.name = name
        self.documentation = documentation
        self.bounds = tuple(sorted(buckets))
        self.counts = [0] * (len(self.bounds) + 1)  # the last one: above every bound (+Inf)
        self.total = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.total += value

    def metric(self) -> HistogramMetricFamily:
        """The Prometheus histogram (cumulative buckets) of what was observed so far."""
        buckets: list[tuple[str, float]] = []
        seen = 0
        for bound, count in zip((*self.bounds, float("inf")), self.counts, strict=True):
            seen += count
            buckets.append((floatToGoString(bound), seen))
        return HistogramMetricFamily(self.name, self.documentation, buckets=buckets, sum_value=self.total)


TICK_SECONDS = TallyHistogram(
    "skirmish_tick_seconds",
    "CPU time of one match tick (simulation and views)",
    buckets=(0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05),
)
TICK_LATENESS = TallyHistogram(
    "skirmish_tick_lateness_seconds",
    "How late each tick started after its slot on the match's fixed schedule (tick jitter)",
    buckets=(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25),
)

_hosts: weakref.WeakSet[MatchHost] = weakref.WeakSet()


def _none_behind() -> int:
    return 0  # (until daphne_adapter is installed: no socket of this process is under its rule)


_count_behind: Callable[[], int] = _none_behind


def observe_tick(match: Match, seconds: float) -> None:
    """Called by the host after every tick."""
    TICK_SECONDS.observe(seconds)


def report_behind(count: Callable[[], int]) -> None:
    """Have skirmish_sockets_behind read `count()` (game_server.daphne_adapter.sockets_behind)."""
    global _count_behind
    _count_behind = count


def register_host(host: MatchHost) -> None:
    """Report this host's matches and tick counters."""
    host.on_tick = observe_tick
    host.on_due = TICK_LATENESS.observe
    _hosts.add(host)


class EngineCollector:
    """Reads the live hosts of this process at scrape time."""

    def collect(self) -> Iterator[Metric]:
        for tally in (FRAMES_IN, FRAMES_OUT, INPUTS_DROPPED, DELTAS_DROPPED):
            yield CounterMetricFamily(tally.name, tally.documentation, value=tally.value)
        for histogram in (TICK_SECONDS, TICK_LATENESS):
            yield histogram.metric()
        yield GaugeMetricFamily(
            "skirmish_sockets_behind",
            "Open websockets whose client is behind now (their tick deltas are being dropped)",
            value=_count_behind(),
        )
        hosts = list(_hosts)
        yield GaugeMetricFamily(
            "skirmish_matches_running", "Matches ticking in this process", value=sum(len(h.matches) for h in hosts)
        )
        yield CounterMetricFamily("skirmish_ticks", "Ticks run", value=sum(h.ticks_total for h in hosts))
        yield CounterMetricFamily(
            "skirmish_late_ticks", "Ticks that started late", value=sum(h.late_ticks_total for h in hosts)
        )
        yield CounterMetricFamily(
            "skirmish_tick_overruns",
            "Tick slots skipped because the loop fell behind",
            value=sum(h.overruns_total for h in hosts),
        )


REGISTRY.register(EngineCollector())  # type: ignore[arg-type]


def render() -> bytes:
    """The metrics in Prometheus' text format."""
    return generate_latest(REGISTRY)
