"""Adapters between the pure engine and the world: channel layer out, ORM for results.

`EngineWorker` owns a `MatchHost`. It takes new matches from the ENGINE_CHANNEL and, per match,
listens on that match's channel for inputs, joins, leaves and resyncs from consumers. Frames
are encoded here once per audience and codec and sent with one `group_send` per audience;
consumers forward the bytes untouched.

With no REDIS_URL the worker runs inside the web process (`ensure_local_worker`); with Redis,
`manage.py runengine` runs the same worker in its own process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from channels.layers import BaseChannelLayer, get_channel_layer
from django.conf import settings

from engine.game import Player, Viewer
from engine.games import GAMES
from engine.host import MatchHost
from engine.match import ALL, SPECTATORS, Audience, Frame, InputRejected, Match, MatchEnded, Outbound
from game_server import metrics
from game_server import protocol as p
from game_server.clock import tick_clock
from game_server.db import db_call, on_disk
from game_server.outbox import ResultOutbox, as_record_kwargs
from game_server.spectators import Encoded, SpectatorFeed, live_list_changed
from lobby import selectors, services
from lobby.models import Lobby

logger = logging.getLogger(__name__)

ENGINE_CHANNEL = "skirmish.engine"
LOBBY_LIST_GROUP = "lobbies"
#: Errors of a channel layer whose Redis is down, restarting or stalled.
LAYER_ERRORS = (OSError, asyncio.TimeoutError, ConnectionError)
try:  # redis-py's errors do not all derive from OSError
    from redis.exceptions import RedisError

    LAYER_ERRORS = (*LAYER_ERRORS, RedisError)
except ImportError:  # pragma: no cover (redis is installed with channels-redis)
    pass


def match_channel(match_id: str) -> str:
    """Where consumers send a match's inputs and seat changes."""
    return f"skirmish.match.{match_id}"


def match_group(match_id: str) -> str:
    """Every player and spectator of a match."""
    return f"match.{match_id}"


def seat_group(match_id: str, seat: int) -> str:
    """The sockets of one seat (frames of games with hidden information, input errors)."""
    return f"match.{match_id}.seat.{seat}"


def spectator_group(match_id: str) -> str:
    """The spectators of a match."""
    return f"match.{match_id}.spectators"


def lobby_group(lobby_id: int) -> str:
    """The members of a lobby."""
    return f"lobby.{lobby_id}"


def user_group(user_id: int) -> str:
    """Every socket of one user (a newer one replaces the older)."""
    return f"user.{user_id}"


def frame_plain(frame: Frame) -> dict[str, Any]:
    """An engine frame as the plain `snapshot`/`delta` message, stamped with the server time (ms).

    What `frame_message(frame).model_dump(mode="json")` gives, built directly: the broadcast
    path skips the model's validation and its walk over the document (tested equal)."""
    now = round(time.time() * 1000, 1)
    if frame.full:
        keys = list(frame.names) if frame.names else None
        return {"type": "snapshot", "tick": frame.tick, "t": now, "doc": frame.body, "keys": keys}
    assert frame.base is not None
    return {"type": "delta", "tick": frame.tick, "base": frame.base, "t": now, "delta": frame.body}


def frame_message(frame: Frame) -> p.Snapshot | p.Delta:
    """The protocol message (validated model) for an engine frame; a delta keeps the match's key
    names, so that msgpack sends it in its compact form."""
    plain = frame_plain(frame)
    if frame.full:
        return p.Snapshot(**plain)
    delta = p.Delta(**plain)
    delta._names = frame.names
    return delta


def keep_running(tasks: set[asyncio.Task[None]], coro: Coroutine[Any, Any, None], name: str | None = None) -> None:
    """Run `coro` in the background, holding its task in `tasks` until it is done."""
    task = asyncio.get_running_loop().create_task(coro, name=name)
    tasks.add(task)
    task.add_done_callback(tasks.discard)


#: A seat hears `input/queue_full` at most once in this long (s); later drops are only counted
#: (`skirmish_inputs_dropped_total`). The queue fills when the match ticks late, i.e. when the
#: process is overloaded, and an error frame per dropped input made it more so (py-spy at 350
#: arena matches: building and sending them held 48 % of the busy samples). The frames' acks
#: already say which inputs were applied.
QUEUE_FULL_NOTICE_SECONDS = 1.0

#: How long spectator joins and leaves are gathered before the count is saved and listed (s).
SPECTATOR_COUNT_FLUSH = 0.5


def outcome_message(match: Match, ended: MatchEnded) -> p.MatchEndedMessage:
    """The protocol message announcing the end of a match."""
    o = ended.outcome
    return p.MatchEndedMessage(
        match_id=match.match_id,
        tick=ended.tick,
        outcome=p.OutcomeInfo(
            placements={str(k): v for k, v in o.placements.items()},
            scores={str(k): float(v) for k, v in o.scores.items()},
            reason=o.reason,
            winners=o.winners,
        ),
        state_hash=ended.state_hash,
    )


class ChannelLayerBroadcaster:
    """Encodes each frame once per codec and group_sends it to its audience.

    A send that fails or takes longer than `timeout` is skipped (the tick clock never waits on a
    stalled Redis), and the match is marked: after its next good send every audience gets a full
    snapshot, because frames were lost (the pub/sub layer also loses them silently across a
    reconnect). `may_publish(match_id)` is the fencing check of the cluster: False, nothing goes out.
    """

    def __init__(
        self,
        layer: BaseChannelLayer,
        *,
        timeout: float | None = None,
        may_publish: Callable[[str], bool] | None = None,
    ) -> None:
        self.layer = layer
        self.timeout = timeout
        self.may_publish = may_publish
        self.troubled: set[str] = set()
        #: Called (match) after a match's sends work again; the worker restores memberships there.
        self.on_recovered: Callable[[Match], Any] | None = None
        #: The spectators' (delayed) feed of each match this broadcaster publishes.
        self.feeds: dict[str, SpectatorFeed] = {}
        self.clock: Callable[[], float] = time.monotonic
        self._endings: set[asyncio.Task[None]] = set()
        # In-process delivery: encode per codec only when a recipient asks (JSON often never).
        self.in_process: bool = getattr(layer, "in_process", False)
        self.encode = p.LazyEncodings if self.in_process else p.encode_all

    # ---- spectators -------------------------------------------------------------------

    def track(self, match: Match) -> SpectatorFeed:
        """Start the spectators' feed of a match about to tick (new, or resumed from a checkpoint)."""
        delay = float(match.spectator_delay)
        # A resumed match with a delay shows spectators nothing until its first full frame is due:
        # its current document is newer than what they may see.
        doc = match.snapshot(None).body if match.tick == 0 or delay == 0 else None
        feed = self.feeds[match.match_id] = SpectatorFeed(delay, doc, match.tick, margin=match.dt / 2)
        return feed

    def spectator_snapshot(self, match: Match) -> Frame | None:
        """The full frame a new spectator gets: the last tick released to spectators."""
        feed = self.feeds.get(match.match_id)
        if feed is None or not feed.delay:  # no delay: the spectators are at the match's tick
            return match.snapshot(None) if not match.spectator_delay else None
        return feed.snapshot()

    async def to_spectators(self, match: Match, held: Sequence[tuple[Frame, Encoded]]) -> None:
        """Hold this tick's spectator frames (sent to the players just now) and release those due."""
        match_id = match.match_id
        feed = self.feeds.get(match_id) or self.track(match)  # (untracked: a broadcaster used on its own)
        now = self.clock()
        for frame, encoded in held:
            feed.push(frame, encoded, now)
        for item in feed.due(now):
            message = {"type": "match.frame", "frames": item.encoded, "droppable": not item.frame.full}
            await self.send_group(match_id, spectator_group(match_id), message)

    def end_spectators(self, match_id: str, ended: Encoded) -> None:
        """After the players' match.ended: release the held frames on time, then the end, to spectators."""
        feed = self.feeds.pop(match_id, None)
        keep_running(self._endings, self._drain(match_id, feed, ended))

    async def _drain(self, match_id: str, feed: SpectatorFeed | None, ended: Encoded) -> None:
        # The match is over and this worker recorded it: no fencing for what is left.
        group = spectator_group(match_id)
        try:
            while feed is not None and (due := feed.next_due()) is not None:
                await asyncio.sleep(max(0.0, due - self.clock()))
                for item in feed.due(self.clock()):
                    message = {"type": "match.frame", "frames": item.encoded, "droppable": not item.frame.full}
                    await asyncio.wait_for(self.layer.group_send(group, message), self.timeout)
            message = {"type": "match.ended", "match_id": match_id, "frames": ended}
            await asyncio.wait_for(self.layer.group_send(group, message), self.timeout)
        except LAYER_ERRORS as exc:
            logger.warning("match %s: the spectators' last frames were lost (%r)", match_id, exc)

    async def send_group(self, match_id: str, group: str, message: dict[str, Any]) -> bool:
        """One group_send, bounded in time; False (and the match marked) when it failed."""
        if self.may_publish is not None and not self.may_publish(match_id):
            return False
        try:
            if self.in_process:  # never waits: no timeout task per send
                await self.layer.group_send(group, message)
            else:
                await asyncio.wait_for(self.layer.group_send(group, message), self.timeout)
            return True
        except LAYER_ERRORS as exc:
            if match_id not in self.troubled:
                logger.warning("match %s: broadcast to %s failed (%r); will resync", match_id, group, exc)
            self.troubled.add(match_id)
            return False

    async def snapshot_all(self, match: Match) -> None:
        """A full snapshot to every audience of the match (after a takeover or lost frames)."""
        held: list[tuple[Frame, Encoded]] = []
        for audience in match.audiences():
            viewer: Viewer = audience if isinstance(audience, int) else None
            frame = match.snapshot(viewer)
            frames = self.encode(frame_plain(frame))
            if audience in (ALL, SPECTATORS):
                held.append((frame, frames))  # the spectators get it after their delay
            if audience != SPECTATORS:
                group = self.group_for(match.match_id, audience)
                await self.send_group(match.match_id, group, {"type": "match.frame", "frames": frames})
        await self.to_spectators(match, held)

    def group_for(self, match_id: str, audience: Audience) -> str:
        if audience == ALL:
            return match_group(match_id)
        if audience == SPECTATORS:
            return spectator_group(match_id)
        assert isinstance(audience, int)
        return seat_group(match_id, audience)

    async def publish(self, match: Match, outbound: Sequence[Outbound]) -> None:
        was_troubled = match.match_id in self.troubled
        self.troubled.discard(match.match_id)
        held: list[tuple[Frame, Encoded]] = []
        for item in outbound:
            if isinstance(item, Frame):
                frames = self.encode(frame_plain(item), item.names)
                if item.audience in (ALL, SPECTATORS):  # the same bytes go to the spectators, later
                    held.append((item, frames))
                if item.audience == SPECTATORS:
                    continue
                # Deltas may be dropped for a socket that is behind (it resyncs); snapshots not.
                message = {"type": "match.frame", "frames": frames, "droppable": not item.full}
                await self.send_group(match.match_id, self.group_for(match.match_id, item.audience), message)
            elif isinstance(item, InputRejected):
                error = p.Error(code=item.code, message=item.message, seq=item.seq)
                await self.send_group(
                    match.match_id,
                    seat_group(match.match_id, item.seat),
                    {"type": "match.frame", "frames": p.encode_all(error)},
                )
            # MatchEnded is announced by the result sink, once the result is saved.
        await self.to_spectators(match, held)
        if was_troubled and match.match_id not in self.troubled:
            logger.info("match %s: broadcasts work again; full snapshots sent", match.match_id)
            if self.on_recovered is not None:
                await self.on_recovered(match)
            await self.snapshot_all(match)
        elif was_troubled:
            self.troubled.add(match.match_id)


class OrmResultSink:
    """Saves results through the lobby services, then tells the match and its lobby.

    The result goes to the durable outbox first. If the database refuses it, the end is
    announced anyway and the save is retried (capped backoff, forever) until it lands; a
    process that dies meanwhile leaves the file for the next worker (`drain_outbox`).
    """

    RETRY_DELAYS = (0.2, 0.5, 1, 2, 5, 10, 30)

    def __init__(self, layer: BaseChannelLayer, worker: EngineWorker) -> None:
        self.layer = layer
        self.worker = worker
        self.outbox = ResultOutbox(Path(settings.SKIRMISH_OUTBOX_DIR))
        self._retries: set[asyncio.Task[None]] = set()

    async def save(self, result: dict[str, Any], *, attempts: int | None = None) -> bool:
        """Save one outbox result; True once the database has it (then the file is gone)."""
        match_id = result["match_id"]
        tries = 0
        while True:
            try:
                _, first = await db_call(on_disk(services.match_result_record))(**as_record_kwargs(result))
                self.outbox.remove(match_id)
                logger.info("match %s: result %s at tick %s", match_id, "saved" if first else "known", result["ticks"])
                return True
            except Exception as exc:
                delay = self.RETRY_DELAYS[min(tries, len(self.RETRY_DELAYS) - 1)]
                tries += 1
                if attempts is not None and tries >= attempts:
                    logger.warning("match %s: saving the result failed (%r); kept in the outbox", match_id, exc)
                    return False
                logger.warning("match %s: saving the result failed (%r); retrying in %ss", match_id, exc, delay)
                await asyncio.sleep(delay)

    def save_later(self, result: dict[str, Any]) -> None:
        """Keep retrying in the background, then tell the lobby."""

        async def retry() -> None:
            await self.save(result)
            lobby_id = result.get("lobby_id")
            if lobby_id is not None:
                with contextlib.suppress(*LAYER_ERRORS):
                    await lobby_broadcast(self.layer, lobby_id)

        keep_running(self._retries, retry(), name=f"result-{result['match_id']}")

    async def drain_outbox(self) -> None:
        """Save what an earlier process left in the outbox."""
        for result in self.outbox.pending():
            logger.info("match %s: saving a result left in the outbox", result["match_id"])
            self.save_later(result)

    async def record(self, match: Match, ended: MatchEnded) -> None:
        if not await self.worker.may_record(match.match_id):
            logger.warning("match %s: not recording the result: this worker lost the match", match.match_id)
            return
        lobby_id = self.worker.lobby_of.pop(match.match_id, None)
        result = {
            "match_id": match.match_id,
            "placements": ended.outcome.placements,
            "scores": ended.outcome.scores,
            "reason": ended.outcome.reason,
            "ticks": ended.tick,
            "input_log": match.export_log(),
            "final_hash": ended.state_hash,
        }
        self.outbox.put({**result, "lobby_id": lobby_id})
        saved = await self.save({**result, "lobby_id": lobby_id}, attempts=2)
        if not saved:
            self.save_later({**result, "lobby_id": lobby_id})
        frames = p.encode_all(outcome_message(match, ended))
        self.worker.broadcaster.end_spectators(match.match_id, frames)
        self.worker.match_finished(match.match_id)
        try:
            await self.layer.group_send(
                match_group(match.match_id), {"type": "match.ended", "match_id": match.match_id, "frames": frames}
            )
            if lobby_id is not None and saved:
                await lobby_broadcast(self.layer, lobby_id)
            await live_list_changed(self.layer, match.match_id, ended=True)
        except LAYER_ERRORS:
            logger.warning("match %s: the end could not be announced (channel layer down)", match.match_id)


#: A lobby's state for its members and its summary for the lobby list (None: the lobby is gone).
LobbyPayloads = tuple[dict[str, Any], dict[str, Any]] | None


def _payloads_of(lobby: Lobby) -> LobbyPayloads:
    info = selectors.lobby_info(lobby=lobby)
    lobby.players = len(info["members"])  # (what lobby_summary would count in a query of its own)
    host = next((m["user"]["name"] for m in info["members"] if m["host"]), None)
    return info, selectors.lobby_summary(lobby=lobby, host_name=host)


def _lobby_payloads(lobby_id: int) -> LobbyPayloads:
    lobby = Lobby.objects.filter(pk=lobby_id).first()
    return None if lobby is None else _payloads_of(lobby)


def with_payloads(op: Callable[..., Lobby]) -> Callable[..., tuple[Lobby, LobbyPayloads]]:
    """`op` (a lobby service), then what `send_lobby_state` pushes, read on the same trip to the
    database thread: one place in its queue per lobby request instead of two (the queue is what
    players wait in while a busy server seats many of them). The lobby's own fields come from
    the row the service returns, as it committed them; only the members are read again."""

    def run(**kwargs: Any) -> tuple[Lobby, LobbyPayloads]:
        lobby = op(**kwargs)
        return lobby, _payloads_of(lobby)

    return run


async def lobby_broadcast(layer: BaseChannelLayer, lobby_id: int) -> None:
    """Push a lobby's state to its members and its summary to the lobby list."""
    await send_lobby_state(layer, lobby_id, await db_call(_lobby_payloads)(lobby_id))


async def send_lobby_state(layer: BaseChannelLayer, lobby_id: int, payloads: LobbyPayloads) -> None:
    """Push payloads read by `_lobby_payloads` (see `with_payloads`)."""
    if payloads is None:
        return
    info, summary = payloads
    await layer.group_send(lobby_group(lobby_id), {"type": "lobby.state", "lobby": info})
    if not info["private"]:
        op = "remove" if info["status"] == Lobby.Status.CLOSED else "upsert"
        await layer.group_send(LOBBY_LIST_GROUP, {"type": "lobby.list.update", "op": op, "lobby": summary})


class EngineWorker:
    """Hosts matches: takes new ones from ENGINE_CHANNEL, serves each match's channel."""

    def __init__(self, layer: BaseChannelLayer) -> None:
        self.layer = layer
        self.broadcaster = ChannelLayerBroadcaster(layer)
        self.results = OrmResultSink(layer, self)
        self.host = self.make_host(self.broadcaster, self.results)
        metrics.register_host(self.host)
        self.lobby_of: dict[str, int] = {}
        self._listeners: dict[str, asyncio.Task[None]] = {}
        self._seat_channel: dict[tuple[str, int], str] = {}
        self._spectator_channels: dict[str, set[str]] = {}
        self._count_flush: dict[str, asyncio.Task[None]] = {}
        self._replies: set[asyncio.Task[None]] = set()
        self._quiet_until: dict[str, dict[int, float]] = {}  # match -> seat -> no queue_full notice before

    def make_host(self, broadcaster: ChannelLayerBroadcaster, results: OrmResultSink) -> MatchHost:
        """The MatchHost this worker ticks its matches on (the cluster worker uses a leased one)."""
        return MatchHost(broadcaster, results, tick_clock())

    async def may_record(self, match_id: str) -> bool:
        """Whether this worker may write the match's result (the cluster worker checks its lease)."""
        return True

    async def receive(self, channel: str) -> dict[str, Any]:
        """layer.receive that outlives a Redis restart: retry with a capped backoff."""
        delay = 0.05
        while True:
            try:
                return await self.layer.receive(channel)
            except LAYER_ERRORS as exc:
                logger.warning("engine: receive on %s failed (%r); retrying in %.2fs", channel, exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)

    async def run(self) -> None:
        """Serve forever (until cancelled)."""
        await self.results.drain_outbox()
        try:
            while True:
                message = await self.receive(ENGINE_CHANNEL)
                try:
                    await self.on_engine_message(message)
                except Exception:
                    logger.exception("engine: cannot start a match from %r", message.get("type"))
        finally:
            for task in self._listeners.values():
                task.cancel()
            await self.host.stop()

    async def on_engine_message(self, message: dict[str, Any]) -> None:
        """One message on ENGINE_CHANNEL (engine.start)."""
        if message.get("type") == "engine.start":
            self.start_match(message["spec"])

    def build_match(self, spec: dict[str, Any]) -> Match:
        """A new match from its spec (as lobby.services.MatchSpec.as_message gives it)."""
        return Match(
            match_id=spec["match_id"],
            game=GAMES[spec["game"]],
            players=[Player(seat=pl["seat"], name=pl["name"]) for pl in spec["players"]],
            options=spec["options"],
            seed=spec["seed"],
            tick_rate=spec["tick_rate"],
            grace_seconds=settings.SKIRMISH_GRACE_SECONDS,
            spectator_delay=float(spec.get("spectator_delay", 0)),
        )

    def start_match(self, spec: dict[str, Any]) -> Match:
        """Build a match from its spec and start ticking it."""
        match = self.build_match(spec)
        if spec.get("lobby_id") is not None:
            self.lobby_of[match.match_id] = spec["lobby_id"]
        self.serve(match)
        logger.info("engine: match %s of %s started (%s players)", match.match_id, spec["game"], len(spec["players"]))
        return match

    def serve(self, match: Match) -> None:
        """Tick a match and listen on its channel."""
        self.broadcaster.track(match)
        self.host.start(match)
        loop = asyncio.get_running_loop()
        self._listeners[match.match_id] = loop.create_task(self._listen(match.match_id))
        register = getattr(self.layer, "register_receiver", None)
        if register is not None:  # inputs skip the queue (game_server.channel_layer, game_server.redis_layer)
            match_id = match.match_id
            register(match_channel(match_id), lambda message: self.input_now(match_id, message))
        self._count_flush[match.match_id] = loop.create_task(self._list_match(match.match_id, 0.0))

    def match_finished(self, match_id: str) -> None:
        """Stop serving a match's channel."""
        task = self._listeners.pop(match_id, None)
        if task is not None:
            task.cancel()
        unregister = getattr(self.layer, "unregister_receiver", None)
        if unregister is not None:
            unregister(match_channel(match_id))
        for key in [k for k in self._seat_channel if k[0] == match_id]:
            del self._seat_channel[key]
        self._quiet_until.pop(match_id, None)
        self._spectator_channels.pop(match_id, None)
        flush = self._count_flush.pop(match_id, None)
        if flush is not None:
            flush.cancel()
        self.broadcaster.feeds.pop(match_id, None)

    def spectators_changed(self, match_id: str) -> None:
        """A spectator came or went: save the count and update the live list, at most twice a second."""
        task = self._count_flush.get(match_id)
        if task is None or task.done():
            loop = asyncio.get_running_loop()
            self._count_flush[match_id] = loop.create_task(self._list_match(match_id, SPECTATOR_COUNT_FLUSH))

    async def _list_match(self, match_id: str, wait: float) -> None:
        """After `wait`: save the spectator count (when waiting) and upsert the match in the live list."""
        await asyncio.sleep(wait)
        match = self.host.matches.get(match_id)
        try:
            count = match.spectators if match is not None and wait else None
            await live_list_changed(self.layer, match_id, spectators=count)
        except LAYER_ERRORS as exc:
            logger.warning("match %s: the live list was not updated (%r)", match_id, exc)

    async def _spectator(self, match_id: str, channel: str, kind: str) -> Frame | None:
        """A spectator's join, resync or leave; the snapshot they get (join, resync)."""
        match = self.host.matches.get(match_id)
        if match is None:
            return None
        channels = self._spectator_channels.setdefault(match_id, set())
        if kind == "match.leave":
            if channel in channels:
                channels.discard(channel)
                self.host.leave(match_id, None)
                self.spectators_changed(match_id)
            return None
        if kind == "match.join" and channel not in channels:
            channels.add(channel)
            self.host.join(match_id, None)
            self.spectators_changed(match_id)
        return self.broadcaster.spectator_snapshot(match)

    async def _listen(self, match_id: str) -> None:
        channel = match_channel(match_id)
        while True:
            message = await self.receive(channel)
            try:
                await self.handle(match_id, message)
            except Exception:
                logger.exception("engine: match %s: message %r failed", match_id, message.get("type"))

    def take_input(self, match_id: str, message: dict[str, Any]) -> dict[str, Any] | None:
        """Queue a match.input for its tick; the error frame for its sender if the match refused it
        (for `input/queue_full`, only if the seat has not had one in QUEUE_FULL_NOTICE_SECONDS)."""
        seat = message["seat"]
        rejected = self.host.input(match_id, seat, message["seq"], message["data"])
        if rejected is None:
            return None
        if rejected.code == p.ErrorCode.QUEUE_FULL:
            metrics.INPUTS_DROPPED.inc()
            now = time.monotonic()
            quiet = self._quiet_until.setdefault(match_id, {})
            if now < quiet.get(seat, 0.0):
                return None
            quiet[seat] = now + QUEUE_FULL_NOTICE_SECONDS
        error = p.Error(rid=message.get("rid"), code=rejected.code, message=rejected.message, seq=rejected.seq)
        return {"type": "match.frame", "frames": p.encode_all(error)}

    def input_now(self, match_id: str, message: dict[str, Any]) -> None:
        """A match.input handed over synchronously by the layer (see serve)."""
        refusal = self.take_input(match_id, message)
        reply = message.get("reply")
        if refusal is not None and reply:
            keep_running(self._replies, self.layer.send(reply, refusal))

    async def handle(self, match_id: str, message: dict[str, Any]) -> None:
        """One message from a consumer to a match."""
        kind = message.get("type")
        reply = message.get("reply")
        if kind == "match.input":
            refusal = self.take_input(match_id, message)
            if refusal is not None and reply:
                await self.layer.send(reply, refusal)
        elif kind in ("match.join", "match.resync", "match.leave") and message.get("viewer") is None:
            frame = await self._spectator(match_id, reply, kind)
            if kind == "match.leave":
                return
            if frame is None and match_id not in self.host.matches:
                error = p.Error(code=p.ErrorCode.MATCH_NOT_FOUND, message="the match is not running")
                await self.layer.send(reply, {"type": "match.frame", "frames": p.encode_all(error)})
            elif frame is not None:  # (None while a resumed match's delay runs: its next full frame comes)
                await self.layer.send(reply, {"type": "match.frame", "frames": p.encode_all(frame_message(frame))})
        elif kind in ("match.join", "match.resync"):
            viewer: Viewer = message.get("viewer")
            if kind == "match.join" and viewer is not None:
                self._seat_channel[(match_id, viewer)] = reply
                frame = self.host.join(match_id, viewer)
            else:
                match = self.host.matches.get(match_id)
                frame = match.snapshot(viewer) if match else None
            if frame is None:
                error = p.Error(code=p.ErrorCode.MATCH_NOT_FOUND, message="the match is not running")
                await self.layer.send(reply, {"type": "match.frame", "frames": p.encode_all(error)})
            else:
                await self.layer.send(reply, {"type": "match.frame", "frames": p.encode_all(frame_message(frame))})
        elif kind == "match.leave":
            seat = message["viewer"]
            # Only the seat's current socket may mark it away (a replaced socket leaves late).
            if self._seat_channel.get((match_id, seat)) == reply:
                self.host.leave(match_id, seat)
        elif kind == "match.stats" and reply:
            await self.layer.send(reply, {"type": "match.stats", "stats": self.match_stats(match_id)})
        elif kind == "match.end":
            match = self.host.matches.get(match_id)
            if match is not None:
                logger.info("match %s: ended by %s", match_id, message.get("by", "staff"))
                match.end(str(message.get("reason", "ended_by_staff")))

    def match_stats(self, match_id: str) -> dict[str, Any] | None:
        """Live figures of one hosted match, for the staff monitor."""
        match = self.host.matches.get(match_id)
        schedule = self.host.schedules.get(match_id)
        if match is None or schedule is None:
            return None
        return {
            "match_id": match_id,
            "game": match.game.name,
            "tick": match.tick,
            "tick_rate": match.tick_rate,
            "tick_ms": round(self.host.tick_seconds.get(match_id, 0.0) * 1000, 3),
            "late_ticks": schedule.late_ticks,
            "overruns": schedule.overruns,
            "seats": {str(seat): s.status for seat, s in match.seats.items()},
            "owner": WORKER_ID,
        }


_local: dict[str, Any] = {}
WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"


def ensure_local_worker() -> None:
    """Start the in-process engine worker on this event loop, once (one-machine mode)."""
    if settings.SKIRMISH_ENGINE != "inprocess":
        return
    loop = asyncio.get_running_loop()
    task: asyncio.Task[None] | None = _local.get("task")
    if task is not None and not task.done() and _local.get("loop") is loop:
        return
    worker = EngineWorker(get_channel_layer())
    _local.update(worker=worker, loop=loop, task=loop.create_task(worker.run(), name="skirmish-engine"))
