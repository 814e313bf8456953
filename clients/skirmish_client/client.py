"""SkirmishClient: one player's socket, typed, with deltas applied and automatic reconnects.

The client keeps what the server told it (`user`, `lobby`, `lobbies`, `match`, `view`) up to
date from a single reader task; requests are matched to replies by `rid`; state waits
(`until`) and streams (`messages()`, `snapshots()`) are registered before they wait, so a
frame that arrives between a reply and the next `await` is never missed.

On a dropped socket the client reconnects with backoff; the server restores the lobby and the
seat for the user's new socket (`lobby.state`, `match.started`, then a full `snapshot`), and the
input sequence carries on above the server's ack. The client itself subscribes the live lists
again and spectates the match it watched again; a replay does not survive a dropped socket (its
stream ends without an outcome).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from clients.skirmish_client.errors import ConnectionRefused, Disconnected, SkirmishError
from clients.skirmish_client.http import issue_token
from engine.delta import patch
from game_server import protocol as p

logger = logging.getLogger(__name__)

#: Close codes after which reconnecting cannot help.
FATAL_CLOSE_CODES = {
    p.CloseCode.WS_4001_UNAUTHENTICATED,
    p.CloseCode.WS_4003_FORBIDDEN,
    p.CloseCode.WS_4005_UNSUPPORTED_SUBPROTOCOL,
    p.CloseCode.WS_4010_REPLACED,
}
REPLY_TYPES = {"ok", "error", "lobby.list", "match.list", "pong"}
_server_adapter: TypeAdapter[Any] = TypeAdapter(p.ServerMessage)


@dataclass(frozen=True, slots=True)
class RawMessage:
    """A server message this version of the library has no model for (kept, not dropped)."""

    type: str
    data: dict[str, Any]


Message = BaseModel | RawMessage


@dataclass(slots=True)
class MatchView:
    """The match document at one tick, with every delta up to that tick applied."""

    match_id: str
    seat: int | None
    tick: int
    t: float
    doc: dict[str, Any]

    @property
    def game(self) -> dict[str, Any]:
        """The game's own part of the document."""
        return self.doc.get("game", {})

    def ack(self, seat: int | None = None) -> int:
        """The last input seq the server applied for `seat` (default: mine)."""
        seat = self.seat if seat is None else seat
        return int(self.doc.get("acks", {}).get(str(seat), 0)) if seat is not None else 0


class Stream:
    """An async iterator over items pushed by the client; registered when created."""

    def __init__(self, owner: SkirmishClient) -> None:
        self._owner = owner
        self._queue: asyncio.Queue[Any] = asyncio.Queue()
        self._done = False
        owner._streams.append(self)

    def push(self, item: Any) -> None:
        """Queue one item (internal)."""
        if not self._done:
            self._queue.put_nowait(item)

    def finish(self) -> None:
        """No more items after the queued ones (internal)."""
        if not self._done:
            self._done = True
            self._queue.put_nowait(_END)

    def close(self) -> None:
        """Stop receiving items."""
        self.finish()
        with contextlib.suppress(ValueError):
            self._owner._streams.remove(self)

    def __aiter__(self) -> Stream:
        return self

    async def __anext__(self) -> Any:
        item = await self._queue.get()
        if item is _END:
            with contextlib.suppress(ValueError):
                self._owner._streams.remove(self)
            raise StopAsyncIteration
        if isinstance(item, BaseException):
            raise item
        return item

    async def next(self, timeout: float | None = None) -> Any:
        """The next item, waiting at most `timeout` seconds."""
        return await asyncio.wait_for(self.__anext__(), timeout)

    def on_message(self, client: SkirmishClient, msg: Message) -> None:
        """Called for every frame (internal)."""
        self.push(msg)

    def on_view(self, client: SkirmishClient, view: MatchView) -> None:
        """Called when the match document changes (internal)."""

    def on_match_over(self, client: SkirmishClient, match_id: str) -> None:
        """Called when a match ends (internal)."""

    def on_fatal(self, exc: BaseException) -> None:
        """The client stopped for good (internal)."""
        self.push(exc)


class SnapshotStream(Stream):
    """The views of one match (the current one, or the next one to start), ending with it."""

    def __init__(self, owner: SkirmishClient) -> None:
        super().__init__(owner)
        self.match_id: str | None = owner.match.match_id if owner.match else None
        self.outcome: p.OutcomeInfo | None = None
        if owner.view is not None and owner.view.match_id == self.match_id:
            self.push(owner.view)

    def on_message(self, client: SkirmishClient, msg: Message) -> None:
        if isinstance(msg, p.MatchEndedMessage) and msg.match_id == self.match_id:
            self.outcome = msg.outcome

    def on_view(self, client: SkirmishClient, view: MatchView) -> None:
        if self.match_id is None:
            self.match_id = view.match_id
        if view.match_id == self.match_id:
            self.push(view)

    def on_match_over(self, client: SkirmishClient, match_id: str) -> None:
        if match_id == self.match_id:
            self.finish()


_END = object()


@dataclass
class _Waiter:
    predicate: Callable[[SkirmishClient], bool]
    future: asyncio.Future[None] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class SkirmishClient:
    """An asyncio Skirmish client for one user (bearer token auth, msgpack by default)."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        codec: str = p.MSGPACK,
        reconnect: bool = True,
        max_backoff: float = 5.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.ws_url = self.base_url.replace("http://", "ws://", 1).replace("https://", "wss://", 1) + "/ws/"
        self.token = token
        self.codec = p.CODECS[codec]
        self.reconnect = reconnect
        self.max_backoff = max_backoff
        self.user: p.UserInfo | None = None
        self.games: list[str] = []
        self.lobby: p.LobbyInfo | None = None
        self.lobbies: dict[int, p.LobbySummary] = {}
        self.live_matches: dict[str, p.LiveMatch] = {}
        self.replay_state: p.ReplayState | None = None
        self.match: p.MatchStarted | None = None
        self.view: MatchView | None = None
        self.last_outcome: p.MatchEndedMessage | None = None
        self.last_error: p.Error | None = None
        self.chat_log: list[p.LobbyChatMessage] = []
        self.latency_ms: float | None = None
        self.reconnects = 0
        self.seq = 0
        self._resume_seq = 0
        self._ws: ClientConnection | None = None
        self._reader = p.FrameReader()  # one per socket: compact deltas need the last snapshot's keys
        self._rid = 0
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._streams: list[Stream] = []
        self._waiters: list[_Waiter] = []
        self._list_filter: tuple[str | None, bool] | None = None
        self._live_filter: tuple[str | None] | None = None
        self._watching: tuple[str, str | None] | None = None  # (match id, code) of the live match I spectate
        self._resyncing = False
        self._closing = False
        self._fatal: BaseException | None = None
        self._connected = asyncio.Event()
        self._first: asyncio.Future[p.Welcome] | None = None
        self._task: asyncio.Task[None] | None = None

    # ---- lifecycle ----------------------------------------------------------------------

    @classmethod
    async def sign_in(cls, base_url: str, username: str, password: str, **kwargs: Any) -> SkirmishClient:
        """Get a token with username and password, then connect."""
        issued = await issue_token(base_url, username, password)
        client = cls(base_url, issued["token"], **kwargs)
        await client.connect()
        return client

    async def connect(self, timeout: float = 10.0) -> p.Welcome:
        """Open the socket and wait for `welcome` (raises ConnectionRefused or OSError)."""
        loop = asyncio.get_running_loop()
        self._first = loop.create_future()
        self._task = asyncio.create_task(self._run(), name="skirmish-client")
        return await asyncio.wait_for(self._first, timeout)

    async def close(self) -> None:
        """Close the socket for good (no reconnect); streams end."""
        self._closing = True
        if self._ws is not None:
            await self._ws.close()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for stream in list(self._streams):
            stream.finish()

    async def __aenter__(self) -> SkirmishClient:
        if self._task is None:
            await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def connected(self) -> bool:
        """True while a socket is open and welcomed."""
        return self._connected.is_set()

    async def drop_connection(self) -> None:
        """Abort the socket as a network failure would (the client reconnects by itself)."""
        if self._ws is not None:
            self._ws.transport.abort()

    # ---- requests -----------------------------------------------------------------------

    async def request(self, message: dict[str, Any], timeout: float = 10.0) -> Any:
        """Send a request with a fresh `rid`; its reply (`ok`, `lobby.list`, `pong`) or SkirmishError."""
        await self._wait_connected(timeout)
        self._rid += 1
        rid = self._rid
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[rid] = future
        try:
            await self._send({**message, "rid": rid})
            return await asyncio.wait_for(future, timeout)
        finally:
            self._pending.pop(rid, None)

    async def list_lobbies(self, game: str | None = None, free_only: bool = False) -> list[p.LobbySummary]:
        """The open public lobbies; `lobbies` stays up to date from then on."""
        self._list_filter = (game, free_only)
        reply = await self.request({"type": "lobby.list.subscribe", "game": game, "free_only": free_only})
        return list(reply.lobbies)

    async def unsubscribe_lobbies(self) -> None:
        """Stop the lobby list updates."""
        self._list_filter = None
        await self.request({"type": "lobby.list.unsubscribe"})

    async def create_lobby(
        self,
        name: str,
        game: str,
        *,
        max_players: int | None = None,
        private: bool = False,
        options: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Create a lobby and host it: {"lobby_id", "code"}; `lobby` is set when it returns."""
        msg: dict[str, Any] = {"type": "lobby.create", "name": name, "game": game, "private": private}
        if max_players is not None:
            msg["max_players"] = max_players
        if options:
            msg["options"] = options
        reply = await self.request(msg)
        await self.until(lambda c: c.lobby is not None and c.lobby.id == reply.data["lobby_id"])
        return reply.data

    async def join_lobby(self, *, code: str | None = None, lobby_id: int | None = None) -> int:
        """Join by join code or public lobby id; returns the lobby id once `lobby` is set."""
        msg: dict[str, Any] = {"type": "lobby.join"}
        if code is not None:
            msg["code"] = code.strip().upper()
        if lobby_id is not None:
            msg["lobby_id"] = lobby_id
        reply = await self.request(msg)
        joined = int(reply.data["lobby_id"])
        await self.until(lambda c: c.lobby is not None and c.lobby.id == joined)
        return joined

    async def leave_lobby(self) -> None:
        """Leave the current lobby."""
        await self.request({"type": "lobby.leave"})
        self.lobby = None

    async def set_ready(self, ready: bool = True) -> None:
        """Mark yourself ready (or not)."""
        await self.request({"type": "lobby.ready", "ready": ready})

    async def chat(self, text: str) -> None:
        """Say something in the lobby."""
        await self.request({"type": "lobby.chat", "text": text})

    async def start_match(self) -> str:
        """Host only: start the match; returns its id."""
        reply = await self.request({"type": "lobby.start"})
        return str(reply.data["match_id"])

    async def list_live_matches(self, game: str | None = None) -> list[p.LiveMatch]:
        """The public matches being played, newest first; `live_matches` stays up to date from then on."""
        self._live_filter = (game,)
        reply = await self.request({"type": "match.list.subscribe", "game": game})
        return list(reply.matches)

    async def unsubscribe_live_matches(self) -> None:
        """Stop the live match list updates."""
        self._live_filter = None
        await self.request({"type": "match.list.unsubscribe"})

    async def spectate(self, match_id: str, code: str | None = None) -> p.MatchStarted:
        """Watch a running match (a private one needs its lobby's join code); returns its `match.started`."""
        msg: dict[str, Any] = {"type": "match.spectate", "match_id": match_id}
        if code is not None:
            msg["code"] = code
        before = self.match
        await self.request(msg)
        self._watching = (match_id, code)
        await self.until(lambda c: c.match is not before and c.match is not None and c.match.match_id == match_id)
        assert self.match is not None
        return self.match

    async def unspectate(self) -> None:
        """Stop watching (a live match or a replay)."""
        await self.request({"type": "match.unspectate"})
        self._watching = None
        if self.match is not None:
            self._match_over(self.match.match_id)
        self.match = None

    async def replay(self, match_id: str, speed: float = 1.0) -> p.MatchStarted:
        """Watch a finished match again (speed 0.5, 1, 2 or 4); its views come through `snapshots()`.

        The replay starts at tick 0 and ends with `match.ended` carrying the stored outcome
        (`last_outcome`), or with an `error` `replay/mismatch` (`last_error`; the stream ends).
        """
        before = self.match
        await self.request({"type": "match.replay", "match_id": match_id, "speed": speed})
        self._watching = None
        await self.until(lambda c: c.match is not before and c.match is not None and c.match.match_id == match_id)
        assert self.match is not None
        return self.match

    async def replay_control(self, *, speed: float | None = None, paused: bool | None = None) -> p.ReplayState:
        """Change the replay's speed and/or pause or resume it; returns its new `match.replay.state`."""
        msg: dict[str, Any] = {"type": "match.replay.control"}
        if speed is not None:
            msg["speed"] = speed
        if paused is not None:
            msg["paused"] = paused
        self.replay_state = None
        await self.request(msg)
        await self.until(lambda c: c.replay_state is not None)
        assert self.replay_state is not None
        return self.replay_state

    def _end_replay(self) -> None:
        """Forget the replay being watched (its stream ends without an outcome)."""
        if self.match is not None and self.match.replay:
            old = self.match.match_id
            self.match, self.view = None, None
            self._match_over(old)

    async def ping(self) -> float:
        """Round trip time in milliseconds (also kept in `latency_ms`)."""
        sent = time.perf_counter()
        await self.request({"type": "ping", "t": time.time() * 1000})
        self.latency_ms = (time.perf_counter() - sent) * 1000
        return self.latency_ms

    async def send_input(self, data: dict[str, Any]) -> int:
        """Send one input for my seat with the next sequence number; returns the seq."""
        if not self.connected or self._ws is None:
            raise Disconnected("not connected; the input was not sent")
        self.seq += 1
        await self._send({"type": "match.input", "seq": self.seq, "data": data})
        return self.seq

    def awaiting_ack(self, view: MatchView | None = None) -> bool:
        """True while an input I sent since the last full snapshot is not yet applied."""
        view = view or self.view
        return view is not None and self.seq > self._resume_seq and view.ack() < self.seq

    async def resync(self) -> None:
        """Ask for a full snapshot of the current match."""
        self._resyncing = True
        await self._send({"type": "match.resync"})

    # ---- waiting ------------------------------------------------------------------------

    def messages(self) -> Stream:
        """Every server frame from now on, typed (an async iterator)."""
        return Stream(self)

    def snapshots(self) -> SnapshotStream:
        """Match views (deltas applied) of the current or next match, ending when it ends."""
        return SnapshotStream(self)

    async def until(self, predicate: Callable[[SkirmishClient], bool], timeout: float = 10.0) -> None:
        """Wait until `predicate(client)` holds (checked now and after every frame)."""
        if predicate(self):
            return
        if self._fatal is not None:
            raise self._fatal
        waiter = _Waiter(predicate)
        self._waiters.append(waiter)
        try:
            await asyncio.wait_for(asyncio.shield(waiter.future), timeout)
        finally:
            with contextlib.suppress(ValueError):
                self._waiters.remove(waiter)

    async def wait_match(self, timeout: float = 10.0) -> p.MatchStarted:
        """The current match, waiting for one to start."""
        await self.until(lambda c: c.match is not None, timeout)
        assert self.match is not None
        return self.match

    # ---- the socket ---------------------------------------------------------------------

    async def _wait_connected(self, timeout: float) -> None:
        if self._fatal is not None:
            raise self._fatal
        if not self._connected.is_set():
            await asyncio.wait_for(self._connected.wait(), timeout)

    async def _send(self, message: dict[str, Any]) -> None:
        ws = self._ws
        if ws is None or not self._connected.is_set():
            raise Disconnected("not connected")
        try:
            await ws.send(self.codec.dumps(message))
        except ConnectionClosed:
            raise Disconnected() from None

    async def _open(self) -> ClientConnection:
        return await connect(
            self.ws_url,
            subprotocols=[self.codec.subprotocol],  # type: ignore[list-item]
            additional_headers={"Authorization": f"Bearer {self.token}"},
            origin=self.base_url,  # type: ignore[arg-type]
            max_size=2**22,
            open_timeout=10,
        )

    async def _run(self) -> None:
        backoff = 0.1
        while not self._closing:
            try:
                ws = await self._open()
            except (OSError, TimeoutError, InvalidHandshake) as exc:
                if isinstance(exc, InvalidStatus) and exc.response.status_code in (401, 403):
                    self._stop(ConnectionRefused(exc.response.status_code, "the server refused the handshake"))
                    return
                if self._first is not None and not self._first.done() and not self.reconnect:
                    self._first.set_exception(exc)
                    return
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff)
                continue
            self._ws = ws
            self._reader = p.FrameReader()
            try:
                async for raw in ws:
                    self._on_frame(raw)
                    if self._connected.is_set():
                        backoff = 0.1
            except ConnectionClosed:
                pass
            code = ws.close_code
            reason = ws.close_reason or ""
            self._ws = None
            self._connected.clear()
            self._fail_pending(Disconnected())
            if self._closing:
                break
            if code in FATAL_CLOSE_CODES:
                self._stop(ConnectionRefused(int(code or 0), reason))
                return
            if not self.reconnect:
                self._stop(Disconnected(f"closed with {code}"))
                return
            self.reconnects += 1
            logger.info("socket closed (%s %s); reconnecting", code, reason)
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, self.max_backoff)

    def _stop(self, exc: BaseException) -> None:
        self._fatal = exc
        if self._first is not None and not self._first.done():
            self._first.set_exception(exc)
        for waiter in self._waiters:
            if not waiter.future.done():
                waiter.future.set_exception(exc)
        for stream in list(self._streams):
            stream.on_fatal(exc)

    def _fail_pending(self, exc: BaseException) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(exc)
        self._pending.clear()

    def _decode(self, raw: bytes | str) -> Message:
        try:
            data = self._reader.read(raw)
        except ValueError as exc:  # kept like an unknown message; a lost delta resyncs
            logger.warning("undecodable frame from the server: %s", exc)
            return RawMessage(type="undecodable", data={"error": str(exc)})
        if data is None:  # a delta before the first snapshot: nothing to apply it to
            return RawMessage(type="delta.early", data={})
        if not isinstance(data, dict):
            return RawMessage(type="undecodable", data={"error": "a frame that is not a map"})
        try:
            return _server_adapter.validate_python(data)
        except ValidationError:
            return RawMessage(type=str(data.get("type")), data=data)

    # ---- frames -------------------------------------------------------------------------

    def _on_frame(self, raw: bytes | str) -> None:
        msg = self._decode(raw)
        handler = getattr(self, "_on_" + msg.type.replace(".", "_"), None)  # type: ignore[union-attr]
        if handler is not None:
            handler(msg)
        rid = getattr(msg, "rid", None)
        if msg.type in REPLY_TYPES and rid is not None and rid in self._pending:  # type: ignore[union-attr]
            future = self._pending.pop(rid)
            if not future.done():
                if isinstance(msg, p.Error):
                    future.set_exception(SkirmishError(msg.code, msg.message, msg.field))
                else:
                    future.set_result(msg)
        for stream in list(self._streams):
            stream.on_message(self, msg)
        self._wake()

    def _wake(self) -> None:
        for waiter in list(self._waiters):
            if waiter.future.done():
                continue
            try:
                if waiter.predicate(self):
                    waiter.future.set_result(None)
            except Exception as exc:  # a broken predicate fails its own wait, not the reader
                waiter.future.set_exception(exc)

    def _on_welcome(self, msg: p.Welcome) -> None:
        self.user, self.games = msg.user, msg.games
        # The server restores the lobby and the seat right after `welcome`.
        self.lobby = None
        self.view = None
        self._resyncing = False
        self._connected.set()
        if self._first is not None and not self._first.done():
            self._first.set_result(msg)
        loop = asyncio.get_running_loop()
        if self._list_filter is not None:
            game, free_only = self._list_filter
            loop.create_task(self._send_quietly({"type": "lobby.list.subscribe", "game": game, "free_only": free_only}))
        if self._live_filter is not None:
            loop.create_task(self._send_quietly({"type": "match.list.subscribe", "game": self._live_filter[0]}))
        if self.match is not None and self.match.replay:
            self._end_replay()  # the server keeps no replay across sockets
        elif self.match is not None and self.match.seat is None and self._watching is not None:
            loop.create_task(self._spectate_again(*self._watching))

    async def _spectate_again(self, match_id: str, code: str | None) -> None:
        """After a reconnect: watch the same match again (its stream ends if it ended meanwhile)."""
        msg: dict[str, Any] = {"type": "match.spectate", "match_id": match_id}
        if code is not None:
            msg["code"] = code
        try:
            await self.request(msg)
        except (SkirmishError, TimeoutError):
            self._watching = None
            self._match_over(match_id)

    async def _send_quietly(self, message: dict[str, Any]) -> None:
        with contextlib.suppress(SkirmishError):
            await self._send(message)

    def _on_error(self, msg: p.Error) -> None:
        self.last_error = msg
        if msg.code == p.ErrorCode.REPLAY_MISMATCH and self.match is not None and self.match.replay:
            self._match_over(self.match.match_id)

    def _on_pong(self, msg: p.Pong) -> None:
        if msg.t is not None:
            self.latency_ms = max(0.0, time.time() * 1000 - msg.t)

    def _on_lobby_state(self, msg: p.LobbyState) -> None:
        self.lobby = msg.lobby
        if self.match is not None and self.match.seat is not None and msg.lobby.match_id is None:
            # The match we were seated in ended while the socket was away.
            self._match_over(self.match.match_id)

    def _on_lobby_left(self, msg: p.LobbyLeft) -> None:
        if self.lobby is not None and self.lobby.id == msg.lobby_id:
            self.lobby = None

    def _on_lobby_chat(self, msg: p.LobbyChatMessage) -> None:
        self.chat_log.append(msg)
        del self.chat_log[:-200]

    def _on_lobby_list(self, msg: p.LobbyList) -> None:
        self.lobbies = {lob.id: lob for lob in msg.lobbies}

    def _on_lobby_list_update(self, msg: p.LobbyListUpdate) -> None:
        if msg.op == "remove":
            self.lobbies.pop(msg.lobby.id, None)
        else:
            self.lobbies[msg.lobby.id] = msg.lobby

    def _on_match_list(self, msg: p.MatchList) -> None:
        self.live_matches = {m.match_id: m for m in msg.matches}

    def _on_match_list_update(self, msg: p.MatchListUpdate) -> None:
        if msg.op == "remove" or msg.match is None:
            self.live_matches.pop(msg.match_id, None)
        else:
            self.live_matches[msg.match_id] = msg.match

    def _on_match_replay_state(self, msg: p.ReplayState) -> None:
        self.replay_state = msg

    def _on_match_started(self, msg: p.MatchStarted) -> None:
        replaying = msg.replay or (self.match is not None and self.match.replay)
        if self.match is None or self.match.match_id != msg.match_id or replaying:
            self.view = None  # a replay always starts again at tick 0
        if msg.replay:
            self.replay_state = None
        if self.match is not None and self.match.replay:
            self._end_replay()  # something else replaces the replay watched so far
        self.match = msg

    def _on_snapshot(self, msg: p.Snapshot) -> None:
        if self.match is None:
            return
        if self.view is not None and msg.tick < self.view.tick:
            return
        self._resyncing = False
        self.view = MatchView(self.match.match_id, self.match.seat, msg.tick, msg.t, msg.doc)
        if self.match.seat is not None:
            self.seq = max(self.seq, self.view.ack())
            self._resume_seq = self.seq  # inputs sent before this full snapshot are settled or lost
        self._publish(self.view)

    def _on_delta(self, msg: p.Delta) -> None:
        if self.match is None:
            return
        if self.view is None or msg.base != self.view.tick:
            if not self._resyncing:
                self._resyncing = True
                asyncio.get_running_loop().create_task(self._send_quietly({"type": "match.resync"}))
            return
        self.view = MatchView(self.view.match_id, self.view.seat, msg.tick, msg.t, patch(self.view.doc, msg.delta))
        self._publish(self.view)

    def _on_match_ended(self, msg: p.MatchEndedMessage) -> None:
        self.last_outcome = msg
        if self._watching is not None and self._watching[0] == msg.match_id:
            self._watching = None
        self._match_over(msg.match_id)

    def _match_over(self, match_id: str) -> None:
        if self.match is not None and self.match.match_id == match_id:
            self.match = None
        for stream in list(self._streams):
            stream.on_match_over(self, match_id)

    def _publish(self, view: MatchView) -> None:
        for stream in list(self._streams):
            stream.on_view(self, view)
