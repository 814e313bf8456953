"""PlayerConsumer: one socket per signed-in user, for lobbies and matches.

Each handler makes one service call or one channel send, then replies. State changes are pushed
to the lobby's members through its group; match frames arrive pre-encoded from the engine and
are forwarded untouched.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, ClassVar

from engine.games import GAMES
from game_server import protocol as p
from game_server.consumers.base import ProtocolConsumer
from game_server.db import db_call
from game_server.engine_bridge import (
    ENGINE_CHANNEL,
    LOBBY_LIST_GROUP,
    ensure_local_worker,
    lobby_broadcast,
    lobby_group,
    match_channel,
    match_group,
    seat_group,
    send_lobby_state,
    spectator_group,
    user_group,
    with_payloads,
)
from game_server.quickplay import ensure_matcher, matcher_run
from game_server.replays import ReplaySession
from game_server.spectators import LIVE_LIST_GROUP, spectate_target
from lobby import selectors, services
from lobby.errors import LobbyError
from lobby.models import QueueEntry


def _restore(user: Any) -> tuple[dict[str, Any] | None, dict[str, Any] | None, QueueEntry | None]:
    """The user's lobby state, running-match seat and queue entry, for a (re)connecting socket
    (one trip to the database thread per handshake, not one per question). Most sockets have
    nothing to restore: asking whether there is costs a third of reading the rows (bench.seating)."""
    lobby = selectors.lobby_for_user(user=user) if selectors.in_lobby(user=user) else None
    seat = selectors.seat_for_user(user=user) if selectors.seated(user=user) else None
    entry = selectors.queue_entry_for_user(user=user) if selectors.queued(user=user) else None
    info = selectors.lobby_info(lobby=lobby) if lobby else None
    if seat is None:
        return info, None, entry
    match = seat.match
    return (
        info,
        {
            "match_id": str(match.pk),
            "game": match.game,
            "tick_rate": match.tick_rate,
            "seat": seat.seat,
            "players": selectors.match_players(match=match),
        },
        entry,
    )


def _lobby_list(game: str | None, free_only: bool) -> list[dict[str, Any]]:
    lobbies = selectors.lobby_list_open(game=game, free_only=free_only)
    return [selectors.lobby_summary(lobby=lobby) for lobby in lobbies]


class PlayerConsumer(ProtocolConsumer):
    """Lobbies, the lobby list and matches over one socket."""

    HANDLERS: ClassVar[dict[str, str]] = {
        "ping": "on_ping",
        "lobby.list.subscribe": "on_list_subscribe",
        "lobby.list.unsubscribe": "on_list_unsubscribe",
        "lobby.create": "on_lobby_create",
        "lobby.join": "on_lobby_join",
        "lobby.leave": "on_lobby_leave",
        "lobby.ready": "on_lobby_ready",
        "lobby.chat": "on_lobby_chat",
        "lobby.start": "on_lobby_start",
        "lobby.kick": "on_lobby_kick",
        "lobby.host": "on_lobby_host",
        "lobby.options": "on_lobby_options",
        "lobby.rematch": "on_lobby_rematch",
        "queue.join": "on_queue_join",
        "queue.leave": "on_queue_leave",
        "match.input": "on_match_input",
        "match.resync": "on_match_resync",
        "match.spectate": "on_match_spectate",
        "match.unspectate": "on_match_unspectate",
        "match.list.subscribe": "on_match_list_subscribe",
        "match.list.unsubscribe": "on_match_list_unsubscribe",
        "match.replay": "on_match_replay",
        "match.replay.control": "on_match_replay_control",
    }
    NOW_HANDLERS: ClassVar[dict[str, str]] = {"match.input": "input_now"}

    lobby_id: int | None = None
    match_id: str | None = None
    seat: int | None = None
    list_filter: tuple[str | None, bool] | None = None
    queue_game: str | None = None
    live_filter: str | None = None
    replay: ReplaySession | None = None
    replay_task: asyncio.Task[None] | None = None

    async def on_connect(self) -> None:
        ensure_local_worker()
        # A newer socket of the same user replaces the older ones (they close with 4010).
        await self.channel_layer.group_send(
            user_group(self.user.pk), {"type": "session.replaced", "channel": self.channel_name}
        )
        await self.join_group(user_group(self.user.pk))
        await self.send_message(
            p.Welcome(user=p.UserInfo(id=self.user.pk, name=self.user.get_username()), games=sorted(GAMES))
        )
        info, seat, entry = await db_call(_restore)(self.user)
        if info is not None:
            await self.enter_lobby(info["id"])
            await self.send_message(p.LobbyState(lobby=p.LobbyInfo(**info)))
        if seat is not None:
            await self.enter_match(seat, seat["seat"])
        if entry is not None:
            await self.enter_queue(entry.game, entry.enqueued_at.timestamp() * 1000)

    async def on_disconnect(self) -> None:
        self.stop_replay()
        if self.match_id is not None and self.seat is None:  # a spectator: the count goes down
            await self.channel_layer.send(
                match_channel(self.match_id), {"type": "match.leave", "viewer": None, "reply": self.channel_name}
            )
        if self.queue_game is not None:  # a queued player who goes away leaves the queue
            try:
                await db_call(services.queue_leave)(user=self.user)
            except LobbyError:
                pass  # matched meanwhile
        if self.match_id is not None and self.seat is not None:
            await self.channel_layer.send(
                match_channel(self.match_id),
                {"type": "match.leave", "viewer": self.seat, "reply": self.channel_name},
            )

    # ---- requests -----------------------------------------------------------------------

    async def on_ping(self, msg: p.Ping) -> None:
        await self.send_message(p.Pong(rid=msg.rid, t=msg.t, server_time=time.time() * 1000))

    async def on_list_subscribe(self, msg: p.LobbyListSubscribe) -> None:
        self.list_filter = (msg.game, msg.free_only)
        await self.join_group(LOBBY_LIST_GROUP)
        lobbies = await db_call(_lobby_list)(msg.game, msg.free_only)
        await self.send_message(p.LobbyList(rid=msg.rid, lobbies=[p.LobbySummary(**lob) for lob in lobbies]))

    async def on_list_unsubscribe(self, msg: p.LobbyListUnsubscribe) -> None:
        self.list_filter = None
        await self.leave_group(LOBBY_LIST_GROUP)
        await self.send_message(p.Ok(rid=msg.rid))

    async def on_lobby_create(self, msg: p.LobbyCreate) -> None:
        lobby, payloads = await db_call(with_payloads(services.lobby_create))(
            host=self.user,
            name=msg.name,
            game=msg.game,
            max_players=msg.max_players,
            private=msg.private,
            options=msg.options,
            spectator_delay=msg.spectator_delay,
        )
        await self.enter_lobby(lobby.pk)
        await self.send_message(p.Ok(rid=msg.rid, data={"lobby_id": lobby.pk, "code": lobby.code}))
        await send_lobby_state(self.channel_layer, lobby.pk, payloads)

    async def on_lobby_join(self, msg: p.LobbyJoin) -> None:
        lobby, payloads = await db_call(with_payloads(services.lobby_join))(
            user=self.user, lobby_id=msg.lobby_id, code=msg.code
        )
        await self.enter_lobby(lobby.pk)
        await self.send_message(p.Ok(rid=msg.rid, data={"lobby_id": lobby.pk}))
        await send_lobby_state(self.channel_layer, lobby.pk, payloads)

    async def on_lobby_leave(self, msg: p.LobbyLeave) -> None:
        lobby, payloads = await db_call(with_payloads(services.lobby_leave))(user=self.user)
        await self.leave_lobby(lobby.pk, "left")
        await self.send_message(p.Ok(rid=msg.rid))
        await send_lobby_state(self.channel_layer, lobby.pk, payloads)

    async def on_lobby_ready(self, msg: p.LobbyReady) -> None:
        lobby, payloads = await db_call(with_payloads(services.lobby_ready_set))(user=self.user, ready=msg.ready)
        await self.send_message(p.Ok(rid=msg.rid))
        await send_lobby_state(self.channel_layer, lobby.pk, payloads)

    async def on_lobby_chat(self, msg: p.LobbyChat) -> None:
        if self.lobby_id is None:
            raise LobbyError(p.ErrorCode.NOT_IN_LOBBY, "you are not in a lobby")
        line = p.LobbyChatMessage(
            lobby_id=self.lobby_id,
            user=p.UserInfo(id=self.user.pk, name=self.user.get_username()),
            text=msg.text,
            at=time.time() * 1000,
        )
        await self.send_message(p.Ok(rid=msg.rid))
        await self.channel_layer.group_send(
            lobby_group(self.lobby_id), {"type": "lobby.chat", "line": line.model_dump()}
        )

    async def on_lobby_start(self, msg: p.LobbyStart) -> None:
        spec = await db_call(services.lobby_start)(user=self.user)
        await self.send_message(p.Ok(rid=msg.rid, data={"match_id": spec.match_id}))
        await self.announce_lobby_match(spec)

    async def on_lobby_rematch(self, msg: p.LobbyRematch) -> None:
        result = await db_call(services.lobby_rematch)(user=self.user, accept=msg.accept)
        if result.left:
            await self.leave_lobby(result.lobby.pk, "declined")
        await self.send_message(p.Ok(rid=msg.rid, data={"match_id": result.spec.match_id} if result.spec else {}))
        if result.spec is not None:
            await self.announce_lobby_match(result.spec)
        else:
            await lobby_broadcast(self.channel_layer, result.lobby.pk)

    async def announce_lobby_match(self, spec: services.MatchSpec) -> None:
        """Start a lobby's match on the engine and seat its members' sockets (they get match.started)."""
        await self.channel_layer.send(ENGINE_CHANNEL, {"type": "engine.start", "spec": spec.as_message()})
        players = [{"seat": pl["seat"], "user": {"id": pl["user_id"], "name": pl["name"]}} for pl in spec.players]
        seats = {"match_id": spec.match_id, "game": spec.game, "tick_rate": spec.tick_rate, "players": players}
        await self.channel_layer.group_send(lobby_group(spec.lobby_id), {"type": "lobby.match", "match": seats})
        await lobby_broadcast(self.channel_layer, spec.lobby_id)

    async def on_lobby_kick(self, msg: p.LobbyKick) -> None:
        lobby, payloads = await db_call(with_payloads(services.lobby_kick))(host=self.user, user_id=msg.user_id)
        await self.channel_layer.group_send(user_group(msg.user_id), {"type": "lobby.kicked", "lobby_id": lobby.pk})
        await self.send_message(p.Ok(rid=msg.rid))
        await send_lobby_state(self.channel_layer, lobby.pk, payloads)

    async def on_lobby_host(self, msg: p.LobbyHost) -> None:
        lobby, payloads = await db_call(with_payloads(services.lobby_host_transfer))(
            host=self.user, user_id=msg.user_id
        )
        await self.send_message(p.Ok(rid=msg.rid))
        await send_lobby_state(self.channel_layer, lobby.pk, payloads)

    async def on_lobby_options(self, msg: p.LobbyOptions) -> None:
        lobby, payloads = await db_call(with_payloads(services.lobby_options_set))(
            host=self.user, options=msg.options, max_players=msg.max_players, spectator_delay=msg.spectator_delay
        )
        data: dict[str, Any] = {"options": lobby.options, "max_players": lobby.max_players}
        if msg.spectator_delay is not None:
            data["spectator_delay"] = lobby.spectator_delay
        await self.send_message(p.Ok(rid=msg.rid, data=data))
        await send_lobby_state(self.channel_layer, lobby.pk, payloads)

    async def on_queue_join(self, msg: p.QueueJoin) -> None:
        entry = await db_call(services.queue_join)(user=self.user, game=msg.game)
        await self.send_message(p.Ok(rid=msg.rid, data={"game": entry.game}))
        await self.enter_queue(entry.game, entry.enqueued_at.timestamp() * 1000)
        await matcher_run(self.channel_layer, entry.game)

    async def on_queue_leave(self, msg: p.QueueLeave) -> None:
        game = await db_call(services.queue_leave)(user=self.user)
        self.queue_game = None
        await self.send_message(p.Ok(rid=msg.rid))
        await self.send_message(p.QueueState(status="left", game=game))

    async def enter_queue(self, game: str, since: float) -> None:
        """Note the socket is queued, tell the client, keep this process's matcher running."""
        self.queue_game = game
        await self.send_message(p.QueueState(status="queued", game=game, since=since))
        ensure_matcher(self.channel_layer)

    async def on_match_input(self, msg: p.MatchInput | p.InputFrame) -> None:
        if self.match_id is not None and self.seat is None:
            raise LobbyError(p.ErrorCode.SPECTATING, "spectators cannot send inputs")
        if self.match_id is None or self.seat is None:
            raise LobbyError(p.ErrorCode.NOT_IN_MATCH, "you have no seat in a running match")
        await self.channel_layer.send(match_channel(self.match_id), self.input_message(msg))

    def input_now(self, msg: p.MatchInput | p.InputFrame) -> bool:
        """The input straight to an in-process match (False: not seated, or it must be queued)."""
        if self.match_id is None or self.seat is None:
            return False
        deliver = getattr(self.channel_layer, "deliver_now", None)
        return deliver is not None and deliver(match_channel(self.match_id), self.input_message(msg))

    def input_message(self, msg: p.MatchInput | p.InputFrame) -> dict[str, Any]:
        """What the match's channel gets for one input."""
        return {
            "type": "match.input",
            "seat": self.seat,
            "seq": msg.seq,
            "data": msg.data,
            "rid": msg.rid,
            "reply": self.channel_name,
        }

    async def on_match_resync(self, msg: p.MatchResync) -> None:
        if self.match_id is None:
            raise LobbyError(p.ErrorCode.NOT_IN_MATCH, "you are not in a match")
        await self.channel_layer.send(
            match_channel(self.match_id), {"type": "match.resync", "viewer": self.seat, "reply": self.channel_name}
        )

    # ---- lobby and match membership -----------------------------------------------------

    async def enter_lobby(self, lobby_id: int) -> None:
        if self.lobby_id is not None and self.lobby_id != lobby_id:
            await self.leave_group(lobby_group(self.lobby_id))
        self.lobby_id = lobby_id
        await self.join_group(lobby_group(lobby_id))

    async def leave_lobby(self, lobby_id: int, reason: str) -> None:
        await self.leave_group(lobby_group(lobby_id))
        self.lobby_id = None
        await self.send_message(p.LobbyLeft(lobby_id=lobby_id, reason=reason))

    async def enter_match(self, match: dict[str, Any], seat: int | None) -> None:
        """Join the match's groups (before asking for the snapshot, so no tick is missed).

        Players join `match.<id>` and their seat's group; spectators only the spectators' group,
        whose frames (and end) come after the lobby's spectator delay."""
        self.match_id, self.seat = match["match_id"], seat
        # match.started goes out first: with FANOUT=direct, frames are written as soon as we join.
        await self.send_message(
            p.MatchStarted(
                match_id=self.match_id,
                game=match["game"],
                seat=seat,
                players=[p.SeatInfo(**pl) for pl in match["players"]],
                tick_rate=match["tick_rate"],
                spectator_delay=match.get("spectator_delay", 0) if seat is None else 0,
            )
        )
        if seat is not None:
            await self.join_group(match_group(self.match_id))
            await self.join_group(seat_group(self.match_id, seat))
        else:
            await self.join_group(spectator_group(self.match_id))
        await self.channel_layer.send(
            match_channel(self.match_id), {"type": "match.join", "viewer": seat, "reply": self.channel_name}
        )

    # ---- channel-layer events -----------------------------------------------------------

    async def session_replaced(self, event: dict[str, Any]) -> None:
        if event["channel"] != self.channel_name:
            if self.match_id is not None and self.seat is None:
                await self.stop_spectating()  # a spectator's count goes down; the new socket may watch again
            self.match_id = None  # the newer socket owns the seat now
            self.queue_game = None  # ... and the queue ticket
            await self.close(p.CloseCode.WS_4010_REPLACED, "signed in on another socket")

    async def lobby_state(self, event: dict[str, Any]) -> None:
        if event["lobby"]["id"] == self.lobby_id:
            await self.send_message(p.LobbyState(lobby=p.LobbyInfo(**event["lobby"])))

    async def lobby_chat(self, event: dict[str, Any]) -> None:
        await self.send_message(p.LobbyChatMessage(**event["line"]))

    async def lobby_list_update(self, event: dict[str, Any]) -> None:
        if self.list_filter is None:
            return
        game, free_only = self.list_filter
        summary = event["lobby"]
        if game and summary["game"] != game:
            return
        op = event["op"]
        if (
            free_only
            and op == "upsert"
            and (summary["status"] != "open" or summary["players"] >= summary["max_players"])
        ):
            op = "remove"
        await self.send_message(p.LobbyListUpdate(op=op, lobby=p.LobbySummary(**summary)))

    async def lobby_kicked(self, event: dict[str, Any]) -> None:
        if event["lobby_id"] == self.lobby_id:
            await self.leave_lobby(event["lobby_id"], "kicked")

    async def queue_matched(self, event: dict[str, Any]) -> None:
        match = event["match"]
        seat = next((pl["seat"] for pl in match["players"] if pl["user"]["id"] == self.user.pk), None)
        if seat is not None:
            self.queue_game = None
            await self.send_message(p.QueueState(status="matched", game=match["game"]))
            await self.enter_match(match, seat)

    async def lobby_match(self, event: dict[str, Any]) -> None:
        match = event["match"]
        seat = next((pl["seat"] for pl in match["players"] if pl["user"]["id"] == self.user.pk), None)
        if seat is not None:
            await self.enter_match(match, seat)

    async def match_frame(self, event: dict[str, Any]) -> None:
        await self.send_raw(event["frames"][self.codec.subprotocol], droppable=event.get("droppable", False))

    async def match_ended(self, event: dict[str, Any]) -> None:
        await self.send_raw(event["frames"][self.codec.subprotocol])
        if event["match_id"] == self.match_id:
            for group in [g for g in self.groups if g.startswith(f"match.{self.match_id}")]:
                await self.leave_group(group)
            self.match_id, self.seat = None, None

    # ---- spectating ---------------------------------------------------------------------

    async def on_match_spectate(self, msg: p.MatchSpectate) -> None:
        if self.match_id is not None and self.seat is not None:
            raise LobbyError(p.ErrorCode.SEATED, "you are playing a match")
        target = await db_call(spectate_target)(user=self.user, match_id=msg.match_id, code=msg.code)
        self.stop_replay()
        if self.match_id is not None:
            await self.stop_spectating()
        await self.send_message(p.Ok(rid=msg.rid, data={"match_id": target["match_id"]}))
        await self.enter_match(target, None)

    async def on_match_unspectate(self, msg: p.MatchUnspectate) -> None:
        if self.replay is not None:
            self.stop_replay()
            await self.send_message(p.Ok(rid=msg.rid))
            return
        if self.match_id is None or self.seat is not None:
            raise LobbyError(p.ErrorCode.NOT_IN_MATCH, "you are not spectating a match")
        await self.stop_spectating()
        await self.send_message(p.Ok(rid=msg.rid))

    async def stop_spectating(self) -> None:
        """Leave the spectated match's groups and tell its engine (the spectator count goes down)."""
        for group in [g for g in self.groups if g.startswith(f"match.{self.match_id}")]:
            await self.leave_group(group)
        if self.match_id is not None:
            await self.channel_layer.send(
                match_channel(self.match_id), {"type": "match.leave", "viewer": None, "reply": self.channel_name}
            )
        self.match_id = None

    # ---- the live match list ------------------------------------------------------------

    async def on_match_list_subscribe(self, msg: p.MatchListSubscribe) -> None:
        self.live_filter = msg.game or ""
        await self.join_group(LIVE_LIST_GROUP)
        rows = await db_call(selectors.live_matches)(game=msg.game)
        await self.send_message(p.MatchList(rid=msg.rid, matches=[p.LiveMatch(**row) for row in rows]))

    async def on_match_list_unsubscribe(self, msg: p.MatchListUnsubscribe) -> None:
        self.live_filter = None
        await self.leave_group(LIVE_LIST_GROUP)
        await self.send_message(p.Ok(rid=msg.rid))

    async def match_list_update(self, event: dict[str, Any]) -> None:
        if self.live_filter is None:
            return
        row = event["match"]
        if self.live_filter and row is not None and row["game"] != self.live_filter:
            return
        match = p.LiveMatch(**row) if row is not None else None
        await self.send_message(p.MatchListUpdate(op=event["op"], match_id=event["match_id"], match=match))

    # ---- replays ------------------------------------------------------------------------

    async def on_match_replay(self, msg: p.MatchReplay) -> None:
        if self.match_id is not None and self.seat is not None:
            raise LobbyError(p.ErrorCode.SEATED, "you are playing a match")
        source = await db_call(selectors.replay_source)(match_id=msg.match_id, viewer_id=self.user.pk)
        if source is None or source["game"] not in GAMES:
            raise LobbyError(p.ErrorCode.REPLAY_NOT_FOUND, "no finished match with that id that you may watch")
        self.stop_replay()
        if self.match_id is not None:
            await self.stop_spectating()
        session = ReplaySession(source, msg.speed, self.send_message)
        await self.send_message(p.Ok(rid=msg.rid, data={"match_id": source["match_id"], "ticks": source["ticks"]}))
        await self.send_message(
            p.MatchStarted(
                match_id=source["match_id"],
                game=source["game"],
                seat=None,
                players=[p.SeatInfo(**pl) for pl in source["players"]],
                tick_rate=source["tick_rate"],
                replay=True,
            )
        )
        await self.send_message(session.state())
        self.replay = session
        self.replay_task = asyncio.get_running_loop().create_task(self._run_replay(session))

    async def _run_replay(self, session: ReplaySession) -> None:
        try:
            await session.run()
        finally:
            if self.replay is session:
                self.replay, self.replay_task = None, None

    async def on_match_replay_control(self, msg: p.MatchReplayControl) -> None:
        if self.replay is None:
            raise LobbyError(p.ErrorCode.NOT_REPLAYING, "you are not watching a replay")
        self.replay.control(speed=msg.speed, paused=msg.paused)
        await self.send_message(p.Ok(rid=msg.rid))
        await self.send_message(self.replay.state())

    def stop_replay(self) -> None:
        """Stop the replay this socket watches, if any."""
        if self.replay_task is not None:
            self.replay_task.cancel()
        self.replay, self.replay_task = None, None
