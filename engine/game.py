"""The game interface: what a game developer implements.

A game is one small class of pure functions over a state object it owns. The engine calls
them; the game never reads a clock, `random`, the environment or a socket. Time arrives as
`dt`; randomness comes from an `engine.rng.Rng` kept inside the state, so the same seed and
the same inputs always give the same states (replays and tests need no sockets).

Must not import: django, channels, redis, msgpack, lobby, game_server.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

S = TypeVar("S")

#: A viewer is a seat number (a player) or None (a spectator).
Viewer = int | None
SPECTATOR: Viewer = None

#: What an input or a view is made of: plain data that both codecs can carry.
Data = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Player:
    """One seat of a match, as the game sees it."""

    seat: int
    name: str


@dataclass(frozen=True, slots=True)
class Rejected:
    """A typed refusal of one input; the state is unchanged when a game returns it."""

    code: str  # namespaced, e.g. "input/not_your_turn"
    message: str


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a finished game ended: placements (1 = first) and scores by seat."""

    placements: dict[int, int]
    scores: dict[int, float] = field(default_factory=dict)
    reason: str = "finished"

    @property
    def winners(self) -> list[int]:
        """The seats placed first (several on a draw)."""
        return sorted(seat for seat, place in self.placements.items() if place == 1)


class Game(Generic[S]):
    """Base class for games. Subclass it, set the class attributes, implement the methods.

    `apply` and `step` change `state` in place; `view` and `outcome` only read it.
    """

    name: ClassVar[str]
    title: ClassVar[str] = ""
    min_players: ClassVar[int] = 2
    max_players: ClassVar[int] = 2
    tick_rate: ClassVar[int] = 20  # ticks per second, 1..60
    grace_seconds: ClassVar[float] = 30.0  # how long a dropped player keeps the seat
    max_inputs_per_tick: ClassVar[int] = 1  # inputs applied per player per tick
    hidden_information: ClassVar[bool] = False  # True: each seat gets its own view

    def options(self, raw: Mapping[str, Any]) -> Data:
        """Validate and complete lobby options; raise ValueError with a clear message."""
        if raw:
            raise ValueError(f"{self.name} takes no options")
        return {}

    def setup(self, players: Sequence[Player], options: Mapping[str, Any], seed: int) -> S:
        """Return the initial state for these players."""
        raise NotImplementedError

    def apply(self, state: S, seat: int, data: Mapping[str, Any]) -> Rejected | None:
        """Apply one input of `seat`; return a Rejected (and change nothing) if illegal."""
        raise NotImplementedError

    def step(self, state: S, dt: float) -> None:
        """Advance the simulation by `dt` seconds (one tick)."""
        raise NotImplementedError

    def view(self, state: S, viewer: Viewer) -> Data:
        """What `viewer` may see: a seat's view or, for None, the spectators' view."""
        raise NotImplementedError

    def outcome(self, state: S) -> Outcome | None:
        """The outcome once the game is over, else None."""
        raise NotImplementedError

    def drop(self, state: S, seat: int) -> None:
        """The seat's grace period ran out: apply the game's rule (default: nothing)."""
