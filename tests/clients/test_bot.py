"""`clients.bot`: bots fill a lobby and play a whole match against each other over real sockets."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async

from clients.bot import BotConfig, run_bot
from lobby.models import Match
from tests.e2e.server import DaphneServer

pytestmark = pytest.mark.e2e


async def test_two_bots_host_join_and_finish_a_connect_four_match(server: DaphneServer):
    host = BotConfig(server=server.http, name="bot-host", host=True, game="connect_four", matches=1, think=0)
    guest = BotConfig(server=server.http, name="bot-guest", game="connect_four", matches=1, think=0, seed=7)
    played = await asyncio.wait_for(asyncio.gather(run_bot(host), run_bot(guest)), 90)
    assert played == [1, 1]
    match = await sync_to_async(Match.objects.get)()
    assert match.status == "finished" and match.game == "connect_four"
    assert match.reason in ("four_in_a_row", "draw")  # nobody timed out or forfeited
    assert "Traceback" not in server.logs()
