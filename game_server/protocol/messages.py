"""Every message on the wire, as pydantic models: a discriminated union on `type` each way.

Client messages are strict: extra fields are refused, numbers are bounded and finite, strings
and lists have maximum lengths. A request may carry `rid` (a client-chosen request id); the
reply (`ok`) or `error` frame echoes it.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictBool,
    StrictFloat,
    StrictInt,
    StringConstraints,
)

MAX_NAME = 40
MAX_CHAT = 200
MAX_GAME = 32
MAX_OPTIONS = 16
# The limits of ids, keys and scalar values (codecs.decode_input checks inputs to the same ones).
INT32_MAX = 2**31 - 1
MAX_SHORT_STR = 32
MAX_KEY = 24
KEY_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
MAX_FLOAT = 1e9
MAX_INPUT_KEYS = 8

Rid = Annotated[int, Field(ge=0, le=INT32_MAX)]
Id = Annotated[int, Field(ge=1, le=2**53)]
Seq = Annotated[int, Field(ge=1, le=INT32_MAX)]
ShortStr = Annotated[str, StringConstraints(max_length=MAX_SHORT_STR)]
Key = Annotated[str, StringConstraints(min_length=1, max_length=MAX_KEY, pattern=KEY_PATTERN)]
Scalar = (
    StrictBool
    | Annotated[StrictInt, Field(ge=-INT32_MAX - 1, le=INT32_MAX)]
    | Annotated[StrictFloat, Field(ge=-MAX_FLOAT, le=MAX_FLOAT, allow_inf_nan=False)]
    | ShortStr
    | None
)
Options = Annotated[dict[Key, Scalar], Field(max_length=MAX_OPTIONS)]
InputData = Annotated[dict[Key, Scalar], Field(max_length=MAX_INPUT_KEYS)]


def plain_text(value: str) -> str:
    """NFC-normalized text without control, format (bidi overrides, zero-width) or private-use
    characters, which can spoof names or hide text in a chat."""
    value = unicodedata.normalize("NFC", value)
    for char in value:
        if char != "\u200d" and unicodedata.category(char) in ("Cc", "Cf", "Co", "Cs", "Cn"):  # ZWJ: emoji
            raise ValueError(f"character U+{ord(char):04X} is not allowed")
    return value


Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_NAME), AfterValidator(plain_text)
]
ChatText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_CHAT), AfterValidator(plain_text)
]
Code = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{6}$")]
#: Seconds (0-30) spectators see a lobby's matches behind the players.
SpectatorDelay = Annotated[int, Field(ge=0, le=30)]
#: Replay speeds.
SPEEDS = (0.5, 1.0, 2.0, 4.0)


def replay_speed(value: float) -> float:
    """One of SPEEDS."""
    if value not in SPEEDS:
        raise ValueError("speed must be 0.5, 1, 2 or 4")
    return float(value)


Speed = Annotated[float, AfterValidator(replay_speed)]


class ClientModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)

    rid: Rid | None = None


# ---- client -> server ------------------------------------------------------------------


class Ping(ClientModel):
    """Round-trip check; the server answers `pong` with the same `t`."""

    type: Literal["ping"]
    t: Annotated[float, Field(ge=0, le=1e13, allow_inf_nan=False)] | None = None


class LobbyListSubscribe(ClientModel):
    """Receive the open lobbies now (`lobby.list`) and every change after (`lobby.list.update`)."""

    type: Literal["lobby.list.subscribe"]
    game: Annotated[str, StringConstraints(max_length=MAX_GAME)] | None = None
    free_only: StrictBool = False


class LobbyListUnsubscribe(ClientModel):
    """Stop receiving lobby list updates."""

    type: Literal["lobby.list.unsubscribe"]


class LobbyCreate(ClientModel):
    """Create a lobby and become its host."""

    type: Literal["lobby.create"]
    name: Name
    game: Annotated[str, StringConstraints(min_length=1, max_length=MAX_GAME)]
    max_players: Annotated[int, Field(ge=1, le=64)] | None = None
    private: StrictBool = False
    options: Options = Field(default_factory=dict)
    spectator_delay: SpectatorDelay = 0


class LobbyJoin(ClientModel):
    """Join a lobby by id (public lobbies) or by its join code (any lobby)."""

    type: Literal["lobby.join"]
    lobby_id: Id | None = None
    code: Code | None = None


class LobbyLeave(ClientModel):
    """Leave your lobby; the host role passes on, an empty lobby closes."""

    type: Literal["lobby.leave"]


class LobbyReady(ClientModel):
    """Mark yourself ready (or not) to start."""

    type: Literal["lobby.ready"]
    ready: StrictBool


class LobbyChat(ClientModel):
    """Say something to your lobby."""

    type: Literal["lobby.chat"]
    text: ChatText


class LobbyStart(ClientModel):
    """Host only: start the match once enough members are ready."""

    type: Literal["lobby.start"]


class LobbyKick(ClientModel):
    """Host only: remove a member from the lobby (they may not rejoin it)."""

    type: Literal["lobby.kick"]
    user_id: Id


class LobbyHost(ClientModel):
    """Host only: hand the host role to another member."""

    type: Literal["lobby.host"]
    user_id: Id


class LobbyOptions(ClientModel):
    """Host only, between matches: change the game options (seat count, spectator delay); readiness resets."""

    type: Literal["lobby.options"]
    options: Options | None = None
    max_players: Annotated[int, Field(ge=1, le=64)] | None = None
    spectator_delay: SpectatorDelay | None = None


class LobbyRematch(ClientModel):
    """After a match: play again (`accept: true`; once every member has, the same game and options start) or leave."""

    type: Literal["lobby.rematch"]
    accept: StrictBool = True


class QueueJoin(ClientModel):
    """Quick play: wait for a match of `game` against players of similar rating."""

    type: Literal["queue.join"]
    game: Annotated[str, StringConstraints(min_length=1, max_length=MAX_GAME)]


class QueueLeave(ClientModel):
    """Leave the quick-play queue."""

    type: Literal["queue.leave"]


class MatchInput(ClientModel):
    """One input for your seat; `seq` increases by at least one each time."""

    type: Literal["match.input"]
    seq: Seq
    data: InputData


class MatchResync(ClientModel):
    """Ask for a full snapshot (after a gap in ticks)."""

    type: Literal["match.resync"]


MatchId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")]


class MatchSpectate(ClientModel):
    """Watch a running match: a public one by id, a private one with its lobby's join code."""

    type: Literal["match.spectate"]
    match_id: MatchId
    code: Code | None = None


class MatchUnspectate(ClientModel):
    """Stop watching the match you spectate (or replay)."""

    type: Literal["match.unspectate"]


class MatchListSubscribe(ClientModel):
    """Receive the public matches in progress now (`match.list`) and every change after (`match.list.update`)."""

    type: Literal["match.list.subscribe"]
    game: Annotated[str, StringConstraints(max_length=MAX_GAME)] | None = None


class MatchListUnsubscribe(ClientModel):
    """Stop receiving live match list updates."""

    type: Literal["match.list.unsubscribe"]


class MatchReplay(ClientModel):
    """Watch a finished match again (public, or one you played) at 0.5, 1, 2 or 4 times its speed."""

    type: Literal["match.replay"]
    match_id: MatchId
    speed: Speed = 1.0


class MatchReplayControl(ClientModel):
    """Change the speed of, pause or resume (`paused`) the replay you watch."""

    type: Literal["match.replay.control"]
    speed: Speed | None = None
    paused: StrictBool | None = None


ClientMessage = Annotated[
    Ping
    | LobbyListSubscribe
    | LobbyListUnsubscribe
    | LobbyCreate
    | LobbyJoin
    | LobbyLeave
    | LobbyReady
    | LobbyChat
    | LobbyStart
    | LobbyKick
    | LobbyHost
    | LobbyOptions
    | LobbyRematch
    | QueueJoin
    | QueueLeave
    | MatchInput
    | MatchResync
    | MatchSpectate
    | MatchUnspectate
    | MatchListSubscribe
    | MatchListUnsubscribe
    | MatchReplay
    | MatchReplayControl,
    Field(discriminator="type"),
]


# ---- server -> client ------------------------------------------------------------------


class ServerModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UserInfo(ServerModel):
    id: int
    name: str


class Welcome(ServerModel):
    """First frame after the handshake: who you are and what the server speaks."""

    type: Literal["welcome"] = "welcome"
    user: UserInfo
    protocol: int = 1
    games: list[str]


class Ok(ServerModel):
    """The request `rid` succeeded; `data` holds its result, if any."""

    type: Literal["ok"] = "ok"
    rid: int | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class Error(ServerModel):
    """A request failed (or a message was refused); nothing it asked for was applied."""

    type: Literal["error"] = "error"
    rid: int | None = None
    code: str
    message: str
    field: str | None = None
    seq: int | None = None  # the input seq an input error is about


class Pong(ServerModel):
    """Answer to `ping`."""

    type: Literal["pong"] = "pong"
    rid: int | None = None
    t: float | None = None
    server_time: float


class Member(ServerModel):
    user: UserInfo
    ready: bool
    host: bool


class RematchOffer(ServerModel):
    """The "play again" offer after `match_id` ended: its players still here, and who accepted."""

    match_id: str
    players: list[int]  # user ids
    accepted: list[int]  # user ids


class LobbyInfo(ServerModel):
    id: int
    name: str
    game: str
    host_id: int
    max_players: int
    private: bool
    code: str | None = None  # only for members
    options: dict[str, Any]
    spectator_delay: int = 0
    status: str
    members: list[Member]
    match_id: str | None = None
    rematch: RematchOffer | None = None  # after a match: the "play again" offer


class LobbyState(ServerModel):
    """Your lobby changed (or you joined it): its whole state."""

    type: Literal["lobby.state"] = "lobby.state"
    lobby: LobbyInfo


class LobbyLeft(ServerModel):
    """You are no longer in the lobby (left, kicked, or it closed)."""

    type: Literal["lobby.left"] = "lobby.left"
    lobby_id: int
    reason: str


class LobbyChatMessage(ServerModel):
    """A chat line in your lobby."""

    type: Literal["lobby.chat"] = "lobby.chat"
    lobby_id: int
    user: UserInfo
    text: str
    at: float


class LobbySummary(ServerModel):
    id: int
    name: str
    game: str
    host: str
    players: int
    max_players: int
    status: str


class LobbyList(ServerModel):
    """The open public lobbies (answer to `lobby.list.subscribe`)."""

    type: Literal["lobby.list"] = "lobby.list"
    rid: int | None = None
    lobbies: list[LobbySummary]


class LobbyListUpdate(ServerModel):
    """A lobby appeared or changed (`upsert`) or went away (`remove`)."""

    type: Literal["lobby.list.update"] = "lobby.list.update"
    op: Literal["upsert", "remove"]
    lobby: LobbySummary


class QueueState(ServerModel):
    """Quick play: `queued` for `game` (since `since`, ms), `left`, or `matched` (`match.started` follows)."""

    type: Literal["queue.state"] = "queue.state"
    status: Literal["queued", "left", "matched"]
    game: str
    since: float | None = None


class SeatInfo(ServerModel):
    seat: int
    user: UserInfo


class MatchStarted(ServerModel):
    """You are in a match: your seat (None when spectating), the players, the tick rate.

    `spectator_delay`: seconds a spectator's frames lag the players'; `replay`: this is a replay."""

    type: Literal["match.started"] = "match.started"
    match_id: str
    game: str
    seat: int | None
    players: list[SeatInfo]
    tick_rate: int
    spectator_delay: int = 0
    replay: bool = False


class LivePlayer(ServerModel):
    seat: int
    user: UserInfo
    rating: float | None  # the displayed rating in this game (None: never rated)


class LiveMatch(ServerModel):
    match_id: str
    game: str
    mode: str
    players: list[LivePlayer]
    started_at: float  # ms since the epoch
    elapsed_seconds: float  # when this row was made; add the time since
    spectators: int
    spectator_delay: int


class MatchList(ServerModel):
    """The public matches in progress (answer to `match.list.subscribe`)."""

    type: Literal["match.list"] = "match.list"
    rid: int | None = None
    matches: list[LiveMatch]


class MatchListUpdate(ServerModel):
    """A match started or changed (`upsert`: its spectator count) or ended (`remove`: `match` is None)."""

    type: Literal["match.list.update"] = "match.list.update"
    op: Literal["upsert", "remove"]
    match_id: str
    match: LiveMatch | None = None


class ReplayState(ServerModel):
    """Where the replay you watch is: tick of `ticks`, speed, paused (sent on start and on each change)."""

    type: Literal["match.replay.state"] = "match.replay.state"
    match_id: str
    tick: int
    ticks: int
    speed: float
    paused: bool


class Snapshot(ServerModel):
    """The whole document at `tick`: {"acks", "seats", "spectators", "game"}. `t`: server time (ms).

    `keys`: the match's key names, which compact msgpack deltas refer to by position."""

    type: Literal["snapshot"] = "snapshot"
    tick: int
    t: float
    doc: dict[str, Any]
    keys: list[str] | None = None


class Delta(ServerModel):
    """What changed from tick `base` to `tick`; apply only if you hold `base`, else resync."""

    type: Literal["delta"] = "delta"
    tick: int
    base: int
    t: float
    delta: dict[str, Any]
    #: The match's key names: set, the msgpack codec sends the delta in its compact form.
    _names: tuple[str, ...] = PrivateAttr(default=())


class OutcomeInfo(ServerModel):
    placements: dict[str, int]
    scores: dict[str, float]
    reason: str
    winners: list[int]


class MatchEndedMessage(ServerModel):
    """The match is over; the result has been (or is being) saved."""

    type: Literal["match.ended"] = "match.ended"
    match_id: str
    tick: int
    outcome: OutcomeInfo
    state_hash: str | None = None  # of the final game state (a replay's is verified against the stored one)


ServerMessage = Annotated[
    Welcome
    | Ok
    | Error
    | Pong
    | LobbyState
    | LobbyLeft
    | LobbyChatMessage
    | LobbyList
    | LobbyListUpdate
    | QueueState
    | MatchStarted
    | MatchList
    | MatchListUpdate
    | ReplayState
    | Snapshot
    | Delta
    | MatchEndedMessage,
    Field(discriminator="type"),
]
