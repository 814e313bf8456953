"""One running match, sans-IO: seats, input queues, the tick, snapshots and deltas.

Three verbs (wsproto style): `receive_input(...)` queues an input, `advance()` runs one tick and
returns what must go out, `snapshot(viewer)` gives a full frame for a newcomer. Whoever hosts the
match owns the clock, the sockets and the database; nothing here waits or reads time.

Rules kept here (each one tested):
- Inputs carry a per-seat sequence number. A seq not above the last one received is stale and
  dropped; one more than MAX_SEQ_JUMP ahead is refused. At most `game.max_inputs_per_tick`
  inputs of a seat are applied per tick; a queue longer than INPUT_QUEUE drops its oldest input.
- Every frame carries, per seat, the last input seq processed (`acks`), so clients can predict
  and reconcile.
- The document a viewer sees is {"acks", "seats", "spectators", "game"} (`spectators`: how many
  watch; they never hold seats). Each tick produces, per audience,
  a delta against the previous tick's document of that audience (`base` = the previous tick).
  A client whose tick is not `base` asks for a full snapshot (resync). One document per audience:
  all seats share one when the game has no hidden information, else each seat has its own and
  spectators have theirs.
- A seat whose player is away keeps it for the grace period; then `game.drop` applies.
- The seed and the log of applied inputs and drops re-simulate the match exactly (replay.py).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain
from typing import Any, Literal

from engine.canon import state_hash
from engine.delta import diff, names
from engine.game import SPECTATOR, Data, Game, Outcome, Player, Rejected, Viewer

logger = logging.getLogger(__name__)

MAX_SEQ_JUMP = 1024
INPUT_QUEUE = 8

ALL = "all"
SPECTATORS = "spectators"
#: Who a frame is for: everybody, the spectators, or one seat.
Audience = str | int

SeatStatus = Literal["away", "connected", "dropped"]


@dataclass(frozen=True, slots=True)
class Frame:
    """A state frame for one audience: full (a document) or a delta against `base`."""

    audience: Audience
    tick: int
    full: bool
    body: Data
    base: int | None = None
    #: The match's key names (`delta.names` of its first documents): the compact wire form of
    #: deltas refers to keys by their place in this tuple.
    names: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class InputRejected:
    """An input of `seat` that was refused; only that seat is told."""

    seat: int
    seq: int
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class MatchEnded:
    """The match is over; emitted once, after the last frames."""

    tick: int
    outcome: Outcome
    state_hash: str


Outbound = Frame | InputRejected | MatchEnded


@dataclass(slots=True)
class Seat:
    player: Player
    status: SeatStatus = "away"
    away_since: int = 0
    last_seq: int = 0  # highest seq received
    ack: int = 0  # highest seq processed
    queue: deque[tuple[int, Data]] = field(default_factory=deque)


#: One entry of the replay log: [tick, seat, kind, seq, data]; kind is "input" or "drop".
#:
#: `Match.log` keeps each entry as a tuple, a flat data dict in it as (key, value, key, value...)
#: (`export_log` gives the JSON form). Tuples of atoms drop out of the garbage collector's
#: tracking; lists and dicts never do. A process hosting 100 arena matches logs 8,000 inputs a
#: second, and every full collection rescanned all of them: pauses grew past 250 ms within a
#: minute. Logs in either form replay the same.
#:
#: The flat data tuples are shared: a collection that finds an entry still holding a tracked tuple
#: keeps the entry tracked too (the collector examines the entry before the tuple inside it), so
#: every entry survived its first collections and was scanned again in the middle generation:
#: ~27,000 entries per middle collection at 100 arena matches, pauses of 4-12 ms. An entry whose
#: data tuple was seen before gets the earlier, already untracked one, and drops out of tracking at
#: its first collection. Shared only for exact str/int/bool/None values, keyed with their types
#: (1, 1.0 and True are equal as keys but not to a game), and at most SHARED_DATA_MAX of them.
LogEntry = Sequence[Any]
_ATOMS = frozenset((str, int, float, bool, type(None)))
_SHAREABLE = frozenset((str, int, bool, type(None)))
SHARED_DATA_MAX = 4096
_shared_data: dict[tuple[Any, ...], tuple[Any, ...]] = {}


def _compact(entry: LogEntry) -> tuple[Any, ...]:
    tick, seat, kind, seq, data = entry
    if type(data) is dict:
        flat = tuple(chain.from_iterable(data.items()))  # (k1, v1, k2, v2, ...)
        types = tuple(map(type, flat))
        if _ATOMS.issuperset(types[1::2]):
            data = flat
            if _SHAREABLE.issuperset(types):
                key = (flat, types)
                shared = _shared_data.get(key)
                if shared is not None:
                    data = shared
                elif len(_shared_data) < SHARED_DATA_MAX:
                    _shared_data[key] = flat
    return (tick, seat, kind, seq, data)


def _data(data: Any) -> Any:
    return dict(zip(data[::2], data[1::2], strict=True)) if type(data) is tuple else data


class Match:
    """A match of one game: feed it inputs, call advance() once per tick."""

    def __init__(
        self,
        *,
        match_id: str,
        game: Game[Any],
        players: Sequence[Player],
        options: Mapping[str, Any],
        seed: int,
        tick_rate: int | None = None,
        grace_seconds: float | None = None,
        spectator_delay: float = 0.0,
    ) -> None:
        self.match_id = match_id
        #: Seconds the host holds back the spectators' frames (carried here so checkpoints keep it).
        self.spectator_delay = spectator_delay
        self.spectators = 0
        self.game = game
        self.options = dict(options)
        self.seed = seed
        self.tick_rate = tick_rate or game.tick_rate
        if not 1 <= self.tick_rate <= 60:
            raise ValueError("tick rate must be between 1 and 60")
        self.dt = 1.0 / self.tick_rate
        grace = game.grace_seconds if grace_seconds is None else grace_seconds
        self.grace_ticks = round(grace * self.tick_rate)
        self.seats = {p.seat: Seat(player=p) for p in players}
        self.state: Any = game.setup(players, self.options, seed)
        self.tick = 0
        self.log: list[LogEntry] = []
        self.outcome: Outcome | None = None
        self._forced: Outcome | None = None
        self._docs: dict[Audience, Data] = self._documents()
        self.names = names(self._docs.values())

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Unpickle (cluster checkpoints); one made before a field existed gets its default."""
        self.__dict__.update(state)
        self.__dict__.setdefault("spectators", 0)
        self.__dict__.setdefault("spectator_delay", 0.0)
        if "names" not in state:
            self.names = names(self._docs.values())

    # ---- inputs and seats -------------------------------------------------------------

    def receive_input(self, seat: int, seq: int, data: Data) -> InputRejected | None:
        """Queue an input for the next tick, or say at once why it is refused."""
        s = self.seats.get(seat)
        if s is None:
            return InputRejected(seat, seq, "input/not_seated", "you have no seat in this match")
        if self.outcome is not None:
            return InputRejected(seat, seq, "match/ended", "the match is over")
        if s.status == "dropped":
            return InputRejected(seat, seq, "input/seat_dropped", "your seat was given up")
        if seq <= s.last_seq:
            return InputRejected(seat, seq, "input/stale_seq", f"seq {seq} is not above {s.last_seq}")
        if seq > s.last_seq + MAX_SEQ_JUMP:
            return InputRejected(seat, seq, "input/seq_too_far", f"seq jumps more than {MAX_SEQ_JUMP}")
        s.last_seq = seq
        s.queue.append((seq, data))
        if len(s.queue) > INPUT_QUEUE:
            old_seq, _ = s.queue.popleft()
            return InputRejected(seat, old_seq, "input/queue_full", "too many inputs queued; oldest dropped")
        return None

    def connect(self, seat: int) -> None:
        """The seat's player is (back) on a socket."""
        s = self.seats[seat]
        if s.status != "dropped":
            s.status = "connected"

    def disconnect(self, seat: int) -> None:
        """The seat's player lost the socket: the grace period starts now."""
        s = self.seats[seat]
        if s.status == "connected":
            s.status = "away"
            s.away_since = self.tick

    def spectator_join(self) -> None:
        """One more spectator watches (shown in the next frame's `spectators`)."""
        self.spectators += 1

    def spectator_leave(self) -> None:
        """A spectator stopped watching."""
        self.spectators = max(0, self.spectators - 1)

    def end(self, reason: str) -> None:
        """End the match at the next tick with no winner (e.g. a staff decision)."""
        self._forced = Outcome(placements={seat: 1 for seat in self.seats}, reason=reason)

    # ---- frames -----------------------------------------------------------------------

    def audience_of(self, viewer: Viewer) -> Audience:
        """Which shared document a viewer receives."""
        if not self.game.hidden_information:
            return ALL
        return SPECTATORS if viewer is SPECTATOR else viewer

    def audiences(self) -> list[Audience]:
        """Every audience that gets its own frame each tick."""
        if not self.game.hidden_information:
            return [ALL]
        return [*self.seats, SPECTATORS]

    def snapshot(self, viewer: Viewer) -> Frame:
        """A full frame of the current tick for one viewer (join, reconnect, resync)."""
        audience = self.audience_of(viewer)
        return Frame(audience, self.tick, True, self._docs[audience], names=self.names)

    def state_hash(self) -> str:
        """Hash of the game state (what a replay must reproduce)."""
        return state_hash(self.state)

    # ---- the tick ---------------------------------------------------------------------

    def advance(self) -> list[Outbound]:
        """Run one tick: apply queued inputs, apply grace rules, step, emit frames."""
        if self.outcome is not None:
            return []
        entries: list[LogEntry] = []
        for seat, s in self.seats.items():
            for _ in range(min(len(s.queue), self.game.max_inputs_per_tick)):
                seq, data = s.queue.popleft()
                entries.append((self.tick, seat, "input", seq, data))
            if s.status == "away" and self.tick - s.away_since >= self.grace_ticks:
                s.status = "dropped"
                s.queue.clear()
                entries.append((self.tick, seat, "drop", 0, None))
        out: list[Outbound] = list(self.run_tick(entries))
        out.extend(self._frames())
        self.outcome = self._forced or self.game.outcome(self.state) or self._abandoned()
        if self.outcome is not None:
            out.append(MatchEnded(self.tick, self.outcome, self.state_hash()))
        return out

    def export_log(self) -> list[list[Any]]:
        """The replay log as plain lists and dicts (what match records store, as JSON)."""
        return [[tick, seat, kind, seq, _data(data)] for tick, seat, kind, seq, data in self.log]

    def run_tick(self, entries: Sequence[LogEntry]) -> list[InputRejected]:
        """Apply one tick's log entries, then step. Live play and replays share this path."""
        rejected: list[InputRejected] = []
        for entry in entries:
            _, seat, kind, seq, data = entry
            if kind == "drop":
                self.game.drop(self.state, seat)
                self.log.append(_compact(entry))
                continue
            self.seats[seat].ack = max(self.seats[seat].ack, seq)
            result = self._apply(seat, _data(data))
            if result is None:
                self.log.append(_compact(entry))
            else:
                rejected.append(InputRejected(seat, seq, result.code, result.message))
        self.game.step(self.state, self.dt)
        self.tick += 1
        return rejected

    def _apply(self, seat: int, data: Data) -> Rejected | None:
        try:
            return self.game.apply(self.state, seat, data)
        except (TypeError, ValueError, KeyError) as exc:
            # A malformed input must never end the match: refuse it like an illegal move.
            logger.info("match %s: input of seat %s refused: %r", self.match_id, seat, exc)
            return Rejected("input/invalid", "this input is not valid for this game")

    def _abandoned(self) -> Outcome | None:
        if all(s.status == "dropped" for s in self.seats.values()):
            return Outcome(placements={seat: 1 for seat in self.seats}, reason="abandoned")
        return None

    def _documents(self) -> dict[Audience, Data]:
        envelope = {
            "acks": {str(seat): s.ack for seat, s in self.seats.items()},
            "seats": {str(seat): s.status for seat, s in self.seats.items()},
            "spectators": self.spectators,
        }
        docs: dict[Audience, Data] = {}
        for audience in self.audiences():
            viewer = SPECTATOR if audience in (ALL, SPECTATORS) else audience
            docs[audience] = {**envelope, "game": self.game.view(self.state, viewer)}  # type: ignore[arg-type]
        return docs

    def _frames(self) -> list[Frame]:
        new = self._documents()
        frames = [
            Frame(audience, self.tick, False, diff(self._docs[audience], doc), self.tick - 1, self.names)
            for audience, doc in new.items()
        ]
        self._docs = new
        return frames
