"""ClusterWorker: an EngineWorker that ticks a match only while it holds the match's Redis lease.

Life of a match in the cluster:
1. `engine.start` reaches one worker: it takes the lease (epoch 1) together with a tick-0
   checkpoint and adds the match to the live set, then ticks it.
2. Every CHECKPOINT_INTERVAL_MS the owner renews the lease and stores a checkpoint in one fenced
   script, with the input-log entries logged since the previous one as a chunk (checkpoint.py;
   the lease counts what it stored). Locally the lease is trusted until `sent + 0.8 * TTL`; past
   that the host stops before the next tick (`LeasedHost.gate`) and the broadcaster sends nothing
   (`may_publish`).
3. Every ENGINE_SCAN_MS each worker lists live matches whose lease lapsed and tries to take them:
   SET NX + INCR epoch, load the checkpoint, fast-forward the ticks that passed in wall time (so
   tick numbers keep rising past anything clients saw), re-add the known sockets to the match's
   groups and send every audience a full snapshot.
4. The result is written only if the lease is still ours (checked right before the write; the
   write itself is a conditional UPDATE, so it happens at most once), then the lease is released.
5. SIGTERM: stop taking matches, stop ticking, store a final checkpoint, release each lease as a
   handover and tell the other workers on ENGINE_CHANNEL to adopt it at once.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import random
import socket
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from channels.layers import BaseChannelLayer
from django.conf import settings

from engine.host import MatchHost
from engine.match import Match, MatchEnded
from engine.ports import Clock
from game_server.clock import tick_clock
from game_server.cluster import checkpoint
from game_server.cluster.store import ClusterStore
from game_server.db import db_call
from game_server.engine_bridge import (
    ENGINE_CHANNEL,
    LAYER_ERRORS,
    ChannelLayerBroadcaster,
    EngineWorker,
    OrmResultSink,
    match_group,
    seat_group,
)
from lobby.models import Match as MatchRow

logger = logging.getLogger(__name__)

#: The part of the lease TTL a worker trusts locally (the rest covers clock rate and a slow send).
TRUST = 0.8


@dataclass(slots=True)
class Lease:
    """This worker's hold on one match: its fencing epoch and until when it may tick."""

    match_id: str
    epoch: int
    token: str
    deadline: float  # time.monotonic() after which the lease is not trusted
    keeper: asyncio.Task[None] | None = field(default=None)
    log_stored: int = 0  # entries of the match's log stored in Redis, in `log_chunks` chunks
    log_chunks: int = 0

    def valid(self) -> bool:
        """Whether this worker may still tick and broadcast the match."""
        return time.monotonic() < self.deadline


class LeasedHost(MatchHost):
    """A MatchHost whose ticks wait while the match's lease is not (yet, again) trusted."""

    def __init__(
        self, broadcaster: ChannelLayerBroadcaster, results: OrmResultSink, leases: dict[str, Lease], clock: Clock
    ) -> None:
        super().__init__(broadcaster, results, clock)
        self.leases = leases

    async def gate(self, match: Match) -> None:
        """Hold the tick until the lease is renewed; a lost lease cancels the match task."""
        lease = self.leases.get(match.match_id)
        while lease is None or not lease.valid():
            await asyncio.sleep(0.02)
            lease = self.leases.get(match.match_id)


def _is_running(match_id: str) -> bool:
    return MatchRow.objects.filter(pk=match_id, status=MatchRow.Status.RUNNING).exists()


class ClusterWorker(EngineWorker):
    """Hosts the matches it holds leases for; takes over matches whose owner went away."""

    def __init__(self, layer: BaseChannelLayer, store: ClusterStore, worker_id: str | None = None) -> None:
        self.leases: dict[str, Lease] = {}
        self.store = store
        self.worker_id = worker_id or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.ttl_ms = settings.SKIRMISH_LEASE_MS
        self.interval = settings.SKIRMISH_CHECKPOINT_MS / 1000
        self.scan_interval = settings.SKIRMISH_SCAN_MS / 1000
        super().__init__(layer)
        self.broadcaster.timeout = settings.SKIRMISH_PUBLISH_TIMEOUT_MS / 1000
        self.broadcaster.may_publish = self.holds
        self.broadcaster.on_recovered = self.restore_groups
        self.stopping = False

    def make_host(self, broadcaster: ChannelLayerBroadcaster, results: OrmResultSink) -> MatchHost:
        return LeasedHost(broadcaster, results, self.leases, tick_clock())

    def holds(self, match_id: str) -> bool:
        """Whether this worker's lease on the match is trusted right now."""
        lease = self.leases.get(match_id)
        return lease is not None and lease.valid()

    async def may_record(self, match_id: str) -> bool:
        lease = self.leases.get(match_id)
        if lease is None or not lease.valid():
            return False
        try:
            return await self.store.holds(match_id, lease.token)
        except LAYER_ERRORS:
            return False

    # ---- serving ------------------------------------------------------------------------

    async def run(self) -> None:
        """Take new matches and adopt orphaned ones until cancelled."""
        await self.results.drain_outbox()
        loop = asyncio.get_running_loop()
        self._intake = [
            loop.create_task(self._take_new(), name="skirmish-intake"),
            loop.create_task(self._scan_loop(), name="skirmish-scan"),
        ]
        try:
            await asyncio.gather(*self._intake)
        finally:
            for task in self._intake:
                task.cancel()
            for lease in self.leases.values():
                if lease.keeper is not None:
                    lease.keeper.cancel()
            for task in self._listeners.values():
                task.cancel()
            await self.host.stop()

    async def _take_new(self) -> None:
        while True:
            message = await self.receive(ENGINE_CHANNEL)
            try:
                await self.on_engine_message(message)
            except Exception:
                logger.exception("engine: message %r failed", message.get("type"))

    async def on_engine_message(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind == "engine.start":
            await self.start_leased(message["spec"])
        elif kind == "engine.adopt" and message.get("from") != self.worker_id:
            await self.take_over(message["match_id"])

    async def start_leased(self, spec: dict[str, Any]) -> None:
        """A new match: take its lease with a tick-0 checkpoint, then tick it."""
        match = self.build_match(spec)
        data = checkpoint.dumps(match, lobby_id=spec.get("lobby_id"), seat_channels={})
        sent = time.monotonic()
        got = await self.store.acquire(match.match_id, self.worker_id, self.ttl_ms, data)
        if got is None:
            logger.info("engine: match %s is already owned; start ignored", match.match_id)
            return
        self._hold(match.match_id, got.epoch, sent)
        if spec.get("lobby_id") is not None:
            self.lobby_of[match.match_id] = spec["lobby_id"]
        self.serve(match)
        self._keep(match)
        logger.info("engine: match %s of %s started (epoch %s)", match.match_id, spec["game"], got.epoch)

    async def take_over(self, match_id: str) -> bool:
        """Adopt a match whose lease lapsed: restore its checkpoint and tick on from there."""
        if self.stopping or match_id in self.leases:
            return False
        sent = time.monotonic()
        got = await self.store.acquire(match_id, self.worker_id, self.ttl_ms)
        if got is None:
            return False
        token = f"{self.worker_id}:{got.epoch}"
        restored = None
        if got.checkpoint is not None:
            try:
                restored = checkpoint.loads(got.checkpoint, got.log)
            except checkpoint.CheckpointError:
                logger.exception("engine: match %s: checkpoint unusable", match_id)
        if restored is None or not await db_call(_is_running)(match_id):
            await self.store.release(match_id, token, finished=True)
            return False
        match = restored.match
        from_tick = match.tick
        self._hold(match_id, got.epoch, sent)
        self.leases[match_id].log_stored = restored.log_in_chunks
        self.leases[match_id].log_chunks = len(got.log)
        ended = self._fast_forward(match, got.now_ms - (got.checkpoint_ms or got.now_ms))
        for seat, channel in restored.seat_channels.items():
            self._seat_channel[(match_id, seat)] = channel
        if restored.lobby_id is not None:
            self.lobby_of[match_id] = restored.lobby_id
        logger.info(
            "engine: match %s taken over at tick %s (checkpoint tick %s, epoch %s)",
            match_id,
            match.tick,
            from_tick,
            got.epoch,
        )
        if ended is not None:
            await self.host.results.record(match, ended)
            return True
        self.serve(match)
        self._keep(match)
        await self.restore_groups(match)
        await self.broadcaster.snapshot_all(match)
        return True

    def _fast_forward(self, match: Match, gap_ms: int) -> MatchEnded | None:
        """Run the ticks that passed since the checkpoint, so tick numbers never go back.

        The old owner stopped broadcasting at most TTL after its last checkpoint, and a fixed
        timestep never runs ahead of wall time, so TTL worth of ticks (plus two) covers every
        tick a client may have seen. Inputs applied after the checkpoint are lost; clients
        see it in the acks and send again.
        """
        period_ms = match.dt * 1000
        ticks = min(math.ceil(max(gap_ms, 0) / period_ms), math.ceil(self.ttl_ms / period_ms) + 2)
        for _ in range(ticks):
            for item in match.advance():
                if isinstance(item, MatchEnded):
                    return item
        return None

    def _hold(self, match_id: str, epoch: int, sent: float) -> None:
        token = f"{self.worker_id}:{epoch}"
        self.leases[match_id] = Lease(match_id, epoch, token, sent + TRUST * self.ttl_ms / 1000)

    def _keep(self, match: Match) -> None:
        lease = self.leases[match.match_id]
        loop = asyncio.get_running_loop()
        lease.keeper = loop.create_task(self._keeper(match, lease), name=f"lease-{match.match_id}")

    def _checkpoint(self, match: Match) -> bytes:
        seats = {seat: ch for (mid, seat), ch in self._seat_channel.items() if mid == match.match_id}
        return checkpoint.dumps(match, lobby_id=self.lobby_of.get(match.match_id), seat_channels=seats)

    async def renew(self, match: Match, lease: Lease) -> int:
        """One renewal with a checkpoint; updates the local deadline. -1 lost, 1 renewed, 2 re-claimed.

        The checkpoint goes with the log entries logged since the last stored one. When Redis has
        lost earlier chunks (it restarted), nothing was stored: the whole log goes again at once.
        """
        results = []
        for _ in range(2):
            sent = time.monotonic()
            logged = len(match.log)
            data = self._checkpoint(match)
            chunk = checkpoint.log_chunk(match.log[lease.log_stored : logged]) if logged > lease.log_stored else b""
            renewed = await asyncio.wait_for(
                self.store.renew(
                    match.match_id,
                    lease.token,
                    lease.epoch,
                    self.ttl_ms,
                    data,
                    chunk=chunk,
                    chunks_before=lease.log_chunks,
                ),
                self.ttl_ms / 2000,
            )
            results.append(renewed.result)
            if renewed.result > 0:
                lease.deadline = max(lease.deadline, sent + TRUST * self.ttl_ms / 1000)
            if renewed.result < 0 or renewed.stored:
                break
            logger.warning("engine: match %s: Redis lost its stored log; storing all of it again", match.match_id)
            lease.log_stored = lease.log_chunks = 0
        if renewed.stored:
            lease.log_stored = logged
            lease.log_chunks += 1 if chunk else 0
        return -1 if renewed.result < 0 else max(results)

    async def _keeper(self, match: Match, lease: Lease) -> None:
        """Renew and checkpoint every interval; on a lost lease stop the match here."""
        while True:
            await asyncio.sleep(self.interval)
            try:
                result = await self.renew(match, lease)
            except LAYER_ERRORS as exc:
                logger.warning("engine: match %s: lease renewal failed (%r)", match.match_id, exc)
                continue
            except Exception:
                logger.exception("engine: match %s: checkpoint failed", match.match_id)
                continue
            if result < 0:
                self.lose(match.match_id)
                return
            if result == 2:
                logger.warning("engine: match %s: lease re-claimed (Redis lost it); resyncing", match.match_id)
                await self.restore_groups(match)
                await self.broadcaster.snapshot_all(match)

    def lose(self, match_id: str) -> None:
        """Another worker owns the match now: stop ticking and listening, write nothing."""
        logger.warning("engine: match %s: lease lost; this worker stops ticking it", match_id)
        self.host.cancel(match_id)
        lease = self.leases.pop(match_id, None)
        if lease is not None and lease.keeper is not None and lease.keeper is not asyncio.current_task():
            lease.keeper.cancel()
        EngineWorker.match_finished(self, match_id)
        self.lobby_of.pop(match_id, None)

    def match_finished(self, match_id: str) -> None:
        super().match_finished(match_id)
        lease = self.leases.pop(match_id, None)
        if lease is None:
            return
        if lease.keeper is not None and lease.keeper is not asyncio.current_task():
            lease.keeper.cancel()
        asyncio.get_running_loop().create_task(self._release(match_id, lease.token, finished=True))

    async def _release(self, match_id: str, token: str, *, finished: bool) -> None:
        for delay in (0.1, 0.5, 1, 2, 5, None):
            try:
                await self.store.release(match_id, token, finished=finished)
                return
            except LAYER_ERRORS:
                if delay is None:
                    logger.warning("engine: match %s: lease could not be released; it will lapse", match_id)
                    return
                await asyncio.sleep(delay)

    async def restore_groups(self, match: Match) -> None:
        """Re-add the seats' known sockets to the match's groups (Redis may have lost them).

        Not under the pub/sub layer: there a group is each web process's own subscription (which
        redis-py renews when it reconnects), and group_add takes only the process's own channels.
        """
        if not getattr(self.layer, "groups_in_redis", True):
            return
        for (mid, seat), channel in list(self._seat_channel.items()):
            if mid != match.match_id or channel is None:
                continue
            try:
                await self.layer.group_add(match_group(mid), channel)
                await self.layer.group_add(seat_group(mid, seat), channel)
            except LAYER_ERRORS:
                return

    # ---- taking over --------------------------------------------------------------------

    async def _scan_loop(self) -> None:
        while True:
            await asyncio.sleep(self.scan_interval * random.uniform(0.8, 1.2))
            try:
                candidates = await self.store.expired()
                random.shuffle(candidates)
                for match_id in candidates:
                    await self.take_over(match_id)
            except LAYER_ERRORS as exc:
                logger.warning("engine: scan failed (%r)", exc)
            except Exception:
                logger.exception("engine: scan failed")

    # ---- graceful stop ------------------------------------------------------------------

    async def hand_over(self) -> None:
        """SIGTERM: stop ticking, store a last checkpoint, release each lease for another worker."""
        self.stopping = True
        for task in getattr(self, "_intake", []):
            task.cancel()
        for match_id in list(self.leases):
            lease = self.leases.get(match_id)
            match = self.host.matches.get(match_id)
            if lease is None or match is None:
                continue
            if lease.keeper is not None:
                lease.keeper.cancel()
            self.host.cancel(match_id)
            task = self._listeners.pop(match_id, None)
            if task is not None:
                task.cancel()
            try:
                if await self.renew(match, lease) > 0:
                    await self.store.release(match_id, lease.token, finished=False)
                    adopt = {"type": "engine.adopt", "match_id": match_id, "from": self.worker_id}
                    await self.layer.send(ENGINE_CHANNEL, adopt)
                    logger.info("engine: match %s handed over at tick %s", match_id, match.tick)
            except LAYER_ERRORS as exc:
                logger.warning("engine: match %s: hand-over failed (%r); its lease will lapse", match_id, exc)
            self.leases.pop(match_id, None)
        await asyncio.sleep(0)
