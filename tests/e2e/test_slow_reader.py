"""A client that reads at a tenth of the stream's speed (a slow link): what it reads stays a few
frames old instead of falling further behind, it is not cut off, the server's memory stays flat,
and the other player's frames are neither delayed nor skipped."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from websockets.protocol import State

from clients.loadtest.runner import percentile
from tests.e2e.firehose import METRICS_TOKEN, RATE, firehose_match, metric, rss_bytes
from tests.e2e.server import DaphneServer
from tests.e2e.server import test_database_url as database_url

pytestmark = pytest.mark.e2e


def age(msg: dict[str, Any]) -> float:
    """How long ago (ms) the server stamped this frame."""
    return time.time() * 1000 - msg["t"]


@pytest.mark.parametrize("fanout", ["direct", "layer"])  # (frames straight to the socket, or through the consumer)
async def test_a_tenth_speed_reader_reads_fresh_frames_and_holds_nobody_up(transactional_db, tmp_path, fanout):
    server = DaphneServer(
        database_url=database_url(),
        log_path=tmp_path / "daphne.log",
        env={"EXTRA_GAMES": "tests.support.games:Firehose", "METRICS_TOKEN": METRICS_TOKEN, "FANOUT": fanout},
    )
    server.start()
    try:
        fast, slow = await firehose_match(server)

        async def read_fast(seconds: float) -> tuple[list[float], int]:
            ages, gaps, end = [], 0, time.monotonic() + seconds
            while time.monotonic() < end:
                last = fast.tick
                msg = await fast.expect(lambda m: m["type"] in ("delta", "snapshot"))
                gaps += msg["type"] == "delta" and msg["base"] != last
                ages.append(age(msg))
            return ages, gaps

        async def read_slowly(seconds: float, per_second: float) -> list[tuple[float, float]]:
            read, start = [], time.monotonic()
            while (now := time.monotonic()) - start < seconds:
                msg = await slow.expect(lambda m: m["type"] in ("delta", "snapshot"))
                read.append((now - start, age(msg)))
                await asyncio.sleep(max(0.0, start + len(read) / per_second - time.monotonic()))
            return read

        async def count_behind(seconds: float) -> list[float]:
            counts, end = [], time.monotonic() + seconds
            while time.monotonic() < end:
                counts.append(await asyncio.to_thread(metric, server, "skirmish_sockets_behind"))
                await asyncio.sleep(0.5)
            return counts

        (fast_before, _), _ = await asyncio.gather(read_fast(3), read_slowly(3, RATE))  # both keep up
        baseline, dropped_before = rss_bytes(server.proc.pid), metric(server, "skirmish_deltas_dropped_total")
        (fast_during, gaps), read, behind = await asyncio.gather(
            read_fast(8), read_slowly(8, RATE / 10), count_behind(7)
        )
        grown = rss_bytes(server.proc.pid) - baseline
        dropped = metric(server, "skirmish_deltas_dropped_total") - dropped_before
        late = [ms for t, ms in read if t >= 4]
        p99_before, p99_during = percentile(fast_before, 99), percentile(fast_during, 99)
        assert p99_before is not None and p99_during is not None  # (the fast client got frames)
        print(
            f"fast p99 {p99_before:.1f} -> {p99_during:.1f} ms, {gaps} gaps; server RSS +"
            f"{grown / 2**20:.1f} MiB; the slow reader got {len(read)} frames, from 4 s on "
            f"{min(late):.0f}-{max(late):.0f} ms old; {dropped:.0f} deltas dropped; sockets behind {behind}"
        )

        # Without a bound on the kernel's queue it read every frame in order: 3.6 s old at 4 s, 7.2 s at 8 s;
        # with 128 KiB there and deltas dropped past 256 KiB in Twisted, 1.5-1.8 s; now 0.3-0.5 s.
        assert max(late) < 1000, f"the slow reader fell behind: frames {max(late):.0f} ms old"
        assert len(read) >= 40 and slow.ws.state is State.OPEN  # it kept reading, and was not cut off
        assert dropped > 8 * RATE / 2  # it missed most frames: the newest state, not every one
        assert max(behind) >= 1  # /metrics showed it behind (skirmish_sockets_behind)
        assert grown < 5 * 2**20, f"server memory grew by {grown / 2**20:.1f} MiB"
        assert gaps == 0, "the fast client missed ticks"
        assert p99_during < p99_before + 25, "the fast client's frames came later"
        await fast.close()
        await slow.close()
    finally:
        server.stop()
    assert "Traceback" not in server.logs()
