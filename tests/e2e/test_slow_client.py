"""A client that stops reading: the server drops its deltas, closes it, and stays flat in memory."""

from __future__ import annotations

import asyncio
import time

import pytest
from websockets.exceptions import ConnectionClosed

from tests.e2e.firehose import METRICS_TOKEN, firehose_match, metric, rss_bytes
from tests.e2e.server import DaphneServer
from tests.e2e.server import test_database_url as database_url

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("fanout", ["direct", "layer"])  # (frames straight to the socket, or through the consumer)
async def test_slow_client_is_cut_off_and_memory_stays_flat(transactional_db, tmp_path, fanout):
    server = DaphneServer(
        database_url=database_url(),
        log_path=tmp_path / "daphne.log",
        env={
            "EXTRA_GAMES": "tests.support.games:Firehose",
            "SLOW_CLIENT_SECONDS": "2",
            "METRICS_TOKEN": METRICS_TOKEN,
            "FANOUT": fanout,
        },
    )
    server.start()
    try:
        fast, slow = await firehose_match(server)
        # From here the slow client reads nothing at all.
        for _ in range(30):
            await fast.expect_type("delta")
        baseline = rss_bytes(server.proc.pid)

        start, last_tick, gaps, deltas = time.monotonic(), fast.tick, 0, 0
        while time.monotonic() - start < 10:
            msg = await fast.expect(lambda m: m["type"] in ("delta", "snapshot"))
            if msg["type"] == "delta":
                deltas += 1
                gaps += msg["base"] != last_tick
            last_tick = msg["tick"]
        grown = rss_bytes(server.proc.pid) - baseline
        print(f"server RSS grew {grown / 2**20:.1f} MiB; {deltas} deltas, {gaps} gaps")

        assert gaps == 0, "the fast client missed ticks"
        assert deltas > 450  # ~60 Hz for 10 s, on a busy 2-core machine
        assert grown < 5 * 2**20, f"server memory grew by {grown / 2**20:.1f} MiB"
        assert "closing a socket that stayed" in server.logs()
        with pytest.raises(ConnectionClosed):
            while True:  # what was buffered, then the end of the connection
                await asyncio.wait_for(slow.ws.recv(), 10)
        assert metric(server, 'skirmish_closes_total{code="4009"}') == 1
        assert metric(server, "skirmish_deltas_dropped_total") > 0
        await fast.close()
    finally:
        server.stop()
    assert "Traceback" not in server.logs()
