"""The Colyseus peer (bench/peers/colyseus) plays the same arena: its discs move at every tick rate.

Needs Node and npm (the peer's pinned packages come from the npm registry, as `bench.run` gets them).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.run import Server, install_colyseus
from clients.loadtest.runner import Config, run

pytestmark = pytest.mark.skipif(not (shutil.which("node") and shutil.which("npm")), reason="needs Node and npm")


@pytest.fixture(scope="module")
def installed() -> None:
    install_colyseus(quiet=True)


@pytest.fixture(params=[20, 60])
def peer(installed: None, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, int]]:
    server = Server("colyseus", request.param, tmp_path / "colyseus.log")
    server.start()
    try:
        yield server.url, request.param
    finally:
        server.stop()


def test_the_discs_move_every_tick_so_each_patch_carries_them(peer: tuple[str, int], tmp_path: Path) -> None:
    url, rate = peer
    cfg = Config(
        target="colyseus",
        url=url,
        matches=2,
        players=4,
        spectators=2,
        rate=rate,
        duration=2.0,
        warmup=1.0,
        ramp=200,
        procs=1,
        sample=0.5,
        tokens=None,
        prefix="t",
        setup_timeout=10,
    )
    summary = run(cfg, str(tmp_path / "run.json"), quiet=True)
    assert summary["clients_measured"] == 12 and summary["loss"] < 0.01
    assert summary["tick_rate"] > 0.9 * rate
    # A patch holds the tick, its time `t` (~15 bytes with the frame) and every changed field of
    # the four discs. Moving discs change two to four fields each a tick (~75 bytes a patch at both
    # rates); discs that stand still leave ~18 bytes, what the peer sent at 60 Hz before it
    # advanced its world by a fixed 1/RATE a tick.
    per_patch = summary["bytes_per_client_per_s"] / summary["tick_rate"]
    assert per_patch > 45, per_patch
