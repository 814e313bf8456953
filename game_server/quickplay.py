"""Quick play's IO shell: runs the matcher and starts the matches it makes.

The pairing rules are pure (`lobby.matchmaking`), the queue lives in the database
(`lobby.services.queue_*`), so any number of web processes can share it. Each process runs the
matcher for a game right after one of its sockets queues, and a ticker on its event loop runs it
every `Policy.interval` seconds while anyone is queued (windows widen with time, so waiting
players must be looked at again). Matchers in several processes never seat a player twice: each
locks the tickets it reads and skips the ones another holds.

A match made here starts the way `lobby.start` does: its MatchSpec goes to the engine channel,
and each player's socket (the user group) is told to enter the match.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from channels.layers import BaseChannelLayer

from game_server.db import db_call
from game_server.engine_bridge import ENGINE_CHANNEL, user_group
from lobby import selectors, services
from lobby.matchmaking import DEFAULT_POLICY, Policy

logger = logging.getLogger(__name__)

#: The matching policy of this process (tests swap it for a faster one).
POLICY: Policy = DEFAULT_POLICY

_ticker: dict[str, Any] = {}


def match_seats(spec: services.MatchSpec) -> dict[str, Any]:
    """The `match` payload consumers enter a match with."""
    return {
        "match_id": spec.match_id,
        "game": spec.game,
        "tick_rate": spec.tick_rate,
        "players": [{"seat": pl["seat"], "user": {"id": pl["user_id"], "name": pl["name"]}} for pl in spec.players],
    }


async def match_dispatch(layer: BaseChannelLayer, spec: services.MatchSpec) -> None:
    """Start a quick-play match on the engine and seat each of its players' sockets."""
    await layer.send(ENGINE_CHANNEL, {"type": "engine.start", "spec": spec.as_message()})
    seats = match_seats(spec)
    for player in spec.players:
        await layer.group_send(user_group(player["user_id"]), {"type": "queue.matched", "match": seats})


async def matcher_run(layer: BaseChannelLayer, game: str, policy: Policy | None = None) -> int:
    """Run the matcher once for `game` and start the matches it made; returns how many."""
    specs = await db_call(services.queue_match)(game=game, policy=policy or POLICY)
    for spec in specs:
        await match_dispatch(layer, spec)
    return len(specs)


async def _tick(layer: BaseChannelLayer, policy: Policy) -> None:
    while True:
        await asyncio.sleep(policy.interval)
        try:
            games = await db_call(selectors.queued_games)()
            if not games:
                if _ticker.pop("poked", False):
                    continue  # someone queued while we looked
                return
            for game in games:
                await matcher_run(layer, game, policy)
        except Exception:
            logger.exception("quick play: the matcher failed; trying again in %ss", policy.interval)


def ensure_matcher(layer: BaseChannelLayer, policy: Policy | None = None) -> None:
    """Run the periodic matcher on this event loop (once per process) until the queue is empty."""
    policy = policy or POLICY
    loop = asyncio.get_running_loop()
    _ticker["poked"] = True
    task: asyncio.Task[None] | None = _ticker.get("task")
    if task is not None and not task.done() and _ticker.get("loop") is loop:
        return
    _ticker.update(loop=loop, task=loop.create_task(_tick(layer, policy), name="skirmish-matcher"))
