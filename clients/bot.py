"""Bots on the client library: `python -m clients.bot` fills lobbies with players that play sensibly.

    python -m clients.bot --server http://127.0.0.1:8000 --count 2            # join open lobbies
    python -m clients.bot --code ABC123                                       # one bot joins a lobby
    python -m clients.bot --host --game connect_four --count 2 --matches 3    # bots host and play

Each bot registers `bot-<name>` (password `--password`) on first use, signs in with a token,
joins a lobby (by code, the open public lobbies, or one it creates), readies up, plays each
match with the strategy for its game (clients.strategies) and readies up again afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import secrets
from dataclasses import dataclass

from clients.skirmish_client import Disconnected, SkirmishClient, SkirmishError, register
from clients.strategies import arena_move, connect_four_column

logger = logging.getLogger("clients.bot")
DEFAULT_PASSWORD = "bot-password-not-secret-1"


@dataclass
class BotConfig:
    """What one bot should do."""

    server: str = "http://127.0.0.1:8000"
    name: str = ""
    password: str = DEFAULT_PASSWORD
    code: str | None = None
    game: str | None = None
    host: bool = False
    matches: int | None = None
    seed: int | None = None
    think: float = 0.2  # seconds a connect-four bot waits before moving (looks human, spares the server)


async def sign_in_bot(cfg: BotConfig) -> SkirmishClient:
    """Register the bot's account if needed, then sign in."""
    try:
        await register(cfg.server, cfg.name, cfg.password)
    except SkirmishError as exc:
        if exc.code != "auth/username_taken":
            raise
    return await SkirmishClient.sign_in(cfg.server, cfg.name, cfg.password)


async def play_match(client: SkirmishClient, rng: random.Random, think: float = 0.0) -> str | None:
    """Play the current (or next) match to its end; returns the outcome reason."""
    stream = client.snapshots()
    match = await client.wait_match(timeout=60)
    held: dict[str, int] | None = None
    async for view in stream:
        seat = view.seat
        if seat is None or client.awaiting_ack(view):
            continue  # a spectator, or my last input is not applied yet
        try:
            if match.game == "connect_four":
                col = connect_four_column(view.game, seat, rng)
                if col is not None:
                    if think:
                        await asyncio.sleep(think)
                    await client.send_input({"col": col})
            elif match.game == "arena":
                move = arena_move(view.game, seat)
                if move is not None and move != held:
                    await client.send_input(move)
                    held = move
        except Disconnected:
            continue  # the client reconnects by itself; the next snapshot resumes play
    return stream.outcome.reason if stream.outcome else None


async def find_lobby(client: SkirmishClient, cfg: BotConfig) -> None:
    """Get into a lobby: by code, by hosting one, or by joining an open public one."""
    if cfg.code:
        await client.join_lobby(code=cfg.code)
        return
    if cfg.host:
        await client.create_lobby(f"{cfg.name}'s table", cfg.game or "connect_four")
        return
    await client.list_lobbies(game=cfg.game, free_only=True)
    while client.lobby is None:
        candidates = [lob for lob in client.lobbies.values() if lob.status == "open" and lob.players < lob.max_players]
        for lobby in sorted(candidates, key=lambda lob: -lob.players):
            try:
                await client.join_lobby(lobby_id=lobby.id)
                break
            except SkirmishError as exc:
                logger.info("%s could not join %s: %s", cfg.name, lobby.id, exc.code)
        if client.lobby is None:
            seen = dict(client.lobbies)
            await client.until(lambda c, seen=seen: c.lobbies != seen, timeout=3600)
    await client.unsubscribe_lobbies()


async def ready_up(client: SkirmishClient) -> None:
    """Mark the bot ready; a lobby that has just started its match (or closed) is not an error."""
    try:
        await client.set_ready(True)
    except SkirmishError as exc:
        logger.info("could not ready up: %s", exc.code)


async def run_bot(cfg: BotConfig) -> int:
    """Run one bot until it has played `cfg.matches` matches (forever if None); returns matches played."""
    rng = random.Random(cfg.seed)
    client = await sign_in_bot(cfg)
    played = 0
    try:
        while cfg.matches is None or played < cfg.matches:
            if client.match is None:
                if client.lobby is None:
                    await find_lobby(client, cfg)
                await ready_up(client)
                await wait_and_start(client, cfg)
            reason = await play_match(client, rng, cfg.think)
            played += 1
            logger.info("%s finished a match (%s)", cfg.name, reason)
            await client.until(lambda c: c.lobby is None or c.lobby.status == "open", timeout=30)
    finally:
        await client.close()
    return played


async def wait_and_start(client: SkirmishClient, cfg: BotConfig) -> None:
    """Wait for a match; a hosting bot starts it once everyone is ready."""
    while client.match is None:
        lobby = client.lobby
        if lobby is None:
            await find_lobby(client, cfg)
            await ready_up(client)
            continue
        me = client.user.id if client.user else None
        members = lobby.members
        if lobby.host_id == me and len(members) >= 2 and all(m.ready for m in members):
            try:
                await client.start_match()
            except SkirmishError as exc:
                logger.info("%s could not start yet: %s", cfg.name, exc.code)
        if lobby.members and not any(m.user.id == me and m.ready for m in lobby.members) and lobby.status == "open":
            await ready_up(client)
        current = client.lobby
        await client.until(lambda c, was=current: c.match is not None or c.lobby is not was, timeout=3600)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(prog="python -m clients.bot", description="Skirmish bots that fill lobbies.")
    parser.add_argument("--server", default="http://127.0.0.1:8000", help="the server's http(s) URL")
    parser.add_argument("--count", type=int, default=1, help="how many bots to run")
    parser.add_argument("--code", help="join the lobby with this join code")
    parser.add_argument("--game", help="only join (or host) lobbies of this game")
    parser.add_argument("--host", action="store_true", help="the first bot creates a public lobby")
    parser.add_argument("--matches", type=int, help="stop after this many matches (default: run forever)")
    parser.add_argument("--prefix", default="bot", help="account names are <prefix>-<n>")
    parser.add_argument("--password", default=DEFAULT_PASSWORD)
    parser.add_argument("--think", type=float, default=0.2, help="seconds to wait before a turn-based move")
    return parser.parse_args(argv)


async def main(argv: list[str] | None = None) -> None:
    """Run `--count` bots side by side."""
    args = parse_args(argv)
    suffix = secrets.token_hex(2)
    configs = [
        BotConfig(
            server=args.server,
            name=f"{args.prefix}-{suffix}-{n + 1}",
            password=args.password,
            code=args.code,
            game=args.game,
            host=args.host and n == 0,
            matches=args.matches,
            seed=n,
            think=args.think,
        )
        for n in range(args.count)
    ]
    await asyncio.gather(*(run_bot(cfg) for cfg in configs))


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    asyncio.run(main())
