"""Latency and loss simulation: frames are measurably delayed, in order; deltas are lost; refused without DEBUG."""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async

from game_server import netsim
from tests.e2e import server as e2e
from tests.e2e.test_match_e2e import make_user, sign_in
from tests.game_server.conftest import make_user as make_socket_user
from tests.game_server.conftest import session_cookie

ROOT = Path(__file__).resolve().parents[2]


def test_the_setting_is_parsed_and_bad_values_are_explained():
    assert netsim.parse("") is None
    assert netsim.parse("latency_ms=80,jitter_ms=20,loss=0.05") == netsim.NetSim(80, 20, 0.05)
    assert netsim.parse(" latency_ms=120 ") == netsim.NetSim(latency_ms=120)
    for bad, reason in [
        ("latency=80", "expected latency_ms=<number>"),
        ("latency_ms=fast", "latency_ms must be a number"),
        ("loss=1.5", "loss must be a share from 0 to 1"),
        ("latency_ms=-5", "from 0 to 10000"),
    ]:
        with pytest.raises(ValueError, match=reason):
            netsim.parse(bad)


def settings_load(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECRET_KEY", "NETSIM")}
    code = "import django; django.setup(); from django.conf import settings; print(settings.SKIRMISH_NETSIM)"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_it_is_refused_at_startup_when_debug_is_off():
    refused = settings_load(DEBUG="0", SECRET_KEY="a-production-key", NETSIM="latency_ms=80")
    assert refused.returncode != 0
    assert "ImproperlyConfigured: NETSIM simulates a bad network for development" in refused.stderr
    allowed = settings_load(DEBUG="1", NETSIM="latency_ms=80,loss=0.1")
    assert allowed.returncode == 0, allowed.stderr
    assert "NetSim(latency_ms=80.0, jitter_ms=0.0, loss=0.1)" in allowed.stdout
    assert settings_load(DEBUG="0", SECRET_KEY="a-production-key").returncode == 0  # off by default
    garbled = settings_load(DEBUG="1", NETSIM="lag=80")
    assert garbled.returncode != 0 and "ImproperlyConfigured: NETSIM: expected" in garbled.stderr


async def test_a_link_delays_in_order_and_loses_only_droppable_frames():
    sent: list[tuple[float, int]] = []
    loop = asyncio.get_running_loop()

    async def record(message: dict) -> None:
        sent.append((loop.time(), message["n"]))

    sim = netsim.NetSim(latency_ms=30, jitter_ms=25, loss=0.5)
    link = netsim.Link(sim, record, rng=random.Random(7))
    start = loop.time()
    kept = [n for n in range(400) if link.submit({"n": n}, droppable=n % 2 == 0)]
    assert all(n in kept for n in range(1, 400, 2))  # nothing but droppable frames is lost
    assert 60 <= link.dropped <= 140  # about half of the 200 droppable ones
    while link.task is not None and not link.task.done():
        await link.task
    assert [n for _, n in sent] == kept  # in order, as over TCP
    assert min(t for t, _ in sent) - start >= 0.005  # latency 30 ms - jitter 25 ms
    assert link.sent == len(kept)


async def test_over_a_consumer_every_frame_waits_for_the_latency(open_socket, settings):
    user = await make_socket_user("netsim")
    cookie = await session_cookie(user)
    settings.SKIRMISH_NETSIM = netsim.NetSim(latency_ms=150)
    sock, (ok, _) = await open_socket(cookie=cookie)
    assert ok
    started = time.monotonic()
    await sock.expect("welcome")
    await sock.send({"type": "ping", "rid": 1, "t": 1.0})
    await sock.expect("pong")
    assert time.monotonic() - started >= 0.3  # welcome, then pong: 150 ms each


@pytest.mark.e2e
async def test_over_real_daphne_the_round_trip_grows_by_the_simulated_latency(transactional_db, tmp_path):
    await sync_to_async(make_user)("alice")
    server = e2e.DaphneServer(
        database_url=e2e.test_database_url(),
        log_path=tmp_path / "daphne.log",
        env={"NETSIM": "latency_ms=120,jitter_ms=30"},
    )
    await asyncio.to_thread(server.start)
    try:
        client = await sign_in(server, "alice")
        round_trips = []
        for _ in range(8):
            started = time.monotonic()
            rid = await client.send({"type": "ping", "t": 1.0})
            await client.expect(lambda m, rid=rid: m["type"] == "pong" and m["rid"] == rid)
            round_trips.append(time.monotonic() - started)
        await client.close()
    finally:
        server.stop()
    assert min(round_trips) >= 0.09 and sorted(round_trips)[len(round_trips) // 2] >= 0.1, round_trips
    assert max(round_trips) < 1.0, round_trips
