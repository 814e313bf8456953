"""The desktop client: pygame drawing over the asyncio client library, one window, four screens.

Screens: sign in (or register) -> lobbies (live list, join, join by code, create, quick play, the
live matches to watch) -> lobby (members, ready, start, add a bot, leave) -> match (connect four by
mouse, arena by arrow keys / WASD, spectating with the spectator count). Widgets have ids so the
headless test can click them by name.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pygame

from clients.skirmish_client import SkirmishClient, SkirmishError, register

SIZE = (960, 640)
BG = (11, 15, 23)
PANEL = (20, 26, 38)
PANEL_2 = (27, 35, 51)
LINE = (39, 48, 68)
TEXT = (232, 236, 244)
MUTED = (141, 151, 171)
ACCENT = (47, 111, 237)
GOOD = (48, 164, 108)
BAD = (229, 72, 77)
SEATS = [(229, 72, 77), (245, 180, 0), (62, 142, 247), (48, 164, 108), (142, 78, 198), (247, 104, 8)]
ARROWS = {
    pygame.K_LEFT: (-1, 0),
    pygame.K_a: (-1, 0),
    pygame.K_RIGHT: (1, 0),
    pygame.K_d: (1, 0),
    pygame.K_UP: (0, -1),
    pygame.K_w: (0, -1),
    pygame.K_DOWN: (0, 1),
    pygame.K_s: (0, 1),
}


@dataclass
class Button:
    id: str
    label: str
    rect: pygame.Rect
    action: Callable[[], Awaitable[None] | None]
    enabled: bool = True
    style: str = "primary"


@dataclass
class Field:
    id: str
    label: str
    rect: pygame.Rect
    value: str = ""
    secret: bool = False
    max_len: int = 40


@dataclass
class Screen:
    buttons: list[Button] = field(default_factory=list)
    fields: list[Field] = field(default_factory=list)


class DesktopApp:
    """The window and its screens; `run()` drives pygame and the client in one asyncio loop."""

    def __init__(self, server: str = "http://127.0.0.1:8000", username: str = "", password: str = "") -> None:
        pygame.init()
        pygame.display.set_caption("Skirmish")
        self.surface = pygame.display.set_mode(SIZE)
        self.font = pygame.font.Font(None, 26)
        self.small = pygame.font.Font(None, 21)
        self.big = pygame.font.Font(None, 40)
        self.client: SkirmishClient | None = None
        self.screen = Screen()
        self.focus: Field | None = None
        self.message = ""
        self.running = True
        self.tasks: set[asyncio.Task[Any]] = set()
        self.held: tuple[int, int] = (0, 0)
        self.frames = 0
        self.defaults = {"server": server, "username": username, "password": password}

    # ---- main loop ----------------------------------------------------------------------

    async def run(self, until: Callable[[DesktopApp], bool] | None = None) -> None:
        """Handle events and draw at ~60 fps until the window closes (or `until(app)` holds)."""
        while self.running and not (until and until(self)):
            for event in pygame.event.get():
                await self.handle(event)
            self.draw()
            pygame.display.flip()
            self.frames += 1
            if self.frames % 120 == 0 and self.client is not None and self.client.connected:
                self.spawn(self.client.ping())  # the latency shown in the top bar
            await asyncio.sleep(1 / 60)

    async def close(self) -> None:
        """Close the socket and the window."""
        for task in list(self.tasks):
            task.cancel()
        if self.client is not None:
            await self.client.close()
        pygame.quit()

    def spawn(self, coro: Awaitable[Any]) -> None:
        """Run a request in the background; its SkirmishError becomes the status message."""

        async def guarded() -> None:
            try:
                await coro
            except SkirmishError as exc:
                self.message = exc.message
            except (OSError, TimeoutError) as exc:
                self.message = f"network error: {exc}"

        task = asyncio.get_running_loop().create_task(guarded())
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    # ---- input --------------------------------------------------------------------------

    async def handle(self, event: pygame.event.Event) -> None:
        """One pygame event."""
        if event.type == pygame.QUIT:
            self.running = False
        elif event.type == pygame.MOUSEBUTTONDOWN and event.button == 1:
            await self.click(event.pos)
        elif event.type == pygame.TEXTINPUT and self.focus is not None:
            self.focus.value = (self.focus.value + event.text)[: self.focus.max_len]
        elif event.type == pygame.KEYDOWN:
            await self.key(event)
        elif event.type == pygame.KEYUP and event.key in ARROWS:
            self.steer()

    async def click(self, pos: tuple[int, int]) -> None:
        """A left click: a button, a field, or a connect-four column."""
        for button in self.screen.buttons:
            if button.enabled and button.rect.collidepoint(pos):
                result = button.action()
                if result is not None:
                    self.spawn(result)
                return
        for fld in self.screen.fields:
            if fld.rect.collidepoint(pos):
                self.focus = fld
                return
        self.focus = None
        client = self.client
        if client and client.match and client.match.game == "connect_four" and client.view:
            col = (pos[0] - self.board_rect().x) * 7 // self.board_rect().width
            game = client.view.game
            if 0 <= col < 7 and game["turn"] == client.match.seat and not client.awaiting_ack():
                self.spawn(client.send_input({"col": int(col)}))

    async def key(self, event: pygame.event.Event) -> None:
        if self.focus is not None:
            if event.key == pygame.K_BACKSPACE:
                self.focus.value = self.focus.value[:-1]
            elif event.key == pygame.K_TAB:
                fields = self.screen.fields
                self.focus = fields[(fields.index(self.focus) + 1) % len(fields)]
            elif event.key == pygame.K_RETURN and self.screen.buttons:
                result = self.screen.buttons[0].action()
                if result is not None:
                    self.spawn(result)
            return
        if event.key in ARROWS:
            self.steer()

    def steer(self) -> None:
        """Arena: send the direction held when it changes."""
        client = self.client
        if not client or not client.match or client.match.game != "arena" or client.match.seat is None:
            return
        pressed = pygame.key.get_pressed()
        dx = sum(d[0] for k, d in ARROWS.items() if pressed[k])
        dy = sum(d[1] for k, d in ARROWS.items() if pressed[k])
        held = (max(-1, min(1, dx)), max(-1, min(1, dy)))
        if held != self.held:
            self.held = held
            self.spawn(client.send_input({"dx": held[0], "dy": held[1]}))

    def set_direction(self, dx: int, dy: int) -> None:
        """Arena: hold a direction (what the arrow keys do; also used by tests)."""
        if self.client and self.client.match and self.client.match.seat is not None and (dx, dy) != self.held:
            self.held = (dx, dy)
            self.spawn(self.client.send_input({"dx": dx, "dy": dy}))

    def button(self, button_id: str) -> Button:
        """A button of the current screen by id."""
        return next(b for b in self.screen.buttons if b.id == button_id)

    def field(self, field_id: str) -> Field:
        """A text field of the current screen by id."""
        return next(f for f in self.screen.fields if f.id == field_id)

    # ---- actions ------------------------------------------------------------------------

    async def sign_in(self, create: bool = False) -> None:
        """Sign in (registering first if asked) with the sign-in screen's fields."""
        server, name, password = (self.field(k).value.strip() for k in ("server", "username", "password"))
        self.message = "signing in…"
        if create:
            await register(server, name, password)
        self.client = await SkirmishClient.sign_in(server, name, password)
        await self.client.list_lobbies()
        await self.client.list_live_matches()
        self.message = ""

    async def create(self, game: str) -> None:
        assert self.client and self.client.user
        await self.client.create_lobby(f"{self.client.user.name}'s {game.replace('_', ' ')}", game)

    async def join_code(self) -> None:
        assert self.client
        await self.client.join_lobby(code=self.field("code").value)

    async def add_bot(self) -> None:
        """Start a bot that joins this lobby by its code and plays (clients.bot)."""
        from clients.bot import BotConfig, run_bot

        assert self.client and self.client.lobby and self.client.lobby.code
        name = f"bot-{self.client.lobby.code.lower()}-{len(self.client.lobby.members)}"
        cfg = BotConfig(server=self.client.base_url, name=name, code=self.client.lobby.code, think=0.3)
        self.spawn(run_bot(cfg))

    async def toggle_ready(self) -> None:
        assert self.client and self.client.lobby and self.client.user
        me = next((m for m in self.client.lobby.members if m.user.id == self.client.user.id), None)
        await self.client.set_ready(not (me and me.ready))

    async def back(self) -> None:
        """Leave the finished match's screen."""
        if self.client:
            self.client.view = None
            self.client.last_outcome = None

    async def watch(self, match_id: str) -> None:
        """Spectate a match from the live list."""
        assert self.client
        self.client.last_outcome = None
        await self.client.spectate(match_id)

    async def stop_watching(self) -> None:
        """Leave the match being spectated."""
        assert self.client
        await self.client.unspectate()
        self.client.view = None

    # ---- drawing ------------------------------------------------------------------------

    def text(self, text: str, pos: tuple[int, int], font: pygame.font.Font | None = None, colour: Any = TEXT) -> None:
        self.surface.blit((font or self.font).render(text, True, colour), pos)

    def add_button(self, button_id: str, label: str, rect: tuple[int, int, int, int], action: Any, **kw: Any) -> None:
        self.screen.buttons.append(Button(button_id, label, pygame.Rect(rect), action, **kw))

    def draw(self) -> None:
        """Rebuild the current screen's widgets and draw everything."""
        self.surface.fill(BG)
        old_fields = {f.id: f for f in self.screen.fields}
        focus_id = self.focus.id if self.focus else None
        self.screen = Screen()
        client = self.client
        pygame.draw.rect(self.surface, PANEL, (0, 0, SIZE[0], 48))
        self.text("Skirmish", (20, 14), self.font)
        if client and client.user:
            status = "online" if client.connected else "reconnecting…"
            latency = f" · {client.latency_ms:.0f} ms" if client.latency_ms else ""
            self.text(f"{client.user.name} · {status}{latency}", (SIZE[0] - 330, 16), self.small, MUTED)
        if client is None:
            self.draw_sign_in(old_fields)
        elif client.match is not None or (client.view is not None and client.last_outcome is not None):
            self.draw_match(client)
        elif client.lobby is not None:
            self.draw_lobby(client)
        else:
            self.draw_lobbies(client, old_fields)
        for fld in self.screen.fields:
            if fld.id in old_fields:
                fld.value = old_fields[fld.id].value
            self.draw_field(fld, fld.id == focus_id)
        self.focus = next((f for f in self.screen.fields if f.id == focus_id), None)
        for button in self.screen.buttons:
            self.draw_button(button)
        if self.message:
            self.text(self.message, (20, SIZE[1] - 30), self.small, BAD)

    def draw_field(self, fld: Field, focused: bool) -> None:
        self.text(fld.label, (fld.rect.x, fld.rect.y - 20), self.small, MUTED)
        pygame.draw.rect(self.surface, BG, fld.rect, border_radius=6)
        pygame.draw.rect(self.surface, ACCENT if focused else LINE, fld.rect, 2, border_radius=6)
        shown = "*" * len(fld.value) if fld.secret else fld.value
        self.text(shown + ("|" if focused and self.frames % 60 < 30 else ""), (fld.rect.x + 8, fld.rect.y + 8))

    def draw_button(self, button: Button) -> None:
        colour = {"primary": ACCENT, "secondary": PANEL_2, "danger": (90, 30, 34)}[button.style]
        if not button.enabled:
            colour = tuple(c // 2 for c in colour)
        pygame.draw.rect(self.surface, colour, button.rect, border_radius=8)
        label = self.font.render(button.label, True, TEXT if button.enabled else MUTED)
        self.surface.blit(label, label.get_rect(center=button.rect.center))

    def draw_sign_in(self, old: dict[str, Field]) -> None:
        self.text("Sign in to Skirmish", (300, 110), self.big)
        for i, (fid, label) in enumerate((("server", "Server"), ("username", "Username"), ("password", "Password"))):
            fld = Field(fid, label, pygame.Rect(300, 190 + i * 70, 360, 38), secret=fid == "password", max_len=120)
            fld.value = old[fid].value if fid in old else self.defaults[fid]
            self.screen.fields.append(fld)
        self.add_button("signin", "Sign in", (300, 400, 170, 42), lambda: self.sign_in())
        register_rect = (490, 400, 170, 42)
        self.add_button("register", "Create account", register_rect, lambda: self.sign_in(True), style="secondary")

    def draw_lobbies(self, client: SkirmishClient, old: dict[str, Field]) -> None:
        pygame.draw.rect(self.surface, PANEL, (20, 64, 600, 540), border_radius=10)
        self.text("Open lobbies", (36, 78), self.big)
        lobbies = sorted(client.lobbies.values(), key=lambda lob: -lob.id)[:6]
        if not lobbies:
            self.text("No open lobbies yet: create one.", (36, 130), self.font, MUTED)
        for i, lob in enumerate(lobbies):
            y = 124 + i * 46
            pygame.draw.line(self.surface, LINE, (36, y - 6), (600, y - 6))
            self.text(f"{lob.name}", (36, y + 4))
            about = f"{lob.game.replace('_', ' ')} · {lob.host} · {lob.players}/{lob.max_players}"
            self.text(about, (300, y + 6), self.small, MUTED)
            if lob.status == "open" and lob.players < lob.max_players:
                join = lambda i=lob.id: client.join_lobby(lobby_id=i)  # noqa: E731
                self.add_button(f"join-{lob.id}", "Join", (520, y, 80, 32), join)
            else:
                self.text("playing", (530, y + 6), self.small, MUTED)
        self.draw_live(client)
        pygame.draw.rect(self.surface, PANEL, (640, 64, 300, 540), border_radius=10)
        self.text("Create", (656, 78), self.big)
        self.add_button("create-connect_four", "Connect Four", (656, 124, 268, 40), lambda: self.create("connect_four"))
        self.add_button("create-arena", "Arena", (656, 174, 268, 40), lambda: self.create("arena"))
        self.text("Join by code", (656, 240), self.big)
        self.screen.fields.append(Field("code", "", pygame.Rect(656, 286, 160, 38), max_len=6))
        self.add_button("join-code", "Join", (828, 286, 96, 38), self.join_code)
        self.text("Quick play", (656, 350), self.big)
        for i, game in enumerate(client.games):
            self.add_button(
                f"queue-{game}",
                game.replace("_", " ").title(),
                (656, 396 + i * 50, 268, 40),
                lambda g=game: client.request({"type": "queue.join", "game": g}),
                style="secondary",
            )

    def draw_live(self, client: SkirmishClient) -> None:
        """The public matches being played, newest first, each with a Watch button."""
        pygame.draw.line(self.surface, LINE, (36, 406), (600, 406))
        self.text("Live matches", (36, 418), self.big)
        rows = sorted(client.live_matches.values(), key=lambda m: -m.started_at)[:3]
        if not rows:
            self.text("Nobody is playing a public match right now.", (36, 466), self.font, MUTED)
        for i, row in enumerate(rows):
            y = 462 + i * 46
            players = " vs ".join(
                pl.user.name + (f" ({pl.rating:.0f})" if pl.rating is not None else "")
                for pl in sorted(row.players, key=lambda pl: pl.seat)
            )
            self.text(players[:34], (36, y + 4))
            self.text(f"{row.game.replace('_', ' ')} · {row.spectators} watching", (330, y + 6), self.small, MUTED)
            self.add_button(f"watch-{row.match_id}", "Watch", (520, y, 80, 32), lambda m=row.match_id: self.watch(m))

    def draw_lobby(self, client: SkirmishClient) -> None:
        lobby = client.lobby
        assert lobby is not None and client.user is not None
        pygame.draw.rect(self.surface, PANEL, (20, 64, 600, 540), border_radius=10)
        self.text(lobby.name, (36, 78), self.big)
        self.text(f"{lobby.game.replace('_', ' ')} · code {lobby.code} · {lobby.status}", (36, 118), self.font, MUTED)
        for i, member in enumerate(lobby.members):
            y = 160 + i * 40
            colour = GOOD if member.ready else MUTED
            self.text(member.user.name + (" (host)" if member.host else ""), (36, y))
            self.text("ready" if member.ready else "not ready", (420, y), self.font, colour)
        me = next((m for m in lobby.members if m.user.id == client.user.id), None)
        all_ready = len(lobby.members) >= 2 and all(m.ready for m in lobby.members)
        self.add_button("ready", "Not ready" if me and me.ready else "Ready", (36, 540, 150, 42), self.toggle_ready)
        if lobby.host_id == client.user.id:
            self.add_button("start", "Start", (200, 540, 130, 42), client.start_match, enabled=all_ready)
        self.add_button("leave", "Leave", (344, 540, 120, 42), client.leave_lobby, style="secondary")
        if lobby.code and len(lobby.members) < lobby.max_players:
            self.add_button("add-bot", "Add a bot", (478, 540, 130, 42), self.add_bot, style="secondary")
        pygame.draw.rect(self.surface, PANEL, (640, 64, 300, 540), border_radius=10)
        self.text("Chat", (656, 78), self.big)
        for i, line in enumerate(client.chat_log[-16:]):
            self.text(f"{line.user.name}: {line.text}"[:34], (656, 124 + i * 26), self.small)

    def draw_match(self, client: SkirmishClient) -> None:
        view = client.view
        match = client.match
        if view is None:
            self.text("waiting for the first frame…", (36, 80))
            return
        role = "spectating" if view.seat is None else f"seat {view.seat + 1}"
        title = (match.game if match else "").replace("_", " ")
        watchers = view.doc.get("spectators", 0)
        self.text(f"{title} · {role} · tick {view.tick} · {watchers} watching", (20, 60), self.small, MUTED)
        if match is not None and match.seat is None:
            self.add_button("stop-watching", "Stop watching", (780, 56, 160, 32), self.stop_watching, style="secondary")
        if "board" in view.game:
            self.draw_connect_four(view.game, view.seat)
        elif "players" in view.game and "pickups" in view.game:
            self.draw_arena(view.game, view.seat)
        outcome = client.last_outcome
        if outcome is not None and (match is None or outcome.match_id == match.match_id):
            winners = outcome.outcome.winners
            headline = "You won!" if view.seat in winners else f"Seat {winners[0] + 1} won" if winners else "Draw"
            pygame.draw.rect(self.surface, PANEL, (300, 250, 360, 150), border_radius=12)
            pygame.draw.rect(self.surface, ACCENT, (300, 250, 360, 150), 2, border_radius=12)
            self.text(headline, (330, 270), self.big)
            self.text(outcome.outcome.reason.replace("_", " "), (330, 312), self.font, MUTED)
            self.add_button("back", "Back", (330, 346, 120, 40), self.back)

    def board_rect(self) -> pygame.Rect:
        return pygame.Rect(240, 100, 480, 412)

    def draw_connect_four(self, game: dict[str, Any], seat: int | None) -> None:
        board = self.board_rect()
        pygame.draw.rect(self.surface, (31, 79, 191), board, border_radius=14)
        cell = board.width // 7
        winning = {tuple(pos) for pos in game.get("line") or []}
        for col in range(7):
            for row in range(6):
                centre = (board.x + col * cell + cell // 2, board.bottom - row * 68 - 36)
                discs = game["board"][col]
                colour = SEATS[discs[row]] if row < len(discs) else (11, 26, 61)
                pygame.draw.circle(self.surface, colour, centre, 28)
                if (col, row) in winning:
                    pygame.draw.circle(self.surface, TEXT, centre, 28, 3)
        names = game.get("names", [])
        if game.get("winner") is None and not game.get("draw") and game.get("forfeit") is None:
            who = "Your turn: click a column" if game["turn"] == seat else f"{names[game['turn']]}'s turn"
            self.text(who, (240, 530), self.font, SEATS[game["turn"]])
            self.text(f"{game['turn_left']:.1f} s", (660, 530), self.font, MUTED)

    def draw_arena(self, game: dict[str, Any], seat: int | None) -> None:
        w, h = game["size"]
        area = pygame.Rect(20, 84, 720, 540)
        scale = min(area.width / w, area.height / h)
        pygame.draw.rect(self.surface, (15, 20, 32), (area.x, area.y, w * scale, h * scale), border_radius=8)

        def at(x: float, y: float) -> tuple[int, int]:
            return int(area.x + x * scale), int(area.y + y * scale)

        for px, py, pr in game["pillars"]:
            pygame.draw.circle(self.surface, (42, 51, 71), at(px, py), int(pr * scale))
        pulse = 1 + 0.12 * math.sin(self.frames / 6)
        for x, y in game["pickups"].values():
            pygame.draw.circle(self.surface, (94, 230, 200), at(x, y), int(game["pickup_radius"] * scale * pulse))
        for key, body in game["players"].items():
            s = int(key)
            radius = int(game["radius"] * scale)
            pygame.draw.circle(self.surface, SEATS[s % len(SEATS)], at(body["x"], body["y"]), radius)
            if s == seat:
                pygame.draw.circle(self.surface, TEXT, at(body["x"], body["y"]), radius, 2)
        left = max(0.0, game["time_limit_ms"] / 1000 - game["elapsed_ds"] / 10)
        self.text(f"{int(left // 60)}:{int(left % 60):02d}", (760, 90), self.big)
        ranked = sorted(game["players"].items(), key=lambda kv: -kv[1]["score"])
        for i, (key, body) in enumerate(ranked):
            name = game["names"][int(key)]
            self.text(f"{name}: {body['score']}", (760, 140 + i * 30), self.font, SEATS[int(key) % len(SEATS)])


async def main(server: str, username: str = "", password: str = "") -> None:
    """Open the window and run until it is closed."""
    app = DesktopApp(server, username, password)
    try:
        await app.run()
    finally:
        with contextlib.suppress(Exception):
            await app.close()
