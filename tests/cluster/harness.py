"""The compose.yaml topology as local processes: daphne web processes and runengine workers on Redis."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from asgiref.sync import sync_to_async

from tests.e2e.server import ROOT, DaphneServer, free_port, terminate
from tests.e2e.wsclient import WsClient

#: Short intervals so failover happens within the test's patience.
CLUSTER_ENV = {
    "ENGINE_MODE": "external",
    "ENGINE_LEASE_MS": "1000",
    "CHECKPOINT_INTERVAL_MS": "200",
    "ENGINE_SCAN_MS": "200",
    "GRACE_SECONDS": "20",
}


class RedisServer:
    """A private redis-server on a free port without persistence (for restart tests)."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        cmd = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.proc = subprocess.Popen(cmd, cwd=self.workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            probe = subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True)
            if probe.stdout.strip() == "PONG":
                return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not come up")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class EngineProcess:
    """`manage.py runengine` as a subprocess."""

    #: The command of compose.yaml's engine services (after `python`).
    COMMAND = ("manage.py", "runengine")

    def __init__(self, name: str, env: dict[str, str], log_path: Path) -> None:
        self.name = name
        self.env = env
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {**os.environ, "DJANGO_SETTINGS_MODULE": "settings", "DEBUG": "1", **self.env}
        cmd = [sys.executable, *self.COMMAND, "--worker-id", self.name]
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while "ready" not in self.logs():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"runengine did not come up: {self.logs()}")
            time.sleep(0.05)

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def stop(self) -> None:
        terminate(self.proc)
        if hasattr(self, "log"):
            self.log.close()

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@dataclass
class Cluster:
    """N web processes and M engine workers sharing one Redis prefix and the test database."""

    webs: list[DaphneServer]
    engines: list[EngineProcess]
    env: dict[str, str]

    def owner_of(self, match_id: str) -> EngineProcess:
        """The worker that started or took over the match most recently (by log timestamp)."""
        found = [
            (line[:23], engine)
            for engine in self.engines
            for line in engine.logs().splitlines()
            if match_id in line and ("started" in line or "taken over" in line)
        ]
        assert found, "no worker started the match"
        return max(found, key=lambda item: item[0])[1]

    def count(self, text: str) -> int:
        """Lines containing `text` in every worker's log."""
        return sum(engine.logs().count(text) for engine in self.engines)


#: Every socket the tests opened (closed after each test by the `close_sockets` fixture).
OPEN: list[WsClient] = []


async def connect(web: DaphneServer, token: str, codec: str = "msgpack") -> WsClient:
    client = await WsClient.open(web.ws, token=token, origin=web.http, codec=codec)
    OPEN.append(client)
    await client.expect_type("welcome")
    return client


async def start_match(alice: WsClient, bob: WsClient) -> tuple[str, int]:
    """Lobby, ready, start: returns (match id, the seat that moves first)."""
    created = await alice.request({"type": "lobby.create", "name": "c", "game": "connect_four", "private": True})
    assert created["type"] == "ok", created
    assert (await bob.request({"type": "lobby.join", "code": created["data"]["code"]}))["type"] == "ok"
    assert (await alice.request({"type": "lobby.ready", "ready": True}))["type"] == "ok"
    assert (await bob.request({"type": "lobby.ready", "ready": True}))["type"] == "ok"
    started = await alice.request({"type": "lobby.start"})
    assert started["type"] == "ok", started
    await alice.expect_type("match.started")
    await bob.expect_type("match.started")
    first = await alice.expect_type("snapshot", timeout=15)
    return started["data"]["match_id"], first["doc"]["game"]["turn"]


def discs(doc: dict[str, Any] | None) -> int:
    return sum(len(col) for col in doc["game"]["board"]) if doc else -1


class Bot:
    """Plays connect four through failovers: moves when it is its turn, re-sends when nothing moves,
    and asks for a resync when a delta does not follow its state (the protocol's rule for a gap)."""

    def __init__(self, client: WsClient, seat: int, winner: int) -> None:
        self.client = client
        self.seat = seat
        self.col = 0 if seat == winner else 6
        self.sent_at: dict[int, float] = {}
        self.ended: dict[str, Any] | None = None
        self.delta_ticks: list[int] = []
        self.snapshots: list[int] = []
        self.resynced_at = -10.0

    def moves(self) -> int:
        return discs(self.client.doc)

    async def step(self, timeout: float = 10) -> dict[str, Any]:
        """Read one frame and act on it."""
        msg = await self.client.recv(timeout)
        if msg["type"] == "delta":
            self.delta_ticks.append(msg["tick"])
            if self.client.tick != msg["tick"] and time.monotonic() - self.resynced_at > 1.0:
                self.resynced_at = time.monotonic()  # (a frame was lost: ask for the full state)
                await self.client.send({"type": "match.resync"})
        elif msg["type"] == "snapshot":
            self.snapshots.append(msg["tick"])
        elif msg["type"] == "match.ended":
            self.ended = msg
        await self.maybe_move()
        return msg

    async def maybe_move(self) -> None:
        doc = self.client.doc
        if doc is None or self.ended is not None:
            return
        game = doc["game"]
        if game["turn"] != self.seat or game["winner"] is not None or game["forfeit"] is not None:
            return
        n = self.moves()
        now = time.monotonic()
        if now - self.sent_at.get(n, -10.0) > 1.5:
            self.sent_at[n] = now
            await self.client.input({"col": self.col})

    async def play_until(self, pred: Any, timeout: float = 30) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not pred():
            await self.step(max(0.01, deadline - loop.time()))


def strictly_increasing(ticks: list[int]) -> bool:
    return all(a < b for a, b in zip(ticks, ticks[1:], strict=False))


async def db(fn: Any, *args: Any) -> Any:
    return await sync_to_async(fn)(*args)
