"""Spectating: who may watch which running match, the spectators' delayed feed, the live match list.

A spectator joins one group of the match, `match.<id>.spectators` (players are in `match.<id>` and
their seat's group). Every tick the broadcaster hands the spectators' frame (the `all` frame of a
game without hidden information, the `spectators` frame of a game with it), already encoded once
per codec, to the match's `SpectatorFeed`, which holds it back `spectator_delay` seconds and then
sends it to the whole group with one `group_send`: one encoded frame per tick for all spectators.
The engine answers a spectator's `match.join` (viewer None) with a full snapshot of the tick the
feed released last, so a newcomer sees no more than the others. The end of the match reaches the
spectators after the last held frame.

The live match list: `match.list.subscribe` answers with the public running matches and joins
the group LIVE_LIST_GROUP, which gets `upsert` when a match starts or its spectator count changes
and `remove` when it ends.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

from channels.layers import BaseChannelLayer
from django.contrib.auth.models import AbstractBaseUser

from engine.delta import patch
from engine.game import Data
from engine.match import SPECTATORS, Frame
from game_server.db import db_call
from game_server.protocol import ErrorCode
from lobby import selectors, services
from lobby.errors import LobbyError
from lobby.models import Match

LIVE_LIST_GROUP = "matches.live"
#: Encoded frames of one message, by subprotocol.
Encoded = dict[str, bytes | str]


@dataclass(frozen=True, slots=True)
class Held:
    """A spectators' frame waiting for its release time."""

    due: float
    frame: Frame
    encoded: Encoded


class SpectatorFeed:
    """The spectators' frames of one match, released `delay` seconds after the players got them.

    Sans-IO: times are passed in. `doc`/`tick` are the spectators' document at the last released
    tick (what a newcomer's snapshot shows); None while unknown (a match resumed elsewhere with a
    delay, until its first full frame is released). Without a delay they are not kept (the
    match's own spectator view is that document): `doc` stays as it was given.

    Frames are released when a later tick is published (`due` is called once per tick), so a frame
    goes out between `delay` and `delay` + one tick after the players'. `margin` (half a tick, when
    there is a delay) keeps a frame from going out a few milliseconds early when that tick runs
    a little earlier in its slot than the held one did: the delay holds as a lower bound.
    """

    def __init__(self, delay: float, doc: Data | None, tick: int, margin: float = 0.0) -> None:
        self.delay = delay
        self.margin = margin if delay > 0 else 0.0
        self.doc = doc
        self.tick = tick
        self.held: deque[Held] = deque()
        self.names: tuple[str, ...] = ()  # the match's key names, for the snapshot's `keys`

    def push(self, frame: Frame, encoded: Encoded, now: float) -> None:
        """Hold a frame the players got at `now`."""
        self.held.append(Held(now + self.delay + self.margin, frame, encoded))
        self.names = frame.names

    def due(self, now: float) -> list[Held]:
        """The frames whose time has come, oldest first; the released document follows them."""
        out: list[Held] = []
        while self.held and self.held[0].due <= now:
            item = self.held.popleft()
            frame = item.frame
            if self.delay and frame.full:
                self.doc, self.tick = frame.body, frame.tick
            elif self.delay and self.doc is not None and frame.base == self.tick:
                self.doc, self.tick = patch(self.doc, frame.body), frame.tick
            out.append(item)
        return out

    def next_due(self) -> float | None:
        """When the oldest held frame is due (None: nothing held)."""
        return self.held[0].due if self.held else None

    def snapshot(self) -> Frame | None:
        """A full frame of the last released tick, for a new spectator (None while unknown)."""
        if self.doc is None:
            return None
        return Frame(SPECTATORS, self.tick, True, self.doc, names=self.names)


def spectate_target(*, user: AbstractBaseUser, match_id: str, code: str | None) -> dict[str, Any]:
    """The running match `user` may watch, as `match.started` needs it; LobbyError otherwise."""
    match = Match.objects.select_related("lobby").filter(pk=match_id, status=Match.Status.RUNNING).first()
    if match is None:
        raise LobbyError(ErrorCode.MATCH_NOT_FOUND, "no such running match")
    if match.is_private and (code is None or match.lobby is None or match.lobby.code != code):
        raise LobbyError(ErrorCode.MATCH_PRIVATE, "this match is private: give its lobby's join code")
    if selectors.seated(user=user):
        raise LobbyError(ErrorCode.SEATED, "you are playing a match")
    return {
        "match_id": str(match.pk),
        "game": match.game,
        "tick_rate": match.tick_rate,
        "players": selectors.match_players(match=match),
        "spectator_delay": match.spectator_delay,
    }


def live_entry(
    match_id: str, *, ended: bool = False, spectators: int | None = None
) -> tuple[dict[str, Any] | None, bool]:
    """What the live list needs to hear of a match: its row (None once it `ended` or is not
    running) and whether it is public. Saves the spectator count first when given. One trip to
    the database thread; a private match, never listed, costs one small query."""
    if spectators is not None:
        services.match_spectators_set(match_id=match_id, count=spectators)
    if not selectors.match_is_public(match_id=match_id):
        return None, False
    return (None if ended else selectors.live_match(match_id=match_id)), True


async def live_list_changed(
    layer: BaseChannelLayer, match_id: str, *, ended: bool = False, spectators: int | None = None
) -> None:
    """Tell the live list's subscribers a match started, changed or `ended` (public matches only);
    save its spectator count first when given."""
    row, public = await db_call(live_entry)(match_id, ended=ended, spectators=spectators)
    if row is not None:
        await layer.group_send(
            LIVE_LIST_GROUP, {"type": "match.list.update", "op": "upsert", "match_id": match_id, "match": row}
        )
    elif public:
        await layer.group_send(
            LIVE_LIST_GROUP, {"type": "match.list.update", "op": "remove", "match_id": match_id, "match": None}
        )
