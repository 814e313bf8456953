"""A testing kit for game authors: a whole match in-process, scripted clients, no sleeps.

    async with boot_match("connect_four", players=2, seed=7) as kit:
        alice, bob = kit.clients
        await alice.send({"col": 3})        # validated like a socket frame, queued for the next tick
        await kit.next_tick()               # exactly one tick runs
        frame = await kit.next_frame(bob)   # the next frame bob received (a tick runs if none is waiting)
        assert bob.view["board"][3] == [alice.seat]

What runs is the real thing: the server's `EngineWorker` and `ChannelLayerBroadcaster` tick the
match on a `MatchHost` and publish every frame, encoded once per codec, to the match's groups on
an in-memory channel layer; each client is a channel in those groups (exactly the groups a
player's socket joins) and decodes the bytes its socket would receive, applying deltas to its
document. Inputs go through the same protocol validation and the same match-channel handler a
socket's inputs go through. Only two things differ: time is a `ManualClock` that moves when the
test says so (`next_tick`), and the result is kept in memory instead of the database.

A game that raises inside `apply`/`step`/`view`/`outcome` makes `next_tick` raise that exception
(the live server would log it and end the match as `error`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from channels.layers import InMemoryChannelLayer

from engine.delta import patch
from engine.game import Data, Game, Player
from engine.games import GAMES
from engine.host import MatchHost
from engine.match import Match, MatchEnded
from game_server import protocol as p
from game_server.engine_bridge import (
    ChannelLayerBroadcaster,
    EngineWorker,
    OrmResultSink,
    match_group,
    outcome_message,
    seat_group,
    spectator_group,
)

__all__ = ["KitClient", "ManualClock", "MatchKit", "boot_match"]

#: How many ticks `run_until` runs before giving up (an hour of a 20 Hz game).
MAX_TICKS = 72_000


class ManualClock:
    """A clock for `MatchHost` that stands still until released: each release runs one tick.

    `sleep_until` parks the host until `release()`; the clock then jumps to the deadline the
    host asked for (never backwards), so the host's schedule sees every tick exactly on time.
    """

    def __init__(self, start: float = 0.0) -> None:
        self.time = start
        self._sleepers: list[tuple[float, asyncio.Future[None]]] = []
        self._parked = asyncio.Event()

    def now(self) -> float:
        """The current (manual) time in seconds."""
        return self.time

    def align(self, moment: float) -> float:
        """Any moment: this clock jumps to each deadline exactly."""
        return moment

    async def sleep_until(self, deadline: float) -> None:
        """Park until a test releases this sleeper."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._sleepers.append((deadline, future))
        self._parked.set()
        await future

    @property
    def parked(self) -> bool:
        """Whether a host is waiting for the next tick."""
        return any(not future.done() for _, future in self._sleepers)

    def release(self) -> None:
        """Advance to the earliest waiting deadline and wake that sleeper."""
        self._sleepers = [(d, f) for d, f in self._sleepers if not f.done()]
        if not self._sleepers:
            raise RuntimeError("no match is waiting for a tick")
        self._sleepers.sort(key=lambda pair: pair[0])
        deadline, future = self._sleepers.pop(0)
        self.time = max(self.time, deadline)
        self._parked.clear()
        future.set_result(None)

    async def wait_parked(self, task: asyncio.Task[Any]) -> None:
        """Wait until a host parks again or `task` ends (no sleeping: an event or the task)."""
        while not self.parked and not task.done():
            waiter = asyncio.ensure_future(self._parked.wait())
            try:
                await asyncio.wait({waiter, task}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                waiter.cancel()


class _KitHost(MatchHost):
    """A MatchHost that remembers the exception a game raised, so the test sees it."""

    crash: BaseException | None = None

    async def _tick(self, match: Match) -> MatchEnded | None:
        try:
            return await super()._tick(match)
        except Exception as exc:
            self.crash = exc
            raise


class _MemorySink:
    """Keeps the result in memory and announces the end to the match group, like the real sink."""

    def __init__(self, kit: MatchKit) -> None:
        self.kit = kit

    async def record(self, match: Match, ended: MatchEnded) -> None:
        self.kit.ended = ended
        self.kit.worker.match_finished(match.match_id)
        frames = p.encode_all(outcome_message(match, ended))
        message = {"type": "match.ended", "match_id": match.match_id, "frames": frames}
        await self.kit.layer.group_send(match_group(match.match_id), message)


class _KitWorker(EngineWorker):
    """The server's engine worker, on a manual clock and an in-memory result."""

    def __init__(self, layer: InMemoryChannelLayer, clock: ManualClock, sink: _MemorySink) -> None:
        self._clock, self._sink = clock, sink
        super().__init__(layer)

    def make_host(self, broadcaster: ChannelLayerBroadcaster, results: OrmResultSink) -> MatchHost:
        host = _KitHost(broadcaster, self._sink, self._clock)
        return host


@dataclass(eq=False)
class KitClient:
    """One scripted viewer: a seat (or a spectator) with the frames its socket would receive."""

    kit: MatchKit
    name: str
    seat: int | None
    channel: str
    codec: p.Codec
    seq: int = 0
    doc: dict[str, Any] | None = None
    tick: int = -1
    frames: list[dict[str, Any]] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    ended: dict[str, Any] | None = None
    connected: bool = True
    reader: p.FrameReader = field(default_factory=p.FrameReader)

    @property
    def view(self) -> Data:
        """The game part of this client's document (what `Game.view` gave its audience)."""
        if self.doc is None:
            raise AssertionError(f"{self.name} has no document yet: read a frame first (await kit.next_frame(client))")
        game: Data = self.doc["game"]
        return game

    @property
    def ack(self) -> int:
        """The last input seq of this client's seat that the state includes."""
        if self.doc is None or self.seat is None:
            return 0
        return int(self.doc["acks"][str(self.seat)])

    async def send(self, data: Mapping[str, Any], *, seq: int | None = None) -> int:
        """Send one input (validated like a socket frame); returns its seq."""
        return await self.kit.send_input(self, data, seq=seq)

    def _receive(self, message: dict[str, Any]) -> dict[str, Any] | None:
        frame: dict[str, Any] | None = self.reader.read(message["frames"][self.codec.subprotocol])
        if frame is None:  # a delta before the first snapshot: nothing to apply it to
            return None
        kind = frame["type"]
        if kind == "snapshot" and frame["tick"] >= self.tick:
            self.doc, self.tick = frame["doc"], frame["tick"]
        elif kind == "delta" and self.doc is not None and frame["base"] == self.tick:
            self.doc, self.tick = patch(self.doc, frame["delta"]), frame["tick"]
        elif kind == "delta" and frame["tick"] > self.tick:
            raise AssertionError(f"{self.name} missed a frame: holds tick {self.tick}, got a delta on {frame['base']}")
        elif kind == "error":
            self.errors.append(frame)
        elif kind == "match.ended":
            self.ended = frame
        self.frames.append(frame)
        return frame


class MatchKit:
    """A running match of one game with scripted clients; see the module docstring."""

    def __init__(self, game: Game[Any], *, match_id: str = "kit-match") -> None:
        self.game = game
        self.match_id = match_id
        self.layer = InMemoryChannelLayer(capacity=10_000)
        self.clock = ManualClock()
        self.worker = _KitWorker(self.layer, self.clock, _MemorySink(self))
        self.clients: list[KitClient] = []
        self.spectators: list[KitClient] = []
        self.ended: MatchEnded | None = None
        self.match: Match | None = None
        self._task: asyncio.Task[None] | None = None

    # ---- booting ------------------------------------------------------------------------

    @classmethod
    async def boot(
        cls,
        game: str | Game[Any],
        *,
        players: int | list[str] | None = None,
        options: Mapping[str, Any] | None = None,
        seed: int = 1,
        tick_rate: int | None = None,
        grace_seconds: float | None = None,
        spectators: int = 0,
        codec: str = "msgpack",
    ) -> MatchKit:
        """Start a match of a registered game (by name) or of a game instance, clients joined."""
        rules = _resolve(game)
        names = _player_names(rules, players)
        kit = cls(rules)
        match = Match(
            match_id=kit.match_id,
            game=rules,
            players=[Player(seat, name) for seat, name in enumerate(names)],
            options=rules.options(dict(options or {})),
            seed=seed,
            tick_rate=tick_rate,
            grace_seconds=grace_seconds,
        )
        kit.match = match
        kit.worker.serve(match)
        kit._task = kit.worker.host._tasks[match.match_id]
        for seat, name in enumerate(names):
            kit.clients.append(await kit._join(name, seat, codec))
        for n in range(spectators):
            await kit.spectate(name=f"spectator{n + 1}", codec=codec)
        return kit

    async def spectate(self, *, name: str | None = None, codec: str = "msgpack") -> KitClient:
        """Add a spectator (it gets the spectators' view: a full snapshot, then deltas)."""
        client = await self._join(name or f"spectator{len(self.spectators) + 1}", None, codec)
        self.spectators.append(client)
        return client

    async def _join(self, name: str, seat: int | None, codec: str) -> KitClient:
        channel = await self.layer.new_channel("kit.")
        client = KitClient(self, name, seat, channel, _codec(codec))
        await self._enter_groups(client)
        await self.worker.handle(self.match_id, {"type": "match.join", "viewer": seat, "reply": channel})
        return client

    async def _enter_groups(self, client: KitClient) -> None:
        await self.layer.group_add(match_group(self.match_id), client.channel)
        own = seat_group(self.match_id, client.seat) if client.seat is not None else spectator_group(self.match_id)
        await self.layer.group_add(own, client.channel)

    # ---- time ---------------------------------------------------------------------------

    @property
    def tick(self) -> int:
        """The number of ticks the match has run."""
        assert self.match is not None
        return self.match.tick

    @property
    def state(self) -> Any:
        """The game state (the object your `setup` returned)."""
        assert self.match is not None
        return self.match.state

    @property
    def finished(self) -> bool:
        """Whether the match has ended (and its result was recorded)."""
        return self._task is not None and self._task.done()

    async def next_tick(self, count: int = 1) -> int:
        """Run `count` ticks (inputs sent before are applied); returns the match's tick."""
        assert self._task is not None
        for _ in range(count):
            if self._task.done():
                self._raise_crash()
                raise AssertionError(f"the match is over (ended at tick {self.tick}: {self._reason()})")
            await self.clock.wait_parked(self._task)
            self.clock.release()
            await self.clock.wait_parked(self._task)
            self._raise_crash()
        return self.tick

    async def advance(self, seconds: float) -> int:
        """Run as many ticks as `seconds` of match time holds."""
        assert self.match is not None
        return await self.next_tick(max(1, round(seconds * self.match.tick_rate)))

    async def run_until(self, predicate: Callable[[], bool], *, max_ticks: int = MAX_TICKS) -> int:
        """Run ticks until `predicate()` holds (checked before each tick); returns the tick."""
        for _ in range(max_ticks):
            if predicate():
                return self.tick
            await self.next_tick()
        if predicate():
            return self.tick
        raise AssertionError(f"still not true after {max_ticks} ticks (tick {self.tick})")

    async def play_out(self, *, max_ticks: int = MAX_TICKS) -> MatchEnded:
        """Run ticks until the match ends, then read every client's frames; returns how it ended."""
        await self.run_until(lambda: self.finished, max_ticks=max_ticks)
        self._raise_crash()
        await self.read_all()
        assert self.ended is not None
        return self.ended

    # ---- frames and inputs --------------------------------------------------------------

    def pending(self, client: KitClient) -> int:
        """How many frames wait in the client's socket, unread."""
        queue = self.layer.channels.get(client.channel)
        return queue.qsize() if queue is not None else 0

    async def next_frame(self, client: KitClient) -> dict[str, Any]:
        """The client's next frame, decoded; if none is waiting, ticks run until one arrives."""
        while True:
            while not self.pending(client):
                if self.finished:
                    raise AssertionError(f"{client.name} has no more frames: the match ended at tick {self.tick}")
                await self.next_tick()
            frame = client._receive(await self.layer.receive(client.channel))
            if frame is not None:
                return frame

    async def read(self, client: KitClient) -> list[dict[str, Any]]:
        """Every frame waiting for the client (no tick runs)."""
        frames = []
        while self.pending(client):
            frame = client._receive(await self.layer.receive(client.channel))
            if frame is not None:
                frames.append(frame)
        return frames

    async def read_all(self) -> None:
        """Read every waiting frame of every client and spectator."""
        for client in (*self.clients, *self.spectators):
            await self.read(client)

    async def send_input(self, client: KitClient, data: Mapping[str, Any], *, seq: int | None = None) -> int:
        """Validate an input as the server does for a socket, and hand it to the match."""
        if client.seat is None:
            raise AssertionError(f"{client.name} is a spectator: spectators cannot send inputs")
        seq = client.seq + 1 if seq is None else seq
        wire = {"type": "match.input", "seq": seq, "data": dict(data)}
        msg = p.decode_client(client.codec, client.codec.dumps(wire))  # ProtocolError: a socket would get `error`
        client.seq = max(client.seq, seq)
        await self.worker.handle(
            self.match_id,
            {"type": "match.input", "seat": client.seat, "seq": msg.seq, "data": msg.data, "reply": client.channel},
        )
        return seq

    async def disconnect(self, client: KitClient) -> None:
        """The client's socket goes away: no more frames; its seat's grace period starts."""
        own = seat_group(self.match_id, client.seat) if client.seat is not None else spectator_group(self.match_id)
        for group in (match_group(self.match_id), own):
            await self.layer.group_discard(group, client.channel)
        await self.read(client)  # what was already sent is lost with the socket
        client.frames.clear()
        client.doc, client.tick, client.connected = None, -1, False
        if client.seat is not None:
            await self.worker.handle(
                self.match_id, {"type": "match.leave", "viewer": client.seat, "reply": client.channel}
            )

    async def reconnect(self, client: KitClient) -> None:
        """The client comes back (a new socket): its seat resumes, a full snapshot follows."""
        client.channel = await self.layer.new_channel("kit.")
        client.connected = True
        await self._enter_groups(client)
        await self.worker.handle(self.match_id, {"type": "match.join", "viewer": client.seat, "reply": client.channel})

    # ---- the end ------------------------------------------------------------------------

    async def close(self) -> None:
        """Stop the match (if it still runs) and the worker's tasks."""
        self.worker.match_finished(self.match_id)
        await self.worker.host.stop()

    async def __aenter__(self) -> MatchKit:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    def _raise_crash(self) -> None:
        crash = self.worker.host.crash  # type: ignore[attr-defined]
        if crash is not None:
            self.worker.host.crash = None  # type: ignore[attr-defined]
            raise crash

    def _reason(self) -> str:
        return self.ended.outcome.reason if self.ended is not None else "unknown"


class _Booting:
    """`boot_match(...)` is both awaitable and an async context manager."""

    def __init__(self, game: str | Game[Any], kwargs: dict[str, Any]) -> None:
        self.game, self.kwargs = game, kwargs
        self.kit: MatchKit | None = None

    def __await__(self) -> Any:
        return MatchKit.boot(self.game, **self.kwargs).__await__()

    async def __aenter__(self) -> MatchKit:
        self.kit = await MatchKit.boot(self.game, **self.kwargs)
        return self.kit

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.kit is not None:
            await self.kit.close()


def boot_match(game: str | Game[Any], **kwargs: Any) -> _Booting:
    """Boot a match: `kit = await boot_match(...)` (close it) or `async with boot_match(...) as kit`.

    Keywords: players (a count or names; default the game's minimum), options (cleaned by the
    game's `options()`), seed, tick_rate, grace_seconds, spectators (a count), codec
    ("msgpack" or "json").
    """
    return _Booting(game, kwargs)


def _resolve(game: str | Game[Any]) -> Game[Any]:
    if isinstance(game, Game):
        return game
    try:
        return GAMES[game]
    except KeyError:
        raise LookupError(f"no game called {game!r} is registered (registered: {', '.join(sorted(GAMES))})") from None


def _player_names(game: Game[Any], players: int | list[str] | None) -> list[str]:
    if players is None:
        players = game.min_players
    names = [f"player{n + 1}" for n in range(players)] if isinstance(players, int) else list(players)
    if not game.min_players <= len(names) <= game.max_players:
        raise ValueError(f"{game.name} takes {game.min_players} to {game.max_players} players, not {len(names)}")
    return names


def _codec(name: str) -> p.Codec:
    try:
        return p.CODECS[f"skirmish.v1.{name}"]
    except KeyError:
        raise ValueError(f"codec must be msgpack or json, not {name!r}") from None
