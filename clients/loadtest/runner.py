"""Run a load test: worker processes seat matches and count frames; the parent times and sums.

Phases (all processes in step): seat every match (connects paced by `ramp` per second, a match's
sockets one after another and the matches in turn; a match has `setup_timeout` seconds from its
first connect to be seated), then `warmup` seconds, then a `duration`-second measurement window,
then 2 s to collect late frames.
Players send one input per tick from the moment their match starts, spread over the tick in
`PHASES` slices so the server does not see one burst per tick.

Latency = receive time - the server's tick time `t` (sampled clients, same host clock). A worker's
own garbage collector is paused from the moment it learns the window until its results are sent
(`collector_paused`), so its pauses are not counted as the server's latency.
Loss: per match, the ticks the server stamped inside the window (from the first player's
frames) are the frames every member should get; a member's loss is the share it did not get.
"""

from __future__ import annotations

import asyncio
import gc
import json
import multiprocessing as mp
import os
import random
import resource
import sys
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from clients.loadtest.targets import Client, ColyseusTarget, FloorTarget, SetupFailed, SkirmishTarget, Target
from clients.loadtest.wire import HandshakeFailed

PHASES = 10
GRACE = 2.0


@dataclass(frozen=True, slots=True)
class Config:
    """One run's parameters."""

    target: str
    url: str
    matches: int
    players: int
    spectators: int
    rate: int
    duration: float
    warmup: float
    ramp: float  # connects per second, over all processes
    procs: int
    sample: float
    tokens: str | None
    prefix: str
    setup_timeout: float

    @property
    def match_seconds(self) -> int:
        """How long a match should last: the whole run plus a margin, so it ends by itself."""
        clients = self.matches * (self.players + self.spectators)
        return int(clients / self.ramp + self.warmup + self.duration + 3 * GRACE + 30)


def make_target(cfg: Config, tokens: dict[str, str]) -> Target:
    """The target named in the config."""
    if cfg.target == "skirmish":
        return SkirmishTarget(cfg.url, cfg.rate, cfg.match_seconds, tokens, cfg.prefix)
    if cfg.target == "websockets":
        return FloorTarget(cfg.url, cfg.rate, cfg.match_seconds)
    if cfg.target == "colyseus":
        return ColyseusTarget(cfg.url, cfg.rate, cfg.match_seconds)
    raise ValueError(f"unknown target {cfg.target!r}")


def load_tokens(path: str | None, url: str) -> dict[str, str]:
    """Cached tokens for `url` (registering and signing in costs two password hashes each)."""
    if not path or not os.path.exists(path):
        return {}
    with open(path) as f:
        return dict(json.load(f).get(url.rstrip("/"), {}))


def save_tokens(path: str | None, url: str, tokens: dict[str, str]) -> None:
    """Write the token cache back."""
    if not path:
        return
    data: dict[str, Any] = {}
    if os.path.exists(path):
        with open(path) as f:
            data = json.load(f)
    data[url.rstrip("/")] = tokens
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        json.dump(data, f)


# ---- one worker process ---------------------------------------------------------------------


class Pacer:
    """Hands out connect slots at a fixed rate, in order. A match takes all of its slots at once,
    so matches are seated one after another, as players would arrive, and a match's setup time
    runs from its own first slot. (Handing slots out a socket at a time seated every match in
    step: each one's first sockets waited for every other match's, and at 500 matches x 6
    sockets at 100 a second its setup time was half spent before its last socket could connect.)"""

    def __init__(self, per_second: float) -> None:
        self.gap = 1.0 / per_second if per_second > 0 else 0.0
        self.next = time.monotonic()

    def reserve(self, n: int) -> Slots:
        """The next `n` slots."""
        start = max(time.monotonic(), self.next)
        self.next = start + n * self.gap
        return Slots([start + i * self.gap for i in range(n)])


class Slots:
    """One match's connect slots: each call waits for the next one (none left: no wait)."""

    def __init__(self, times: list[float]) -> None:
        self.start = times[0] if times else time.monotonic()
        self.times = deque(times)

    async def __call__(self) -> None:
        delay = (self.times.popleft() if self.times else 0.0) - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)


class Worker:
    """Seats this process's matches, drives their inputs, counts their frames."""

    def __init__(self, cfg: Config, index: int, matches: list[int], tokens: dict[str, str], pipe: Any) -> None:
        self.cfg = cfg
        self.index = index
        self.matches = matches
        self.pipe = pipe
        self.target = make_target(cfg, tokens)
        self.clients: dict[int, list[Client]] = {}
        self.failures: list[str] = []
        self.ready = 0
        rng = random.Random(index)
        per = cfg.players + cfg.spectators
        for m in matches:
            sampled_rest = [rng.random() < cfg.sample for _ in range(per)]
            self.clients[m] = [
                Client(
                    index=m * per + i,
                    seat=i if i < cfg.players else None,
                    sampled=(i == 0) or sampled_rest[i],
                )
                for i in range(per)
            ]
        self.rng = rng

    async def seat(self, m: int, slots: Slots) -> None:
        """Seat match `m` from its first slot on, within the setup time."""
        await asyncio.sleep(max(0.0, slots.start - time.monotonic()))
        started = time.monotonic()
        try:
            await asyncio.wait_for(self.target.seat_match(m, self.clients[m], slots), self.cfg.setup_timeout)
            self.ready += 1
        except (SetupFailed, HandshakeFailed, OSError, TimeoutError, ConnectionError) as exc:
            # (a refused or reset handshake fails this match only, never the whole process)
            at = time.monotonic() - started
            self.failures.append(f"match {m} ({at:.1f} s into its setup): {type(exc).__name__}: {exc}")
            for c in self.clients[m]:
                if c.ws is not None:
                    c.ws.close()
                c.ws, c.live = None, False

    async def inputs(self) -> None:
        """One input per player per tick, in PHASES slices of the tick."""
        players = [c for cs in self.clients.values() for c in cs if c.seat is not None]
        slices = [players[i::PHASES] for i in range(PHASES)]
        step = 1.0 / (self.cfg.rate * PHASES)
        loop = asyncio.get_running_loop()
        due = loop.time()
        k = 0
        frame_of = self.target.input_frame
        while True:
            for c in slices[k % PHASES]:
                if c.live and c.ws is not None:
                    if self.rng.random() < 0.05:  # hold a direction for about a second
                        c.dx, c.dy = self.rng.choice((-1, 0, 1)), self.rng.choice((-1, 0, 1))
                    c.ws.send(frame_of(c))
            k += 1
            due += step
            delay = due - loop.time()
            if delay < -1.0 / self.cfg.rate:  # fell more than a tick behind: skip rather than burst
                due = loop.time()  # (catching up a second sent ~20 inputs per player at once,
                delay = 0  # overflowing the server's 8-input queue: input/queue_full errors)
            await asyncio.sleep(max(0.0, delay))

    async def progress(self, stop: asyncio.Event) -> None:
        last = 0
        while not stop.is_set():
            await asyncio.sleep(1.0)
            frames = sum(len(c.ticks) for cs in self.clients.values() for c in cs)
            live = sum(1 for cs in self.clients.values() for c in cs if c.live and c.closed_code == 0)
            self.pipe.send(("progress", self.index, {"live": live, "ready": self.ready, "frames": frames - last}))
            last = frames

    async def run(self) -> None:
        if isinstance(self.target, SkirmishTarget):
            users = max(self.matches, default=-1) + 1
            await self.target.prepare(users * (self.cfg.players + self.cfg.spectators))
        pacer = Pacer(self.cfg.ramp / self.cfg.procs)
        slots = {m: pacer.reserve(self.cfg.players + self.cfg.spectators) for m in self.matches}
        # Before anything is live, let counting run from now on (the window is set later).
        for cs in self.clients.values():
            for c in cs:
                c.window = (float("inf"), float("inf"))
        stop = asyncio.Event()
        tasks = [asyncio.create_task(self.progress(stop)), asyncio.create_task(self.inputs())]
        await asyncio.gather(*(self.seat(m, slots[m]) for m in self.matches))
        self.pipe.send(("ready", self.index, {"ready": self.ready, "failures": self.failures}))
        w0, w1 = await asyncio.to_thread(self.pipe.recv)
        for cs in self.clients.values():
            for c in cs:
                c.window = (w0, w1)
        with collector_paused() as collections:
            await asyncio.sleep(max(0.0, w0 - time.time()))
            cpu0 = _cpu()
            await asyncio.sleep(max(0.0, w1 - time.time()))
            cpu1 = _cpu()
            await asyncio.sleep(GRACE)
            stop.set()
            for t in tasks:
                t.cancel()
            result = self.result(w0, w1, cpu1 - cpu0)
            result["collections"] = sum(collections.values())
        self.pipe.send(("result", self.index, result))
        for cs in self.clients.values():
            for c in cs:
                if c.ws is not None:
                    c.ws.close()
        await asyncio.sleep(0.2)

    def result(self, w0: float, w1: float, cpu: float) -> dict[str, Any]:
        """What this process measured: per-client counts, latency samples."""
        out: dict[str, Any] = {"cpu_seconds": cpu, "clients": [], "latencies": [], "undecoded": 0, "errors": 0}
        out["error_codes"] = {}
        out["tick_rates"] = []
        for cs in self.clients.values():
            ref = cs[0]
            in_window = [tick for tick, t in ref.clock if w0 * 1000 <= t <= w1 * 1000]
            if not ref.live or not in_window:
                for c in cs:
                    if c.seat is not None or self.target.spectators_supported:
                        out["clients"].append({"expected": 0, "received": 0, "bytes": 0, "dead": True})
                continue
            a, b = min(in_window), max(in_window)
            out["tick_rates"].append((b - a + 1) / (w1 - w0))
            for c in cs:
                if c.seat is None and not self.target.spectators_supported:
                    continue
                got = {tick for tick in c.ticks if a <= tick <= b}
                out["clients"].append(
                    {
                        "expected": b - a + 1,
                        "received": len(got),
                        "bytes": c.bytes_in_window,
                        "dead": c.closed_code != 0,
                        "spectator": c.seat is None,
                    }
                )
                out["latencies"].extend(lat for tick, lat in c.lat if a <= tick <= b)
                out["undecoded"] += c.undecoded
                out["errors"] += c.errors
                for code, n in c.error_codes.items():
                    out["error_codes"][code] = out["error_codes"].get(code, 0) + n
        return out


@contextmanager
def collector_paused() -> Iterator[dict[int, int]]:
    """No cyclic garbage collection in this process inside the block (one full collection first).

    Counting frames over the window, a worker of 1,500 sockets gathers enough tracked objects for a
    full collection, which stopped it for 104-140 ms (measured with `gc.callbacks` at 500 arena
    matches, one in each worker's window): every frame it received meanwhile was counted that late
    on the server's account. Where the pauses held more than 1 % of the window's frames, that pause
    was the run's p99 (~110 ms in both runs of a sweep at 500 matches); where less, 6-11 ms.
    Reference counting still frees everything but cycles; the collector runs again after the
    block. Yields the collections that ran inside it anyway, per generation (none unless something
    re-enabled the collector).
    """
    counts: dict[int, int] = {}

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            counts[info["generation"]] = counts.get(info["generation"], 0) + 1

    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    gc.callbacks.append(count)
    try:
        yield counts
    finally:
        gc.callbacks.remove(count)
        if enabled:
            gc.enable()


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _worker_main(cfg: Config, index: int, matches: list[int], tokens: dict[str, str], pipe: Any) -> None:
    # Plain asyncio: with uvloop (once picked up here when installed) no match could be seated
    # (every setup timed out); the load generator is measured and tested on asyncio only.
    try:
        asyncio.run(Worker(cfg, index, matches, tokens, pipe).run())
    except Exception as exc:  # report, never hang the parent
        pipe.send(("crashed", index, f"{type(exc).__name__}: {exc}"))


# ---- the parent -------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (nearest rank) of values, or None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, int(round(q / 100 * len(ordered) + 0.5)) - 1))
    return ordered[rank]


def summarize(cfg: Config, results: list[dict[str, Any]], connect_failures: list[str], extra: dict[str, Any]) -> dict:
    """Merge the worker results into the run's figures."""
    clients = [c for r in results for c in r["clients"]]
    lats = [x for r in results for x in r["latencies"]]
    rates = [x for r in results for x in r.get("tick_rates", [])]
    expected = sum(c["expected"] for c in clients)
    received = sum(c["received"] for c in clients)
    measured = [c for c in clients if c["expected"]]
    per = [c["bytes"] / cfg.duration for c in measured]
    cpu = sum(r["cpu_seconds"] for r in results)
    return {
        "config": {k: getattr(cfg, k) for k in cfg.__dataclass_fields__},
        "clients": len(clients),
        "clients_measured": len(measured),
        "connect_failures": connect_failures,
        "latency_ms": {
            "samples": len(lats),
            "p50": percentile(lats, 50),
            "p90": percentile(lats, 90),
            "p99": percentile(lats, 99),
            "max": max(lats) if lats else None,
        },
        "tick_rate": (sum(rates) / len(rates)) if rates else None,  # ticks/s the server stamped, mean of matches
        "tick_rate_min": min(rates, default=None),
        "frames_expected": expected,
        "frames_received": received,
        "loss": (1 - received / expected) if expected else None,
        "bytes_per_client_per_s": (sum(per) / len(per)) if per else None,
        "dead_clients": sum(1 for c in clients if c.get("dead")),
        "undecoded_frames": sum(r["undecoded"] for r in results),
        "error_frames": sum(r["errors"] for r in results),
        "error_codes": _merge_counts(r.get("error_codes", {}) for r in results),
        "loadgen_cpu_percent": 100 * cpu / cfg.duration,
        "loadgen_collections": sum(r.get("collections", 0) for r in results),  # in the window: 0
        **extra,
    }


def run(cfg: Config, out: str | None = None, quiet: bool = False) -> dict[str, Any]:
    """Run the whole test; print a progress line and the summary; write JSON to `out`."""
    tokens = load_tokens(cfg.tokens, cfg.url)
    if cfg.target == "skirmish":
        # Register and sign in missing accounts up front, in this process, so they are cached.
        target = make_target(cfg, tokens)
        assert isinstance(target, SkirmishTarget)
        users = cfg.matches * (cfg.players + cfg.spectators)
        missing = sum(1 for i in range(users) if target.username(i) not in tokens)
        if missing:
            _say(quiet, f"signing in {missing} accounts (two password hashes each on the server)...\n")
            asyncio.run(target.prepare(users))
            save_tokens(cfg.tokens, cfg.url, tokens)
    spectators_supported = make_target(cfg, tokens).spectators_supported
    ctx = mp.get_context("fork")
    procs = []
    pipes = []
    for i in range(cfg.procs):
        parent, child = ctx.Pipe()
        matches = list(range(i, cfg.matches, cfg.procs))
        proc = ctx.Process(target=_worker_main, args=(cfg, i, matches, tokens, child), daemon=True)
        proc.start()
        procs.append(proc)
        pipes.append(parent)
    started = time.time()
    state: dict[int, dict[str, Any]] = {}
    failures: list[str] = []
    ready: set[int] = set()
    results: dict[int, dict[str, Any]] = {}
    crashed: list[str] = []
    window: tuple[float, float] | None = None
    shown = 0.0
    deadline = started + cfg.setup_timeout + cfg.matches * (cfg.players + cfg.spectators) / cfg.ramp + 30
    while len(results) + len(crashed) < cfg.procs:
        for pipe in pipes:
            while pipe.poll():
                kind, idx, data = pipe.recv()
                if kind == "progress":
                    state[idx] = data
                elif kind == "ready":
                    ready.add(idx)
                    failures.extend(data["failures"])
                elif kind == "result":
                    results[idx] = data
                elif kind == "crashed":
                    crashed.append(f"process {idx}: {data}")
        if window is None and (len(ready) + len(crashed) == cfg.procs or time.time() > deadline):
            w0 = time.time() + cfg.warmup
            window = (w0, w0 + cfg.duration)
            for i in ready:
                pipes[i].send(window)
        if time.time() - shown >= (1.0 if sys.stderr.isatty() else 5.0):
            shown = time.time()
            _progress(quiet, cfg, state, started, window)
        if window is not None and time.time() > window[1] + GRACE + 60:
            crashed.append("timed out waiting for results")
            break
        time.sleep(0.2)
    for proc in procs:
        proc.join(timeout=5)
        if proc.is_alive():
            proc.kill()
    _say(quiet, "\n")
    extra = {
        "target": cfg.target,
        "spectators_supported": spectators_supported,
        "crashed": crashed,
        "window": list(window) if window else None,
    }
    summary = summarize(cfg, list(results.values()), failures, extra)
    if out:
        with open(out, "w") as f:
            json.dump(summary, f, indent=2)
    if not quiet:
        print(render(summary))
    return summary


def _say(quiet: bool, text: str) -> None:
    if not quiet:
        sys.stderr.write(text)
        sys.stderr.flush()


def _progress(quiet: bool, cfg: Config, state: dict[int, dict[str, Any]], started: float, window: Any) -> None:
    live = sum(s["live"] for s in state.values())
    ready = sum(s["ready"] for s in state.values())
    fps = sum(s["frames"] for s in state.values())
    now = time.time()
    if window is None:
        phase = "seating"
    elif now < window[0]:
        phase = f"warm-up {window[0] - now:4.1f}s"
    elif now < window[1]:
        phase = f"measuring {window[1] - now:4.1f}s"
    else:
        phase = "collecting"
    line = f"[{now - started:6.1f}s] {phase:<16} matches {ready}/{cfg.matches}  live sockets {live}  frames/s {fps}"
    _say(quiet, "\r" + line.ljust(100) if sys.stderr.isatty() else line + "\n")


def render(s: dict[str, Any]) -> str:
    """The summary as a few human lines."""
    lat = s["latency_ms"]

    def ms(v: float | None) -> str:
        return "-" if v is None else f"{v:.1f}"

    loss = "-" if s["loss"] is None else f"{100 * s['loss']:.2f} %"
    bps = "-" if s["bytes_per_client_per_s"] is None else f"{s['bytes_per_client_per_s']:.0f}"
    lines = [
        f"target {s['target']}: {s['config']['matches']} matches, {s['clients']} clients measured "
        f"({s['clients_measured']} with frames), {s['config']['rate']} Hz",
        f"latency ms: p50 {ms(lat['p50'])}  p90 {ms(lat['p90'])}  p99 {ms(lat['p99'])}  max {ms(lat['max'])}"
        f"  ({lat['samples']} samples)",
        f"frames: expected {s['frames_expected']}, received {s['frames_received']}, loss {loss}"
        + ("" if s["tick_rate"] is None else f"   server ticks/s: {s['tick_rate']:.1f} (min {s['tick_rate_min']:.1f})"),
        f"bytes per client per second: {bps}   load generator CPU: {s['loadgen_cpu_percent']:.0f} % of a core",
        f"connect failures: {len(s['connect_failures'])}   dead sockets: {s['dead_clients']}"
        f"   error frames: {s['error_frames']}"
        + "".join(f"  {code}: {n}" for code, n in sorted(s["error_codes"].items())),
    ]
    if not s["spectators_supported"]:
        lines.append("spectators: not supported by this server yet (not connected)")
    lines.extend(f"  {f}" for f in s["connect_failures"][:5])
    lines.extend(f"  crashed: {c}" for c in s["crashed"])
    return "\n".join(lines)


def _merge_counts(counts: Any) -> dict[str, int]:
    """Sum {key: count} maps."""
    total: dict[str, int] = {}
    for one in counts:
        for key, n in one.items():
            total[key] = total.get(key, 0) + n
    return total
