"""The browser client in Debian's Chromium (Playwright) against a real daphne.

Skipped when no Chromium is installed, unless SKIRMISH_REQUIRE_BROWSER=1 (CI sets it), in
which case a missing browser fails loudly. Screenshots go to test-artifacts/ (gitignored).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.server import ROOT, DaphneServer

pytestmark = pytest.mark.e2e

CHROMIUM = os.environ.get("SKIRMISH_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = ROOT / "test-artifacts"
PASSWORD = "a-long-enough-pass-42"


def _why_no_browser() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e .[dev])"
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        return f"no Chromium at {CHROMIUM} (apt-get install -y chromium)"
    return None


@pytest.fixture
def browser() -> Iterator[object]:
    """A headless Chromium, or a skip (a failure when SKIRMISH_REQUIRE_BROWSER=1)."""
    reason = _why_no_browser()
    if reason:
        if os.environ.get("SKIRMISH_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser tests are required but {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


class Player:
    """One person in their own browser context, with the page's console errors recorded."""

    def __init__(self, browser: object, server: DaphneServer, name: str, viewport: dict[str, int] | None = None):
        self.name = name
        self.context = browser.new_context(viewport=viewport or {"width": 1200, "height": 860})  # type: ignore[attr-defined]
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda msg: msg.type == "error" and self.errors.append(f"{msg.text} {msg.location}"))
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.set_default_timeout(15_000)
        self.server = server

    def sign_up(self) -> None:
        page = self.page
        page.goto(f"{self.server.http}/")
        page.click("#signup-link")
        page.fill("#id_username", self.name)
        page.fill("#id_password1", PASSWORD)
        page.fill("#id_password2", PASSWORD)
        page.click("#signup-submit")
        page.wait_for_selector("#conn-status[data-state=online]")
        assert page.text_content("#username") == self.name

    def shot(self, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def my_turn(self) -> bool:
        return self.page.text_content("#turn-status") == "Your turn: pick a column"

    def close(self) -> None:
        self.context.close()


def play_connect_four(winner: Player, loser: Player) -> None:
    """The first mover stacks column 1, the other column 7, until four in a row."""
    moves = {winner.name: 0, loser.name: 0}
    for _ in range(7):
        for player, col in ((winner, 0), (loser, 6)):
            if player.page.locator("#result-card").count():
                return
            player.page.wait_for_function(
                "() => document.querySelector('#result-card') ||"
                " document.querySelector('#turn-status')?.textContent === 'Your turn: pick a column'"
            )
            if player.page.locator("#result-card").count():
                return
            player.page.click(f".c4-col[data-col='{col}']")
            moves[player.name] += 1
            player.page.wait_for_function(
                "n => window.skirmish.ack() >= n && !window.skirmish.awaitingAck()",
                arg=player.page.evaluate("() => window.skirmish.seq"),
            )
            if moves[winner.name] == 2 and player is loser:
                winner.shot("browser-match")


def board(player: Player) -> list[list[int]]:
    """The connect-four board the page holds (columns of seats, bottom first)."""
    return player.page.evaluate("() => window.skirmish.view.doc.game.board")


def test_two_players_play_connect_four_to_a_win_a_third_watches_from_the_live_list_then_a_replay(
    server: DaphneServer, browser
):
    alice = Player(browser, server, "alice")
    bob = Player(browser, server, "bob", viewport={"width": 390, "height": 844})  # a phone
    sam = Player(browser, server, "sam")
    alice.sign_up()
    bob.sign_up()
    sam.sign_up()
    sam.page.wait_for_selector("#live-list li.empty")  # nothing is being played yet

    # alice creates a public lobby; bob joins it with the code
    alice.page.fill("#create-name", "Friday night")
    alice.page.select_option("#create-game", "connect_four")
    alice.page.fill("#create-form input[name=turn_seconds]", "60")
    alice.page.click("#create-submit")
    code = alice.page.text_content("#lobby-code", timeout=10_000)
    assert code and len(code) == 6
    bob.page.fill("#join-code", code.lower())
    bob.page.click("#join-form button")
    bob.page.wait_for_selector("#lobby-name")
    alice.page.wait_for_selector("#members li:nth-child(2)")
    assert alice.page.text_content("#lobby-name") == "Friday night"

    bob.page.fill("#chat-input", "glhf")
    bob.page.click("#chat-form button")
    alice.page.wait_for_selector("#chat-log li:has-text('glhf')")

    alice.page.click("#ready-btn")
    bob.page.click("#ready-btn")
    alice.page.wait_for_selector("#start-btn:not([disabled])")
    alice.shot("browser-lobby")
    bob.shot("browser-lobby-phone")
    alice.page.click("#start-btn")
    for player in (alice, bob):
        player.page.wait_for_selector("#c4-board")
        player.page.wait_for_function("() => window.skirmish.view !== null")
    first = alice.page.evaluate("() => window.skirmish.view.doc.game.turn")
    assert alice.page.get_attribute("#spectator-count", "data-count") == "0"

    # a third person sees the match appear in the live list (pushed, no reload) and watches it
    match_id = alice.page.text_content("#match-id")
    row = sam.page.wait_for_selector(f".live-row[data-match-id='{match_id}']")
    assert "alice" in row.text_content() and "bob" in row.text_content() and "Connect Four" in row.text_content()
    assert row.query_selector(".rating").text_content() == "unrated"  # nobody has played a rated match yet
    elapsed = row.query_selector(".elapsed")
    shown = elapsed.text_content()
    sam.page.wait_for_function("([el, was]) => el.textContent !== was", arg=[elapsed, shown])  # the clock runs
    sam.shot("browser-live-list")
    row.query_selector(".watch-btn").click()
    sam.page.wait_for_selector("#c4-board")
    assert sam.page.evaluate("() => window.skirmish.match.seat") is None
    assert sam.page.locator(".c4-col.playable").count() == 0  # a spectator cannot move
    # the players (and the spectator) see that one person watches
    for player in (alice, bob, sam):
        player.page.wait_for_selector("#spectator-count[data-count='1']")
    assert alice.page.text_content("#spectator-count").strip() == "1 watching"
    winner, loser = (alice, bob) if first == 0 else (bob, alice)
    assert winner.my_turn() or winner.page.wait_for_function(
        "() => document.querySelector('#turn-status').textContent === 'Your turn: pick a column'"
    )
    timer = winner.page.get_attribute(".timer", "data-left")
    assert timer and timer.endswith(" s") and 0 < float(timer.split()[0]) <= 60

    play_connect_four(winner, loser)
    winner.page.wait_for_selector("#result-card")
    loser.page.wait_for_selector("#result-card")
    assert winner.page.text_content("#result-card h2") == "You won!"
    assert loser.page.text_content("#result-card h2") == f"{winner.name} won"
    assert winner.page.locator(".c4-cell.win").count() == 4
    winner.shot("browser-result")
    live_board = board(winner)
    assert sum(map(len, live_board)) == 7
    sam.page.wait_for_selector("#result-card")
    assert sam.page.locator(".c4-cell.filled").count() == 7 and sam.page.locator(".c4-cell.win").count() == 4
    assert board(sam) == live_board
    sam.shot("browser-spectator")
    sam.page.click("#back-btn")  # the finished match has left the live list
    sam.page.wait_for_selector("#live-list li.empty")
    assert sam.errors == []
    sam.close()

    # back to the lobby, then the history page shows the match
    winner.page.click("#back-btn")
    winner.page.wait_for_selector("#lobby-card")
    winner.page.click("#leave-btn")
    winner.page.click("nav a[data-screen=history]")
    winner.page.wait_for_selector("#history td:has-text('won')")
    winner.shot("browser-history")

    # the replay of that match, from the history page: it plays, slows down, pauses, resumes at 4x, ends
    winner.page.click(f".replay-btn[data-match-id='{match_id}']")
    winner.page.wait_for_selector("#replay-bar[data-speed='1'] .speed.active[data-speed='1']")
    assert winner.page.evaluate("() => window.skirmish.match.replay && window.skirmish.match.seat === null")
    winner.page.wait_for_function("() => document.querySelectorAll('.c4-cell.filled').length >= 1")  # it progresses
    winner.page.click(".speed[data-speed='0.5']")
    winner.page.wait_for_selector("#replay-bar[data-speed='0.5']")
    winner.page.click("#replay-pause")
    winner.page.wait_for_selector("#replay-bar[data-paused='true']")
    assert winner.page.text_content("#replay-pause") == "Resume"
    held = winner.page.evaluate(
        "() => [window.skirmish.view.tick, document.querySelectorAll('.c4-cell.filled').length]"
    )
    assert 1 <= held[1] < 7
    winner.page.wait_for_timeout(600)  # paused: nothing moves for a while
    assert winner.page.evaluate("() => window.skirmish.view.tick") == held[0]
    winner.shot("browser-replay")
    winner.page.click(".speed[data-speed='4']")
    winner.page.wait_for_selector("#replay-bar[data-speed='4'][data-paused='true']")
    winner.page.click("#replay-pause")
    winner.page.wait_for_selector("#replay-bar[data-paused='false']")
    winner.page.wait_for_selector("#result-card", timeout=20_000)
    assert winner.page.text_content("#result-card h2") == f"{winner.name} won"
    assert board(winner) == live_board  # the replay ends on the live final board
    assert winner.page.locator(".c4-cell.filled").count() == 7 and winner.page.locator(".c4-cell.win").count() == 4
    assert winner.page.evaluate("() => window.skirmish.view.tick") > held[0]
    winner.shot("browser-replay-end")
    winner.page.click("#back-btn")
    winner.page.wait_for_selector("#history")
    winner.page.click("nav a[data-screen=leaderboard]")
    winner.page.click("#leaderboard .tabs a:has-text('Connect Four')")
    winner.page.wait_for_selector(f"#leaderboard td:has-text('{winner.name}')")
    winner.shot("browser-leaderboard")

    assert alice.errors == [] and bob.errors == []
    alice.close()
    bob.close()
    assert "Traceback" not in server.logs()


def test_the_client_reconnects_by_itself_and_keeps_the_lobby(server: DaphneServer, browser):
    carol = Player(browser, server, "carol")
    carol.sign_up()
    carol.page.fill("#create-name", "Carol's")
    carol.page.click("#create-submit")
    carol.page.wait_for_selector("#lobby-card")
    carol.page.evaluate("() => window.skirmish.drop()")
    carol.page.wait_for_function("() => window.skirmish.reconnects === 1 && window.skirmish.connected")
    carol.page.wait_for_selector("#conn-status[data-state=online]")
    carol.page.wait_for_selector('#lobby-name:has-text("Carol\'s")')
    assert carol.page.evaluate("() => window.skirmish.reconnects") == 1
    assert carol.errors == []
    carol.close()


def test_an_arena_match_moves_my_disc_with_the_keyboard(server: DaphneServer, browser):
    import asyncio
    import threading

    from clients.bot import BotConfig, run_bot

    erin = Player(browser, server, "erin")
    erin.sign_up()
    erin.page.select_option("#create-game", "arena")
    erin.page.fill("#create-form input[name=time_seconds]", "20")
    erin.page.click("#create-submit")
    code = erin.page.text_content("#lobby-code")
    bot = BotConfig(server=server.http, name="arena-bot", code=code, matches=1)
    done: list[int] = []
    thread = threading.Thread(target=lambda: done.append(asyncio.run(run_bot(bot))), daemon=True)
    thread.start()
    erin.page.wait_for_selector("#members li:nth-child(2) .badge[data-status=ready]")
    erin.page.click("#ready-btn")
    erin.page.click("#start-btn:not([disabled])")
    erin.page.wait_for_selector("#arena-canvas")
    erin.page.wait_for_function("() => window.skirmish.view !== null")
    seat = erin.page.evaluate("() => window.skirmish.match.seat")
    start = erin.page.evaluate(f"() => window.skirmish.view.doc.game.players['{seat}']")
    key = "ArrowLeft" if start["x"] > 2000 else "ArrowRight"
    erin.page.keyboard.down(key)
    erin.page.wait_for_function(
        f"x0 => Math.abs(window.skirmish.view.doc.game.players['{seat}'].x - x0) > 300", arg=start["x"]
    )
    # the server acknowledged the inputs, and my disc moved the way I pressed
    assert erin.page.evaluate("() => window.skirmish.ack() >= 1")
    moved = erin.page.evaluate(f"() => window.skirmish.view.doc.game.players['{seat}']")
    assert (moved["x"] - start["x"]) * (-1 if key == "ArrowLeft" else 1) > 300
    hud = erin.page.text_content("#arena-hud")
    assert "tick" in hud and "ms" in hud and "ack" in hud
    erin.shot("browser-arena")
    erin.page.keyboard.up(key)
    erin.page.wait_for_selector("#result-card", timeout=40_000)
    thread.join(30)
    assert done == [1]

    # the replay of the arena match draws on the same canvas (History is reachable from the lobby)
    erin.page.click("#back-btn")
    erin.page.wait_for_selector("#lobby-card")
    erin.page.click("nav a[data-screen=history]")
    erin.page.click("#history .replay-btn")
    erin.page.wait_for_selector("#match[data-replay=true] #arena-canvas")
    erin.page.click(".speed[data-speed='4']")
    erin.page.wait_for_selector("#replay-bar[data-speed='4']")
    erin.page.wait_for_function(  # my disc moves in the replay as it did in the match
        f"x0 => Math.abs(window.skirmish.view.doc.game.players['{seat}'].x - x0) > 300", arg=start["x"]
    )
    assert erin.page.evaluate("() => window.skirmish.match.replay && window.skirmish.match.seat === null")
    erin.shot("browser-replay-arena")
    erin.page.click("#replay-stop")
    erin.page.wait_for_selector("#history")
    assert erin.page.evaluate("() => window.skirmish.match") is None
    erin.page.click("nav a[data-screen=lobbies]")
    erin.page.wait_for_selector("#lobby-card")
    assert erin.errors == []
    erin.close()
