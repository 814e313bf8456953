"""Hidden information stays hidden: per-seat documents in the engine and per-seat groups on the wire."""

from __future__ import annotations

import json
from collections.abc import Iterator

from channels.layers import InMemoryChannelLayer

from engine.delta import patch
from engine.game import SPECTATOR, Player
from engine.match import ALL, SPECTATORS, Frame, Match
from game_server.engine_bridge import ChannelLayerBroadcaster, seat_group, spectator_group
from tests.engine.hands import Hands

SEATS = (0, 1, 2)


def hands_match(seed: int = 11) -> Match:
    match = Match(match_id="h", game=Hands(), players=[Player(s, f"p{s}") for s in SEATS], options={}, seed=seed)
    for seat in SEATS:
        match.connect(seat)
    return match


def play_some(match: Match, ticks: int) -> Iterator[list]:
    """Each seat plays its first card every third tick; yields what each advance emitted."""
    for k in range(ticks):
        if k % 3 == 0:
            for seat in SEATS:
                hand = match.state.hands[seat]
                if hand:
                    match.receive_input(seat, k + 1, {"play": hand[0]})
        yield match.advance()


def test_each_seat_and_the_spectators_get_their_own_audience():
    match = hands_match()
    assert match.audiences() == [0, 1, 2, SPECTATORS]
    assert ALL not in match.audiences()
    assert match.audience_of(1) == 1 and match.audience_of(SPECTATOR) == SPECTATORS


def test_frames_of_a_seat_hold_only_its_own_hand():
    match = hands_match()
    secret = {seat: set(hand) for seat, hand in match.state.hands.items()}
    docs = {a: match.snapshot(SPECTATOR if a == SPECTATORS else a).body for a in match.audiences()}
    for seat in SEATS:
        assert set(docs[seat]["game"]["hand"]) == secret[seat]
    assert "hand" not in docs[SPECTATORS]["game"]
    for out in play_some(match, 12):
        by_audience = {f.audience: f for f in out if isinstance(f, Frame)}
        assert set(by_audience) == {*SEATS, SPECTATORS}
        for audience, frame in by_audience.items():
            docs[audience] = patch(docs[audience], frame.body)
            text = json.dumps(docs[audience]) + json.dumps(frame.body)
            table = set(match.state.table)
            for other in SEATS:
                if other != audience:
                    leaked = {card for card in secret[other] - table if card in text}
                    assert not leaked, f"audience {audience} saw {leaked} of seat {other}"
        assert "hand" not in docs[SPECTATORS]["game"]
        assert docs[SPECTATORS]["game"]["counts"] == docs[0]["game"]["counts"]


async def test_the_broadcaster_sends_each_seat_group_only_its_own_frames():
    layer = InMemoryChannelLayer()
    broadcaster = ChannelLayerBroadcaster(layer)
    match = hands_match(seed=3)
    channels = {}
    for seat in SEATS:
        channels[seat] = await layer.new_channel()
        await layer.group_add(seat_group("h", seat), channels[seat])
    channels[SPECTATORS] = await layer.new_channel()
    await layer.group_add(spectator_group("h"), channels[SPECTATORS])
    secret = {seat: set(hand) for seat, hand in match.state.hands.items()}
    docs = {a: match.snapshot(SPECTATOR if a == SPECTATORS else a).body for a in channels}
    for out in play_some(match, 9):
        await broadcaster.publish(match, out)
        for audience, channel in channels.items():
            message = await layer.receive(channel)
            assert message["type"] == "match.frame"
            text = message["frames"]["skirmish.v1.json"]
            frame = json.loads(text)
            assert frame["type"] == "delta" and frame["tick"] == match.tick
            docs[audience] = patch(docs[audience], frame["delta"])
            expected = match.snapshot(SPECTATOR if audience == SPECTATORS else audience).body
            assert docs[audience] == expected
            for other in SEATS:
                if other != audience:
                    assert not {card for card in secret[other] - set(match.state.table) if card in text}
    for channel in channels.values():  # one frame per tick per audience, nothing more
        assert layer.channels.get(channel) is None or layer.channels[channel].qsize() == 0
