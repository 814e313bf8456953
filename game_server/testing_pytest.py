"""Pytest fixtures for the testing kit (loaded by `-p game_server.testing_pytest` in pyproject's addopts).

    async def test_a_move(skirmish_match):
        kit = await skirmish_match("connect_four", players=2, seed=1)
        ...

Every match booted through the fixture is stopped when the test ends.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from game_server.testing import MatchKit


@pytest.fixture
async def skirmish_match() -> AsyncIterator[Callable[..., Awaitable[MatchKit]]]:
    """A factory: `await skirmish_match(game, players=..., options=..., seed=...)` boots a match."""
    from game_server.testing import MatchKit  # Django is configured by now

    kits: list[MatchKit] = []

    async def boot(game: Any, **kwargs: Any) -> MatchKit:
        kit = await MatchKit.boot(game, **kwargs)
        kits.append(kit)
        return kit

    yield boot
    for kit in kits:
        await kit.close()
