"""Games that exist only for tests (loaded into a test server with EXTRA_GAMES)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.game import Data, Game, Outcome, Player, Rejected, Viewer
from engine.rng import Rng


@dataclass(slots=True)
class HoseState:
    rng: Rng
    noise: str = ""
    ticks: int = 0


class Firehose(Game[HoseState]):
    """60 Hz, a fresh 48 kB of noise every tick: fills a slow client's buffers in seconds."""

    name = "firehose"
    min_players = 1
    max_players = 4
    tick_rate = 60

    def setup(self, players: Sequence[Player], options: Mapping[str, Any], seed: int) -> HoseState:
        return HoseState(rng=Rng(seed))

    def apply(self, state: HoseState, seat: int, data: Mapping[str, Any]) -> Rejected | None:
        return None

    def step(self, state: HoseState, dt: float) -> None:
        state.ticks += 1
        state.noise = "".join(f"{state.rng.next_u64():016x}" for _ in range(3000))

    def view(self, state: HoseState, viewer: Viewer) -> Data:
        return {"noise": state.noise, "ticks": state.ticks}

    def outcome(self, state: HoseState) -> Outcome | None:
        return None
