"""python -m bench.run: sweep the arena load over Skirmish and its peers, write docs/benchmarks.md.

For each server and each number of matches M the script starts the server fresh, pinned to one
core (`taskset -c 0`), runs the load generator on the other core (`taskset -c 1 python -m
clients.loadtest ...`), samples the server's CPU time and RSS from /proc during the measurement
window, then stops the server. Servers:

- `skirmish`: daphne on game_server.asgi:application with the arguments of scripts/run (DEBUG=0,
  SQLite copied from a seeded template, in-memory channel layer, engine in the web process);
- `skirmish-redis-pubsub`: the same daphne plus `manage.py runengine`, both on core 0, with
  REDIS_URL and the default Redis layer (CHANNEL_LAYER=pubsub); `skirmish-redis`: the same with
  CHANNEL_LAYER=core (channels-redis's core layer);
- `colyseus`: bench/peers/colyseus/server.js (node, Colyseus 0.18, `npm ci` first);
- `websockets`: bench/peers/websockets_floor.py (the floor: the `websockets` library);
- `asyncio`: bench/peers/asyncio_floor.py (the lower floor: bare asyncio Protocols, frames by hand).

Capacity = the largest M with p99 < 50 ms and loss < 1 % (and ticks on time) at that M and at every
smaller M measured: a failed point caps it even when a bigger M passes. A server's sweep
stops after two failing points in a row. The "## Load" section of docs/benchmarks.md is replaced
(or appended), keeping its "### Notes"; nothing else in the file changes.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "bench" / ".data"
PY = sys.executable
DOCS = ROOT / "docs" / "benchmarks.md"
P99_LIMIT = 50.0
LOSS_LIMIT = 0.01
TICK_RATE_FLOOR = 0.95  # a server whose ticks fall below 95 % of the rate is over capacity too
PREFIX = "lt"
METRICS_TOKEN = "bench-metrics-" + "x" * 20
FLOORS = {"websockets": "bench.peers.websockets_floor", "asyncio": "bench.peers.asyncio_floor"}
JITTER_OK = 0.002  # the tick-start jitter target (p99), seconds


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """Wait until something accepts on the port (RuntimeError if the process died)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing listens on {port} after {timeout}s")


class Server:
    """One server under test: its processes (pinned to core 0) and how to read their cost."""

    def __init__(self, kind: str, rate: int, log: Path) -> None:
        self.kind = kind
        self.rate = rate
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.procs: list[subprocess.Popen[bytes]] = []
        self.env: dict[str, str] = {}
        self.database: Path | None = None  # this run's copy of the template (removed by stop)

    def _spawn(self, cmd: list[str], env: dict[str, str] | None = None, cwd: Path = ROOT) -> subprocess.Popen[bytes]:
        with open(self.log, "ab") as out:  # (the child keeps its own copy of the descriptor)
            proc = subprocess.Popen(
                ["taskset", "-c", "0", *cmd], cwd=cwd, env={**os.environ, **(env or {})}, stdout=out, stderr=out
            )
        self.procs.append(proc)
        return proc

    def start(self) -> None:
        """Start the server and wait until it listens."""
        if self.kind in ("skirmish", "skirmish-redis", "skirmish-redis-pubsub"):
            db = self.database = DATA / f"run-{self.port}.sqlite3"
            copy_database(DATA / "template.sqlite3", db)
            self.env = {
                "DEBUG": "0",
                "SECRET_KEY": "bench-not-secret-" + "x" * 40,
                "DATABASE_URL": f"sqlite:///{db}",
                "ALLOWED_HOSTS": "127.0.0.1,localhost",
                "MAX_SOCKETS_PER_IP": "100000",
                "LOG_LEVEL": "WARNING",
                "TICK_RATE": str(self.rate),
                "METRICS_TOKEN": METRICS_TOKEN,
            }
            if self.kind.startswith("skirmish-redis"):
                self.env.update(REDIS_URL="redis://127.0.0.1:6379/0", CHANNEL_LAYER_PREFIX=f"bench{self.port}")
                self.env["CHANNEL_LAYER"] = "pubsub" if self.kind.endswith("pubsub") else "core"
            else:
                self.env["REDIS_URL"] = ""
            daphne = str(Path(PY).parent / "daphne")
            args = ["--websocket-max-message-size", "65536", "--websocket-max-frame-size", "65536"]
            proc = self._spawn(
                [daphne, "-b", "127.0.0.1", "-p", str(self.port), *args, "game_server.asgi:application"], self.env
            )
            if self.kind.startswith("skirmish-redis"):
                self._spawn([PY, "manage.py", "runengine", "--worker-id", f"bench{self.port}"], self.env)
        elif self.kind == "colyseus":
            proc = self._spawn(["node", "server.js", str(self.port), str(self.rate)], cwd=ROOT / "bench/peers/colyseus")
        elif self.kind in FLOORS:
            proc = self._spawn([PY, "-m", FLOORS[self.kind], str(self.port), str(self.rate)])
        else:
            raise ValueError(self.kind)
        wait_port(self.port, proc)

    def stop(self) -> None:
        """Stop every process of the server, then remove its copy of the database."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self.database is not None:
            for path in database_files(self.database):
                path.unlink(missing_ok=True)

    def engine_metrics(self) -> dict[str, float] | None:
        """The tick counters and lateness buckets of the web process's engine (one-process kinds only)."""
        if self.kind != "skirmish":
            return None  # elsewhere the engine is another process, or not ours
        req = urllib.request.Request(self.url + "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
        try:
            with urllib.request.urlopen(req, timeout=5) as reply:
                text = reply.read().decode()
        except OSError:
            return None
        wanted = ("skirmish_ticks_total", "skirmish_tick_overruns_total", "skirmish_tick_lateness_seconds_bucket")
        out: dict[str, float] = {}
        for line in text.splitlines():
            if line.startswith(wanted):
                name, value = line.rsplit(" ", 1)
                out[name] = float(value)
        return out

    def sample(self) -> tuple[float, float, int]:
        """(wall time, CPU seconds, RSS bytes) summed over the server's processes."""
        cpu, rss = 0.0, 0
        tick = os.sysconf("SC_CLK_TCK")
        for proc in self.procs:
            try:
                stat = Path(f"/proc/{proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
                cpu += (int(stat[11]) + int(stat[12])) / tick
                rss += int(stat[21]) * os.sysconf("SC_PAGE_SIZE")
            except (OSError, IndexError):
                pass
        return time.time(), cpu, rss


def install_colyseus(*, quiet: bool = False) -> None:
    """`npm ci` the Colyseus peer's pinned packages, unless they are there already."""
    peer = ROOT / "bench/peers/colyseus"
    if not (peer / "node_modules").exists():
        npm = ["npm", "ci", "--legacy-peer-deps", "--no-audit", "--no-fund"]
        subprocess.run(npm, cwd=peer, check=True, capture_output=quiet, timeout=300)


def loadgen_target(kind: str) -> str:
    """The load generator's --target for a server kind."""
    if kind.startswith("skirmish"):
        return "skirmish"
    return "websockets" if kind in FLOORS else kind  # (both floors take the same clients)


def database_files(db: Path) -> tuple[Path, Path, Path]:
    """A SQLite database's file and its WAL companions."""
    return db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")


def copy_database(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite database, WAL or not (SQLite's backup API)."""
    for stale in database_files(target):
        stale.unlink(missing_ok=True)
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def seed_template(clients: int) -> Path:
    """A migrated SQLite database with `clients` accounts; returns the token cache file."""
    DATA.mkdir(exist_ok=True)
    template = DATA / "template.sqlite3"
    tokens = DATA / "tokens-template.json"
    env = {**os.environ, "DEBUG": "1", "DATABASE_URL": f"sqlite:///{template}", "REDIS_URL": ""}
    have = 0
    if tokens.exists():
        have = len(next(iter(json.loads(tokens.read_text()).values()), {}))
    # Always: new migrations land while the template is kept between runs.
    subprocess.run([PY, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env, check=True, capture_output=True)
    if have < clients:
        subprocess.run(
            [PY, "-m", "bench.users", "--count", str(clients), "--prefix", PREFIX, "--url", "TEMPLATE"]
            + ["--out", str(tokens)],
            cwd=ROOT,
            env=env,
            check=True,
        )
    return tokens


def measure(kind: str, m: int, a: argparse.Namespace, tokens_template: Path | None) -> dict[str, Any]:
    """One point: start the server, run the load generator, read the server's cost."""
    log = DATA / f"{kind}.log"
    server = Server(kind, a.rate, log)
    out = DATA / f"{kind}-{a.rate}hz-{m}.json"
    cmd = ["taskset", "-c", "1", PY, "-m", "clients.loadtest", "--target", loadgen_target(kind)]
    cmd += ["--url", server.url, "--matches", str(m), "--players", str(a.players), "--rate", str(a.rate)]
    cmd += ["--spectators", str(a.spectators), "--duration", str(a.duration), "--warmup", str(a.warmup)]
    cmd += ["--ramp", str(a.ramp), "--procs", str(a.procs), "--out", str(out), "--quiet", "--prefix", PREFIX]
    if tokens_template is not None:
        cache = DATA / f"tokens-{server.port}.json"
        tokens = next(iter(json.loads(tokens_template.read_text()).values()))
        cache.write_text(json.dumps({server.url: tokens}))
        cmd += ["--tokens", str(cache)]
    server.start()
    samples: list[tuple[float, float, int]] = []
    scrapes: list[tuple[float, dict[str, float]]] = []
    try:
        gen = subprocess.Popen(cmd, cwd=ROOT)
        while gen.poll() is None:
            samples.append(server.sample())
            if len(samples) % 4 == 0 and (scraped := server.engine_metrics()) is not None:
                scrapes.append((time.time(), scraped))
            time.sleep(0.5)
        samples.append(server.sample())
    finally:
        server.stop()
        if tokens_template is not None:
            cache.unlink(missing_ok=True)
    run = json.loads(out.read_text()) if out.exists() else {}
    w0, w1 = run.get("window") or (samples[0][0], samples[-1][0])
    inside = [s for s in samples if w0 <= s[0] <= w1] or samples
    cpu = (inside[-1][1] - inside[0][1]) / max(1e-6, inside[-1][0] - inside[0][0]) if len(inside) > 1 else None
    lat = run.get("latency_ms", {})
    frames = run.get("frames_received", 0)
    point = {
        "server": kind,
        "matches": m,
        "clients": run.get("clients", 0),
        "cpu_percent": None if cpu is None else 100 * cpu,
        "rss_mb": max(s[2] for s in inside) / 2**20,
        "p50": lat.get("p50"),
        "p99": lat.get("p99"),
        "loss": run.get("loss"),
        "tick_rate": run.get("tick_rate"),
        "bytes_per_client_s": run.get("bytes_per_client_per_s"),
        "us_per_frame": (cpu * a.duration / frames * 1e6) if cpu and frames else None,
        "loadgen_cpu_percent": run.get("loadgen_cpu_percent"),
        "connect_failures": connect_failures(run, m * (a.players + a.spectators)),
        "spectators_supported": run.get("spectators_supported"),
        **jitter(scrapes, w0, w1),
    }
    return judge(point, a.rate)


def jitter(scrapes: list[tuple[float, dict[str, float]]], w0: float, w1: float) -> dict[str, Any]:
    """Tick-start lateness inside the window, from the first and last scrape in it.

    `jitter_p99_ms` is the upper bound of the histogram bucket holding the 99th percentile;
    `late_share` the share of tick starts more than 2 ms late; `overruns` the tick slots skipped.
    """
    inside = [m for t, m in scrapes if w0 <= t <= w1]
    if len(inside) < 2:
        return {"jitter_p99_ms": None, "late_share": None, "overruns": None}
    first, last = inside[0], inside[-1]
    prefix = "skirmish_tick_lateness_seconds_bucket{le="
    buckets = sorted(
        (float(name[len(prefix) :].strip('}"')), last[name] - first.get(name, 0.0))
        for name in last
        if name.startswith(prefix)
    )
    total = buckets[-1][1] if buckets else 0.0
    if not total:
        return {"jitter_p99_ms": None, "late_share": None, "overruns": None}
    p99 = next(le for le, n in buckets if n >= 0.99 * total)
    on_time = next(n for le, n in buckets if le >= JITTER_OK)
    overruns = last.get("skirmish_tick_overruns_total", 0.0) - first.get("skirmish_tick_overruns_total", 0.0)
    return {"jitter_p99_ms": 1000 * p99, "late_share": 1 - on_time / total, "overruns": int(overruns)}


def connect_failures(run: dict[str, Any], expected: int) -> int:
    """Clients that failed to connect or to be seated: the load generator's count, or the clients
    missing from the run when that is more (a crashed load-generator process takes its share)."""
    return max(len(run.get("connect_failures", [])), expected - run.get("clients", 0))


def judge(point: dict[str, Any], rate: int) -> dict[str, Any]:
    """Mark a point ok (p99, loss, connects) and on time (ticks/s ≥ 95 % of the rate); a point of
    several runs (`combine`) only when every one of its runs was."""
    runs = point.get("runs", 1)
    point["ok"] = (
        point["p99"] is not None
        and point["p99"] < P99_LIMIT
        and point["loss"] is not None
        and point["loss"] < LOSS_LIMIT
        and point["connect_failures"] == 0
        and point.get("ok_runs", runs) == runs
    )
    point["on_time"] = (point["tick_rate"] or 0) >= TICK_RATE_FLOOR * rate and point.get("on_time_runs", runs) == runs
    return point


#: Figures a point of several runs gives as the runs' median.
MEDIAN_FIELDS = (
    "clients", "cpu_percent", "rss_mb", "p50", "p99", "loss", "tick_rate", "bytes_per_client_s", "us_per_frame",
    "loadgen_cpu_percent", "jitter_p99_ms", "late_share", "overruns",
)  # fmt: skip


#: Of those, the ones whose median is one of the runs' values (counts, bucket bounds): never averaged.
DISCRETE_FIELDS = frozenset(("clients", "jitter_p99_ms", "overruns"))


def combine(runs: list[dict[str, Any]], rate: int) -> dict[str, Any]:
    """One point from several runs of the same server and M (`--repeat`): each figure the runs'
    median, failed setups the most of any run, the CPU's range kept, and ok / on time only when
    every run was."""
    if len(runs) == 1:
        return runs[0]
    point = dict(runs[0])
    for field in MEDIAN_FIELDS:
        values = [run[field] for run in runs if run.get(field) is not None]
        median = statistics.median_high if field in DISCRETE_FIELDS else statistics.median
        point[field] = median(values) if values else None
    cpus = [run["cpu_percent"] for run in runs if run.get("cpu_percent") is not None]
    point["cpu_range"] = [min(cpus), max(cpus)] if cpus else None
    point["connect_failures"] = max(run["connect_failures"] for run in runs)
    point["runs"] = len(runs)
    point["ok_runs"] = sum(1 for run in runs if run["ok"])
    point["on_time_runs"] = sum(1 for run in runs if run["on_time"])
    return judge(point, rate)


def fmt(v: Any, pattern: str = "{:.1f}") -> str:
    """A table cell."""
    return "–" if v is None else pattern.format(v)


def table(points: list[dict[str, Any]]) -> str:
    """The markdown table of all points."""
    head = (
        "| server | M | clients | server CPU | µs/frame | RSS MB | p50 ms | p99 ms | loss | ticks/s | jitter p99 ms "
        "| late > 2 ms | overruns | bytes/client/s | loadgen CPU | failed setups | ok |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
    )
    rows = [
        f"| {p['server']} | {p['matches']} | {p['clients']} | {cpu_cell(p)} "
        f"| {fmt(p['us_per_frame'], '{:.0f}')} | {fmt(p['rss_mb'], '{:.0f}')} | {fmt(p['p50'])} | {fmt(p['p99'])} "
        f"| {fmt(None if p['loss'] is None else 100 * p['loss'], '{:.2f} %')} | {fmt(p['tick_rate'])} "
        f"| {fmt(p.get('jitter_p99_ms'), '≤ {:g}')} "
        f"| {fmt(None if p.get('late_share') is None else 100 * p['late_share'], '{:.1f} %')} "
        f"| {fmt(p.get('overruns'), '{}')} "
        f"| {fmt(p['bytes_per_client_s'], '{:.0f}')} | {fmt(p['loadgen_cpu_percent'], '{:.0f} %')} "
        f"| {fmt(p.get('connect_failures'), '{}')} "
        f"| {'yes' if p['ok'] else 'no'}{'' if p.get('on_time', True) else ' (late ticks)'}{runs_note(p)} |"
        for p in points
    ]
    return head + "\n".join(rows) + "\n"


def cpu_cell(point: dict[str, Any]) -> str:
    """Server CPU; for a point of several runs, their median and (range)."""
    cell = fmt(point["cpu_percent"], "{:.0f} %")
    spread = point.get("cpu_range")
    return cell if not spread else f"{cell} ({spread[0]:.0f}–{spread[1]:.0f})"


def runs_note(point: dict[str, Any]) -> str:
    """For a point of several runs: how many there were and, when they disagree, how many passed."""
    runs = point.get("runs", 1)
    if runs == 1:
        return ""
    mixed = [
        f"{point[key]} of {runs} {label}"
        for key, label in (("ok_runs", "ok"), ("on_time_runs", "on time"))
        if 0 < point[key] < runs
    ]
    return f" [{runs} runs{': ' + ', '.join(mixed) if mixed else ''}]"


def capacity(points: list[dict[str, Any]], kind: str, on_time: bool = False) -> int:
    """Largest M of a server up to which every measured point passed (0 if its first failed); a
    passing point above a failed one does not count. `on_time`: their ticks also kept the rate."""
    return largest_passing(points, kind, lambda p: p["ok"] and (p.get("on_time", True) or not on_time))


def largest_passing(points: list[dict[str, Any]], kind: str, passes: Callable[[dict[str, Any]], bool]) -> int:
    """The M of a server's last point, in rising M, before the first that does not pass (0: none)."""
    best = 0
    for point in sorted((p for p in points if p["server"] == kind), key=lambda p: p["matches"]):
        if not passes(point):
            break
        best = point["matches"]
    return best


def write_section(text: str) -> None:
    """Replace the '## Load' section of docs/benchmarks.md (or append it), keeping its '### Notes'."""
    DOCS.parent.mkdir(exist_ok=True)
    body = DOCS.read_text() if DOCS.exists() else ""
    start = body.find("\n## Load\n") + 1 if "\n## Load\n" in body else (0 if body.startswith("## Load\n") else -1)
    if start == -1:
        body = (body.rstrip("\n") + "\n\n" if body else "") + text
    else:
        nxt = body.find("\n## ", start + 1)
        old = body[start : nxt + 1 if nxt != -1 else len(body)]
        notes = old[old.find("\n### Notes\n") + 1 :] if "\n### Notes\n" in old else ""
        body = body[:start] + text + ("\n" + notes if notes else "") + (body[nxt + 1 :] if nxt != -1 else "")
    DOCS.write_text(body)


def main(argv: list[str] | None = None) -> int:
    """Run the sweep; print and save the table."""
    ap = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.splitlines()[0])
    servers_help = "comma list: skirmish, skirmish-redis, skirmish-redis-pubsub, colyseus, websockets, asyncio"
    ap.add_argument("--servers", default="skirmish,colyseus,websockets", help=servers_help)
    ap.add_argument("--matches", default="10,25,50,100,150,200,300,400", help="M values to sweep")
    ap.add_argument("--players", type=int, default=4)
    ap.add_argument("--spectators", type=int, default=2)
    ap.add_argument("--rate", type=int, default=20)
    ap.add_argument("--duration", type=float, default=20.0)
    ap.add_argument("--warmup", type=float, default=5.0)
    ap.add_argument("--ramp", type=float, default=100.0)
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument(
        "--repeat", type=int, default=1, help="runs per server and M (medians; ok only if every run was ok)"
    )
    ap.add_argument("--keep-going", action="store_true", help="do not stop a server's sweep after 2 failures in a row")
    ap.add_argument("--no-docs", action="store_true", help="do not write docs/benchmarks.md")
    ap.add_argument("--out", default=str(DATA / "sweep.json"))
    ap.add_argument("--merge", action="append", default=[], help="also tabulate the points of an earlier --out file")
    a = ap.parse_args(argv)
    if a.repeat < 1:
        ap.error("--repeat must be 1 or more")
    servers = a.servers.split(",")
    ms = [int(x) for x in a.matches.split(",") if x]  # none: only tabulate the --merge files
    DATA.mkdir(exist_ok=True)
    if "colyseus" in servers:
        install_colyseus()
    tokens = None
    if ms and any(s.startswith("skirmish") for s in servers):
        tokens = seed_template(max(ms) * (a.players + a.spectators))
    load = os.getloadavg()
    points: list[dict[str, Any]] = []
    for earlier in a.merge:
        points.extend(judge(p, a.rate) for p in json.loads(Path(earlier).read_text())["points"])
    # Each M runs every server in turn, so the VM's drift over a sweep (tens of percent within an
    # hour, measured) falls on the servers alike instead of on whichever ran last.
    kinds = [s for s in servers if s]
    failed = dict.fromkeys(kinds, 0)
    for m in ms:
        going = [kind for kind in kinds if failed[kind] < 2 or a.keep_going]  # (2 failures in a row: done)
        runs: dict[str, list[dict[str, Any]]] = {kind: [] for kind in going}
        for _ in range(a.repeat):  # (the repeats of an M in turn too)
            for kind in going:
                run = measure(kind, m, a, tokens if kind.startswith("skirmish") else None)
                runs[kind].append(run)
                print(table([run]).splitlines()[-1], flush=True)
        for kind in going:
            point = combine(runs[kind], a.rate)
            points.append(point)
            if a.repeat > 1:
                print(table([point]).splitlines()[-1], flush=True)
            failed[kind] = 0 if point["ok"] else failed[kind] + 1
    latest = {(p["server"], p["matches"]): p for p in points}  # a point measured again replaces the earlier one
    order = list(dict.fromkeys(p["server"] for p in points))
    points = sorted(latest.values(), key=lambda p: (order.index(p["server"]), p["matches"]))
    Path(a.out).write_text(json.dumps({"points": points, "loadavg_before": load}, indent=2))
    text = report(points, a, load, os.getloadavg())
    print(text)
    if not a.no_docs:
        write_section(text)
    return 0


def report(points: list[dict[str, Any]], a: argparse.Namespace, before: Any, after: Any) -> str:
    """The '## Load' section."""
    kinds = list(dict.fromkeys(p["server"] for p in points))
    caps = {k: capacity(points, k) for k in kinds}
    caps_on_time = {k: capacity(points, k, on_time=True) for k in kinds}
    lines = [
        "## Load",
        "",
        f"Arena, {a.players} players + {a.spectators} spectators per match, {a.rate} Hz, every player sends an input "
        f"every tick; {a.warmup:g} s warm-up then {a.duration:g} s measured. Server pinned to core 0, load generator "
        f"(`python -m clients.loadtest`, {a.procs} processes) to core 1, loopback, 2-vCPU VM. Load average "
        f"before/after: {before[0]:.2f} / {after[0]:.2f} (of this invocation). Written by `python -m bench.run` "
        f"(`--servers {a.servers} --matches {a.matches} --rate {a.rate}`"
        + (f" `--repeat {a.repeat}`" if a.repeat > 1 else "")
        + "".join(f" `--merge {Path(m).name}`" for m in a.merge)
        + "; each M runs every server in turn; a merged sweep's rows come first, a point measured again replaces "
        "the earlier one)."
        + (
            " A point marked [N runs] is the median of N runs of that server and M (server CPU: median and "
            "range), ok or on time only if every run was."
            if any(p.get("runs", 1) > 1 for p in points)
            else ""
        ),
        "",
        "Latency = client receive time − the server's tick time `t` (same clock). Loss = frames the server stamped "
        "in the window that a client did not get. bytes/client/s = websocket frames received (payload + frame "
        "header, no TCP/IP). µs/frame = server CPU time / frames delivered. ticks/s = ticks the server stamped "
        "per second (mean of matches). failed setups = matches whose clients "
        "could not all connect and be seated within 60 s of the match's first connect (the load generator "
        "seats the matches in turn, at `--ramp` connects a second), or clients missing from its report. "
        "ok = p99 < 50 ms, loss < 1 %, no failed setups; late ticks = ticks/s < 95 % "
        "of the rate (the server fell behind its clock: fewer frames, none counted as lost). Jitter p99 = how late "
        "tick starts were against their fixed schedule (upper bound of the `skirmish_tick_lateness_seconds` bucket "
        "holding the 99th percentile), late > 2 ms = share of tick starts later than that, overruns = tick slots "
        "skipped; scraped from the server's /metrics, so one-process Skirmish only.",
        "",
        table(points),
        "Capacity (largest M up to which every point passed): " + ", ".join(f"{k} {v}" for k, v in caps.items()) + ".",
        "Capacity counting only points whose ticks also kept ≥ 95 % of the rate: "
        + ", ".join(f"{k} {v}" for k, v in caps_on_time.items())
        + ".",
    ]

    def scheduled(p: dict[str, Any]) -> bool:
        return p["ok"] and p.get("jitter_p99_ms") is not None and p["jitter_p99_ms"] <= 5 and p.get("overruns") == 0

    measured = list(dict.fromkeys(p["server"] for p in points if p.get("jitter_p99_ms") is not None))
    if measured:
        best = {k: largest_passing(points, k, scheduled) for k in measured}
        lines.append(
            "Capacity with tick starts on schedule (also jitter p99 ≤ 5 ms and no overruns; measured for one-process "
            "Skirmish only): " + ", ".join(f"{k} {v}" for k, v in best.items()) + "."
        )
    for label, cap in (("", caps), ("on-time ", caps_on_time)):
        sk, cy = cap.get("skirmish"), cap.get("colyseus")
        if sk is not None and cy:
            lines.append(f"Capacity ratio skirmish / colyseus ({label}capacity): {sk / cy:.2f}.")

    def bps(kind: str) -> float | None:
        ok = [p for p in points if p["server"] == kind and p["bytes_per_client_s"] and p.get("on_time", True)]
        vals = [p["bytes_per_client_s"] for p in ok]
        return sum(vals) / len(vals) if vals else None

    if bps("skirmish") and bps("colyseus"):
        ratio = bps("skirmish") / bps("colyseus")  # type: ignore[operator]
        lines.append(f"Bytes/client/s ratio skirmish / colyseus (mean of on-time points): {ratio:.2f}.")
    if any(p["spectators_supported"] is False for p in points):
        lines.append("Skirmish rows: spectators were not supported by the server yet, so only players connected.")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
