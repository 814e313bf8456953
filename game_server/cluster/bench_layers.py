"""Per-tick fan-out through the two channels-redis layers: `python -m game_server.cluster.bench_layers`.

One sender process plays the engine: every tick it group_sends one ~700-byte frame to each of
`--matches` groups. `--webs` receiver processes play the web processes: each holds an equal share
of every group's `--members` channels and counts what arrives and how late. Printed per layer:
group_send time at the sender, delivery latency, the share of frames delivered, the sender's CPU.
Needs a Redis (`--redis`, default redis://127.0.0.1:6379/0); keys go under a random prefix.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import statistics
import time
import uuid
from typing import Any


def make_layer(kind: str, redis_url: str, prefix: str) -> Any:
    """A channel layer of one kind, configured as settings/base.py does."""
    from channels_redis.core import RedisChannelLayer

    from game_server.redis_layer import RedisPubSubChannelLayer

    hosts = [{"address": redis_url, "max_connections": 2000}]
    if kind == "core":
        return RedisChannelLayer(hosts=hosts, prefix=prefix, capacity=1000, expiry=30)
    return RedisPubSubChannelLayer(hosts=hosts, prefix=prefix)


async def _receive(kind: str, args: dict[str, Any], index: int, ready: Any, out: Any) -> None:
    layer = make_layer(kind, args["redis"], args["prefix"])
    share = args["members"] // args["webs"]
    channels = [await layer.new_channel() for _ in range(args["matches"] * share)]
    for i, channel in enumerate(channels):
        await layer.group_add(f"m{i // share}", channel)
    latencies: list[float] = []
    stop = time.monotonic() + args["seconds"] + 6

    async def drain(channel: str) -> None:
        while time.monotonic() < stop:
            try:
                msg = await asyncio.wait_for(layer.receive(channel), 1)
            except TimeoutError:
                continue
            if msg.get("type") == "bench.end":
                return
            latencies.append(time.time() - msg["t"])

    ready.put(index)
    await asyncio.gather(*(drain(c) for c in channels))
    out.put(json.dumps({"received": len(latencies), "latencies": latencies[::10]}))
    if hasattr(layer, "flush"):
        await layer.flush()


def receiver(kind: str, args: dict[str, Any], index: int, ready: Any, out: Any) -> None:
    """One web process's share of the members."""
    asyncio.run(_receive(kind, args, index, ready, out))


async def _send(kind: str, args: dict[str, Any]) -> dict[str, Any]:
    layer = make_layer(kind, args["redis"], args["prefix"])
    payload = os.urandom(700)
    period = 1 / args["rate"]
    send_times: list[float] = []

    async def one(group: str) -> None:
        start = time.perf_counter()
        await layer.group_send(group, {"type": "match.frame", "t": time.time(), "frames": {"b": payload}})
        send_times.append(time.perf_counter() - start)

    cpu0, t0 = time.process_time(), time.monotonic()
    ticks = int(args["seconds"] * args["rate"])
    for tick in range(ticks):
        await asyncio.sleep(max(0.0, t0 + tick * period - time.monotonic()))
        # Matches tick as separate tasks in the engine, so their sends overlap.
        await asyncio.gather(*(one(f"m{m}") for m in range(args["matches"])))
    cpu = time.process_time() - cpu0
    wall = time.monotonic() - t0
    await asyncio.sleep(1.0)
    for m in range(args["matches"]):
        await layer.group_send(f"m{m}", {"type": "bench.end"})
    return {"sent": ticks * args["matches"], "send_times": send_times, "cpu": cpu, "wall": wall}


def pct(values: list[float], q: float) -> float:
    """The q-quantile of values, in ms."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def run(kind: str, args: dict[str, Any]) -> dict[str, Any]:
    """One benchmark run of one layer kind."""
    args = {**args, "prefix": f"bench-{uuid.uuid4().hex[:8]}"}
    ctx = mp.get_context("spawn")
    ready, out = ctx.Queue(), ctx.Queue()
    procs = [ctx.Process(target=receiver, args=(kind, args, i, ready, out)) for i in range(args["webs"])]
    for proc in procs:
        proc.start()
    for _ in procs:
        ready.get(timeout=60)
    time.sleep(0.5)
    sent = asyncio.run(_send(kind, args))
    results = [json.loads(out.get(timeout=60)) for _ in procs]
    for proc in procs:
        proc.join(10)
    received = sum(r["received"] for r in results)
    latencies = [x for r in results for x in r["latencies"]]
    expected = sent["sent"] * args["members"] // args["webs"] * args["webs"]
    return {
        "layer": kind,
        "frames/s out": round(expected / sent["wall"]),
        "group_send p50 ms": round(pct(sent["send_times"], 0.5), 3),
        "group_send p99 ms": round(pct(sent["send_times"], 0.99), 3),
        "delivery p50 ms": round(pct(latencies, 0.5), 2),
        "delivery p99 ms": round(pct(latencies, 0.99), 2),
        "delivered %": round(100 * received / expected, 2),
        "sender CPU %": round(100 * sent["cpu"] / sent["wall"], 1),
        "mean send ms": round(statistics.fmean(sent["send_times"]) * 1000, 3),
    }


def main() -> None:
    """Parse arguments, run each layer, print a table (and JSON with --json)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--matches", type=int, default=20)
    parser.add_argument("--members", type=int, default=10, help="sockets per match (split over --webs)")
    parser.add_argument("--webs", type=int, default=2)
    parser.add_argument("--rate", type=int, default=20, help="ticks per second")
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--layers", default="core,pubsub")
    parser.add_argument("--json", action="store_true")
    ns = parser.parse_args()
    args = {k: getattr(ns, k) for k in ("redis", "matches", "members", "webs", "rate", "seconds")}
    rows = [run(kind, args) for kind in ns.layers.split(",")]
    if ns.json:
        print(json.dumps(rows))
        return
    print(f"{ns.matches} matches x {ns.members} sockets on {ns.webs} web processes, {ns.rate} Hz, {ns.seconds}s")
    for row in rows:
        print("  " + ", ".join(f"{k}: {v}" for k, v in row.items()))


if __name__ == "__main__":
    main()
