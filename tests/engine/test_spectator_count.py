"""The engine counts spectators: they show in every audience's document, never as seats."""

from __future__ import annotations

from engine.delta import patch
from engine.game import Player
from engine.games.arena import Arena
from engine.host import MatchHost
from engine.match import Frame, Match


class Nowhere:
    async def publish(self, match, outbound) -> None: ...

    async def record(self, match, ended) -> None: ...


def test_spectators_join_and_leave_through_the_host_and_the_deltas_carry_the_count():
    game = Arena()
    match = Match(match_id="m", game=game, players=[Player(0, "a"), Player(1, "b")], options=game.options({}), seed=1)
    host = MatchHost(Nowhere(), Nowhere())
    host.matches["m"] = match
    doc = match.snapshot(0).body
    assert doc["spectators"] == 0
    first = host.join("m", None)
    host.join("m", None)
    assert first is not None and first.full
    frames = [o for o in match.advance() if isinstance(o, Frame)]
    doc = patch(doc, frames[0].body)
    assert doc["spectators"] == 2 and set(doc["seats"]) == {"0", "1"}  # not seats
    host.leave("m", None)
    host.leave("m", None)
    host.leave("m", None)  # one leave too many never goes below zero
    doc = patch(doc, [o for o in match.advance() if isinstance(o, Frame)][0].body)
    assert doc["spectators"] == 0
    assert match.seats[0].status == "away"  # a spectator leaving does not touch a seat
