"""A test-only game with hidden information: each seat holds a secret hand of cards."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.game import Data, Game, Outcome, Player, Rejected, Viewer
from engine.rng import Rng

HAND = 5


def card_name(n: int) -> str:
    """A card as a token that cannot be a substring of another card's token."""
    return f"<card{n}>"


@dataclass(slots=True)
class HandsState:
    hands: dict[int, list[str]]
    table: list[str] = field(default_factory=list)
    turns: int = 0


class Hands(Game[HandsState]):
    """Deal five secret cards to each seat; play one to the public table each turn."""

    name = "hands"
    min_players = 2
    max_players = 4
    hidden_information = True
    max_inputs_per_tick = 1

    def setup(self, players: Sequence[Player], options: Mapping[str, Any], seed: int) -> HandsState:
        rng = Rng(seed)
        deck = list(range(52))
        for i in range(len(deck) - 1, 0, -1):  # Fisher-Yates with the match's RNG
            j = rng.randint(0, i)
            deck[i], deck[j] = deck[j], deck[i]
        hands = {p.seat: [card_name(deck.pop()) for _ in range(HAND)] for p in players}
        return HandsState(hands=hands)

    def apply(self, state: HandsState, seat: int, data: Mapping[str, Any]) -> Rejected | None:
        card = data.get("play")
        if card not in state.hands[seat]:
            return Rejected("input/invalid", "you do not hold that card")
        state.hands[seat].remove(card)
        state.table.append(card)
        return None

    def step(self, state: HandsState, dt: float) -> None:
        state.turns += 1

    def view(self, state: HandsState, viewer: Viewer) -> Data:
        counts = {str(seat): len(hand) for seat, hand in state.hands.items()}
        mine = {} if viewer is None else {"hand": list(state.hands[viewer])}
        return {"counts": counts, "table": list(state.table), **mine}

    def outcome(self, state: HandsState) -> Outcome | None:
        if state.turns < 10_000:
            return None
        return Outcome(dict.fromkeys(state.hands, 1))
