"""One example of every message, for docs/protocol.md and the round-trip tests.

Adding a message type? Add its example here, then regenerate the docs:
`python -m game_server.protocol docs docs/protocol.md` (a test fails while they disagree).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from game_server.protocol import messages as m

_alice = m.UserInfo(id=1, name="alice")
_bob = m.UserInfo(id=2, name="bob")
_lobby = m.LobbyInfo(
    id=7,
    name="Friday night",
    game="connect_four",
    host_id=1,
    max_players=2,
    private=True,
    code="K7QX2M",
    options={"turn_seconds": 30.0},
    status="open",
    members=[m.Member(user=_alice, ready=True, host=True), m.Member(user=_bob, ready=False, host=False)],
    rematch=m.RematchOffer(match_id="0b6f5c1e-9a7d-4f7e-8a1b-2c3d4e5f6a7b", players=[1, 2], accepted=[1]),
)
_summary = m.LobbySummary(
    id=7, name="Friday night", game="connect_four", host="alice", players=1, max_players=2, status="open"
)

_live = m.LiveMatch(
    match_id="7c1e4f0a-3b2d-4c5e-8f9a-0b1c2d3e4f5a",
    game="arena",
    mode="lobby",
    players=[m.LivePlayer(seat=0, user=_alice, rating=21.4), m.LivePlayer(seat=1, user=_bob, rating=None)],
    started_at=1732470000000.0,
    elapsed_seconds=42.5,
    spectators=3,
    spectator_delay=10,
)

CLIENT_EXAMPLES: list[BaseModel] = [
    m.Ping(type="ping", rid=1, t=1732470000000.0),
    m.LobbyListSubscribe(type="lobby.list.subscribe", rid=2, game="connect_four", free_only=True),
    m.LobbyListUnsubscribe(type="lobby.list.unsubscribe", rid=3),
    m.LobbyCreate(
        type="lobby.create", rid=4, name="Friday night", game="connect_four", private=True, options={"turn_seconds": 30}
    ),
    m.LobbyJoin(type="lobby.join", rid=5, code="K7QX2M"),
    m.LobbyLeave(type="lobby.leave", rid=6),
    m.LobbyReady(type="lobby.ready", rid=7, ready=True),
    m.LobbyChat(type="lobby.chat", rid=8, text="good luck!"),
    m.LobbyStart(type="lobby.start", rid=9),
    m.LobbyKick(type="lobby.kick", rid=12, user_id=2),
    m.LobbyHost(type="lobby.host", rid=13, user_id=2),
    m.LobbyOptions(type="lobby.options", rid=14, options={"turn_seconds": 20}, max_players=2, spectator_delay=10),
    m.LobbyRematch(type="lobby.rematch", rid=21, accept=True),
    m.QueueJoin(type="queue.join", rid=15, game="arena"),
    m.QueueLeave(type="queue.leave", rid=16),
    m.MatchInput(type="match.input", rid=10, seq=12, data={"col": 3}),
    m.MatchResync(type="match.resync", rid=11),
    m.MatchSpectate(type="match.spectate", rid=12, match_id="7c1e4f0a-3b2d-4c5e-8f9a-0b1c2d3e4f5a"),
    m.MatchUnspectate(type="match.unspectate", rid=13),
    m.MatchListSubscribe(type="match.list.subscribe", rid=17, game="arena"),
    m.MatchListUnsubscribe(type="match.list.unsubscribe", rid=18),
    m.MatchReplay(type="match.replay", rid=19, match_id="7c1e4f0a-3b2d-4c5e-8f9a-0b1c2d3e4f5a", speed=2.0),
    m.MatchReplayControl(type="match.replay.control", rid=20, paused=True),
]

SERVER_EXAMPLES: list[BaseModel] = [
    m.Welcome(user=_alice, games=["arena", "connect_four"]),
    m.Ok(rid=4, data={"lobby_id": 7, "code": "K7QX2M"}),
    m.Error(rid=5, code="lobby/full", message="this lobby is full"),
    m.Pong(rid=1, t=1732470000000.0, server_time=1732470000003.2),
    m.LobbyState(lobby=_lobby),
    m.LobbyLeft(lobby_id=7, reason="left"),
    m.LobbyChatMessage(lobby_id=7, user=_bob, text="good luck!", at=1732470000100.0),
    m.LobbyList(rid=2, lobbies=[_summary]),
    m.LobbyListUpdate(op="upsert", lobby=_summary),
    m.QueueState(status="queued", game="arena", since=1732470000000.0),
    m.MatchStarted(
        match_id="0b6f5c1e9a7d4f7e8a1b2c3d4e5f6a7b",
        game="connect_four",
        seat=0,
        players=[m.SeatInfo(seat=0, user=_alice), m.SeatInfo(seat=1, user=_bob)],
        tick_rate=10,
    ),
    m.MatchList(rid=17, matches=[_live]),
    m.MatchListUpdate(op="upsert", match_id=_live.match_id, match=_live),
    m.ReplayState(match_id="7c1e4f0a-3b2d-4c5e-8f9a-0b1c2d3e4f5a", tick=120, ticks=1200, speed=2.0, paused=False),
    m.Snapshot(
        tick=40,
        t=1732470004000.0,
        doc={
            "acks": {"0": 2, "1": 1},
            "seats": {"0": "connected", "1": "connected"},
            "spectators": 3,
            "game": {"board": [[0], [1], [0], [], [], [], []], "turn": 1, "turn_left": 27.5},
        },
        keys=["acks", "board", "game", "seats", "spectators", "turn", "turn_left"],
    ),
    m.Delta(
        tick=41,
        base=40,
        t=1732470004100.0,
        delta={
            "sub": {
                "acks": {"add": {"1": 1}},
                "game": {"set": {"board": [[0], [1], [0], [1], [], [], []], "turn": 0, "turn_left": 30.0}},
            }
        },
    ),
    m.MatchEndedMessage(
        match_id="0b6f5c1e9a7d4f7e8a1b2c3d4e5f6a7b",
        tick=212,
        outcome=m.OutcomeInfo(
            placements={"0": 1, "1": 2}, scores={"0": 1.0, "1": 0.0}, reason="four_in_a_row", winners=[0]
        ),
        state_hash="9f2c4e1a7b3d5c60",
    ),
]


def example_payload(message: BaseModel) -> dict[str, Any]:
    """The message as plain data (what the codecs carry)."""
    return message.model_dump(mode="json", exclude_none=message.__class__.__name__ in _CLIENT_NAMES)


_CLIENT_NAMES = {type(msg).__name__ for msg in CLIENT_EXAMPLES}
