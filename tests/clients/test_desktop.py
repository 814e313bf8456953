"""The desktop client, headless (SDL_VIDEODRIVER=dummy): sign in, a lobby, a whole match against a bot."""

from __future__ import annotations

import asyncio
import os

import pytest
from asgiref.sync import sync_to_async

from clients.strategies import connect_four_column
from lobby.models import Match
from tests.e2e.accounts import PASSWORD, make_user
from tests.e2e.server import ROOT, DaphneServer

pytestmark = pytest.mark.e2e
pygame = pytest.importorskip("pygame")
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture
def headless(monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    monkeypatch.setenv("SDL_AUDIODRIVER", "dummy")
    ARTIFACTS.mkdir(exist_ok=True)


async def until(predicate, timeout: float = 15.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def click(app, button_id: str) -> None:
    await until(lambda: any(b.id == button_id and b.enabled for b in app.screen.buttons))
    pos = app.button(button_id).rect.center
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, button=1, pos=pos))


async def type_into(app, field_id: str, text: str) -> None:
    await until(lambda: any(f.id == field_id for f in app.screen.fields))
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, button=1, pos=app.field(field_id).rect.center))
    await until(lambda: app.focus is not None and app.focus.id == field_id)
    app.focus.value = ""
    pygame.event.post(pygame.event.Event(pygame.TEXTINPUT, text=text))
    await until(lambda: app.field(field_id).value == text)


async def test_desktop_signs_in_makes_a_lobby_adds_a_bot_and_plays_a_match(server: DaphneServer, headless):
    from clients.desktop.app import DesktopApp

    await sync_to_async(make_user)("dora")
    app = DesktopApp()
    runner = asyncio.create_task(app.run())
    try:
        await type_into(app, "server", server.http)
        await type_into(app, "username", "dora")
        await type_into(app, "password", PASSWORD)
        pygame.image.save(app.surface, str(ARTIFACTS / "desktop-signin.png"))
        await click(app, "signin")
        await until(lambda: app.client is not None and app.client.connected)

        await click(app, "create-connect_four")
        await until(lambda: app.client.lobby is not None)
        await click(app, "add-bot")
        await until(lambda: len(app.client.lobby.members) == 2 and all(m.ready for m in app.client.lobby.members[1:]))
        await click(app, "ready")
        await until(lambda: all(m.ready for m in app.client.lobby.members))
        pygame.image.save(app.surface, str(ARTIFACTS / "desktop-lobby.png"))
        await click(app, "start")
        await until(lambda: app.client.view is not None)

        # play by clicking the columns a sensible player would pick, until the match ends
        board = app.board_rect()
        shot = False
        while app.client.last_outcome is None:
            view = app.client.view
            col = connect_four_column(view.game, view.seat)
            if col is not None and not app.client.awaiting_ack(view):
                x = board.x + col * board.width // 7 + 10
                pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, button=1, pos=(x, board.centery)))
                await until(lambda: app.client.awaiting_ack() or app.client.last_outcome is not None)
                if not shot and sum(map(len, view.game["board"])) >= 4:
                    pygame.image.save(app.surface, str(ARTIFACTS / "desktop-match.png"))
                    shot = True
            await asyncio.sleep(0.05)
            assert app.running
        await until(lambda: any(b.id == "back" for b in app.screen.buttons))
        pygame.image.save(app.surface, str(ARTIFACTS / "desktop-result.png"))
        match = await sync_to_async(Match.objects.get)()
        assert match.status == "finished" and match.reason in ("four_in_a_row", "draw")
        await click(app, "back")
        await until(lambda: app.client.view is None)
    finally:
        app.running = False
        await runner
        await app.close()
    assert os.path.getsize(ARTIFACTS / "desktop-match.png") > 1000
    assert "Traceback" not in server.logs()


async def test_desktop_watches_a_bot_match_from_the_live_list(server: DaphneServer, headless):
    from clients.bot import BotConfig, run_bot
    from clients.desktop.app import DesktopApp

    await sync_to_async(make_user)("vera")
    host = BotConfig(server=server.http, name="bot-a", host=True, game="connect_four", matches=1, think=0.25)
    guest = BotConfig(server=server.http, name="bot-b", game="connect_four", matches=1, think=0.25, seed=3)
    app = DesktopApp(server.http, "vera", PASSWORD)
    runner = asyncio.create_task(app.run())
    try:
        await click(app, "signin")
        # Signed in once the live list is subscribed (sign_in clears its message then). The bots
        # start after that: a match they finished before would never be listed.
        await until(lambda: app.client is not None and app.client.connected and app.message == "")
        bots = asyncio.gather(run_bot(host), run_bot(guest))
        await until(lambda: bool(app.client.live_matches), timeout=30)  # the bots' match, pushed to the list
        (match_id,) = app.client.live_matches
        await until(lambda: any(b.id == f"watch-{match_id}" for b in app.screen.buttons))
        pygame.image.save(app.surface, str(ARTIFACTS / "desktop-live-list.png"))
        await click(app, f"watch-{match_id}")
        await until(lambda: app.client.view is not None and app.client.view.seat is None)
        await until(lambda: app.client.view.doc["spectators"] == 1)  # the count includes me
        await until(lambda: any(b.id == "stop-watching" for b in app.screen.buttons))
        pygame.image.save(app.surface, str(ARTIFACTS / "desktop-spectator.png"))
        await until(lambda: app.client.last_outcome is not None, timeout=60)  # watched to the end
        assert app.client.last_outcome.match_id == match_id
        await click(app, "back")
        await until(lambda: app.client.view is None and match_id not in app.client.live_matches)
    finally:
        app.running = False
        await runner
        await app.close()
    assert await asyncio.wait_for(bots, 30) == [1, 1]
    assert "Traceback" not in server.logs()
