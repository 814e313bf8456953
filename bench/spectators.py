"""500 spectators on one match: server CPU, per-frame cost and delivery latency.

Starts a daphne (one-machine mode: engine in process, in-memory channel layer) on a fresh SQLite
database, two players in an arena match that steer at random, and N spectator sockets spread over
several OS processes. Over a steady window it reads the server's CPU time from /proc and, per
spectator frame, the latency from the server's stamp (`t`, wall clock at encoding) to arrival.

Usage: python -m bench.spectators [--spectators 500] [--procs 3] [--seconds 15]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import msgpack
from websockets.asyncio.client import ClientConnection, connect

from game_server import protocol as p

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
SUBPROTOCOL = "skirmish.v1.msgpack"


def free_port() -> int:
    """A TCP port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process."""
    stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")


async def open_socket(port: int, token: str) -> ClientConnection:
    """A signed-in msgpack socket, past its welcome frame."""
    ws = await connect(
        f"ws://127.0.0.1:{port}/ws/",
        subprotocols=[SUBPROTOCOL],  # type: ignore[list-item]
        additional_headers={"Authorization": f"Bearer {token}"},
        origin=f"http://127.0.0.1:{port}",  # type: ignore[arg-type]
        max_size=2**20,
        ping_interval=None,
    )
    await ws.recv()
    return ws


async def request(ws: ClientConnection, message: dict[str, Any], rid: int) -> dict[str, Any]:
    """Send a request and read until its reply."""
    await ws.send(msgpack.packb({"rid": rid, **message}))
    while True:
        msg = msgpack.unpackb(await ws.recv(), strict_map_key=False)
        if isinstance(msg, dict) and msg.get("rid") == rid and msg["type"] in ("ok", "error"):
            if msg["type"] == "error":
                raise RuntimeError(f"{message['type']}: {msg}")
            return msg


# ---- spectator processes -------------------------------------------------------------------------


async def _watch(ws: ClientConnection, match_id: str, window: tuple[float, float], out: list[float]) -> int:
    await ws.send(msgpack.packb({"rid": 1, "type": "match.spectate", "match_id": match_id}))
    frames = 0
    reader = p.FrameReader()
    while True:
        raw = await ws.recv()
        now = time.time()
        msg = reader.read(raw)
        if msg is None:
            continue
        if msg["type"] == "delta":
            frames += 1
            if window[0] <= now <= window[1]:
                out.append(now * 1000 - msg["t"])
        elif msg["type"] == "match.ended" or now > window[1]:
            return frames


async def _spectators(port: int, tokens: list[str], match_id: str, window: tuple[float, float]) -> dict[str, Any]:
    sockets = [await open_socket(port, token) for token in tokens]
    latencies: list[float] = []
    frames = await asyncio.gather(*(_watch(ws, match_id, window, latencies) for ws in sockets))
    for ws in sockets:
        ws.transport.abort()
    return {"latencies": latencies, "frames": sum(frames)}


def spectator_process(port: int, tokens: list[str], match_id: str, window: tuple[float, float], q: Any) -> None:
    """One OS process of spectators: connect, spectate, time every delta inside the window."""
    q.put(asyncio.run(_spectators(port, tokens, match_id, window)))


# ---- players -------------------------------------------------------------------------------------


async def _player(ws: ClientConnection, stop: float) -> None:
    seq, rng = 0, random.Random(len(str(ws.id)))

    async def drain() -> None:
        while True:
            await ws.recv()

    reader = asyncio.get_running_loop().create_task(drain())
    while time.time() < stop:
        seq += 1
        await ws.send(msgpack.packb({"type": "match.input", "seq": seq, "data": {"dx": rng.randint(-1, 1), "dy": 1}}))
        await asyncio.sleep(0.25)
    reader.cancel()


async def run(a: argparse.Namespace, port: int, tokens: list[str], pid: int) -> dict[str, Any]:
    """Start the match, the spectators, and measure."""
    host, guest = await open_socket(port, tokens[0]), await open_socket(port, tokens[1])
    options = {"time_seconds": int(a.seconds + 60), "score_limit": 0}
    created = await request(host, {"type": "lobby.create", "name": "bench", "game": "arena", "options": options}, 1)
    await request(guest, {"type": "lobby.join", "code": created["data"]["code"]}, 1)
    await request(host, {"type": "lobby.ready", "ready": True}, 2)
    await request(guest, {"type": "lobby.ready", "ready": True}, 2)
    match_id = (await request(host, {"type": "lobby.start"}, 3))["data"]["match_id"]
    players_until = time.time() + a.seconds + 60
    players = [asyncio.get_running_loop().create_task(_player(ws, players_until)) for ws in (host, guest)]

    spectators = tokens[2:]
    settle = 5.0 + len(spectators) / 100  # connect and spectate everybody first
    start = time.time() + settle
    window = (start, start + a.seconds)
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    chunks = [spectators[i :: a.procs] for i in range(a.procs)]
    procs = [ctx.Process(target=spectator_process, args=(port, c, match_id, window, q)) for c in chunks]
    for proc in procs:
        proc.start()
    await asyncio.sleep(max(0.0, start - time.time()))
    cpu0, t0 = cpu_seconds(pid), time.time()
    await asyncio.sleep(max(0.0, window[1] - time.time()))
    cpu1, t1 = cpu_seconds(pid), time.time()
    results = [await asyncio.to_thread(q.get, True, 120) for _ in procs]
    for proc in procs:
        proc.join(30)
    for task in players:
        task.cancel()
    latencies = sorted(x for r in results for x in r["latencies"])
    wall, cpu = t1 - t0, cpu1 - cpu0
    ticks = wall * 20
    return {
        "spectators": len(spectators),
        "procs": a.procs,
        "seconds": round(wall, 1),
        "server_cpu_percent": round(100 * cpu / wall, 1),
        "cpu_ms_per_tick": round(1000 * cpu / ticks, 2),
        "cpu_us_per_delivered_frame": round(1e6 * cpu / (ticks * (len(spectators) + 2)), 1),
        "frames_measured": len(latencies),
        "frames_expected": int(ticks * len(spectators)),
        "latency_p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "latency_p99_ms": round(latencies[int(0.99 * (len(latencies) - 1))], 1) if latencies else None,
        "latency_max_ms": round(latencies[-1], 1) if latencies else None,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its figures as JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spectators", type=int, default=500)
    ap.add_argument("--procs", type=int, default=3, help="OS processes for the spectator sockets")
    ap.add_argument("--seconds", type=float, default=15.0, help="length of the measured window")
    a = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-spectators-"))
    db = work / "db.sqlite3"
    env = {**os.environ, "DEBUG": "1", "DATABASE_URL": f"sqlite:///{db}", "REDIS_URL": ""}
    subprocess.run([PY, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env, check=True, capture_output=True)
    cache = work / "tokens.json"
    count = a.spectators + 2
    subprocess.run(
        [PY, "-m", "bench.users", "--count", str(count), "--prefix", "sp", "--url", "X", "--out", str(cache)],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    tokens = list(json.loads(cache.read_text())["X"].values())
    port = free_port()
    server_env = {
        **env,
        "DEBUG": "0",
        "SECRET_KEY": "bench-not-secret-" + "x" * 40,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "MAX_SOCKETS_PER_IP": "100000",
        "LOG_LEVEL": "WARNING",
    }
    daphne = str(Path(PY).parent / "daphne")
    log = open(work / "daphne.log", "wb")
    args = ["--websocket-max-message-size", "65536", "--websocket-max-frame-size", "65536"]
    server = subprocess.Popen(
        [daphne, "-b", "127.0.0.1", "-p", str(port), *args, "game_server.asgi:application"],
        cwd=ROOT,
        env=server_env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.time() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline or server.poll() is not None:
                    raise RuntimeError(f"daphne did not start; see {work / 'daphne.log'}") from None
                time.sleep(0.2)
        result = asyncio.run(run(a, port, tokens, server.pid))
        result["cores"] = os.cpu_count()
        print(json.dumps(result, indent=2))
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
