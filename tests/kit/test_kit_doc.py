"""The kit example in docs/games.md runs as written, and a game's exception reaches the test."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from engine.games.connect_four import ConnectFour
from game_server.testing import boot_match

DOC = Path(__file__).resolve().parents[2] / "docs" / "games.md"


async def test_the_documented_kit_example_passes(skirmish_match):
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    source = next(b for b in blocks if "async def test_stacking_four_wins" in b)
    namespace: dict[str, Any] = {}
    exec(compile(source, str(DOC), "exec"), namespace)
    await namespace["test_stacking_four_wins"](skirmish_match)


class Broken(ConnectFour):
    name = "broken"

    def step(self, state: Any, dt: float) -> None:
        if state.moves:
            raise ZeroDivisionError("the rules divided by zero")


async def test_an_exception_in_the_game_is_raised_by_next_tick():
    async with boot_match(Broken(), seed=2) as kit:
        mover = next(c for c in kit.clients if c.seat == kit.state.turn)
        await kit.next_tick()
        await mover.send({"col": 1})
        with pytest.raises(ZeroDivisionError, match="divided by zero"):
            await kit.next_tick()
