"""The database's share of seating one arena match: CPU time and SQL statements per call.

    python -m bench.seating                  (a fresh SQLite database in a temporary folder)
    python -m bench.seating --matches 200 --database-url postgres://127.0.0.1/test

A match in the arena load (4 players, 2 spectators) makes the same database calls, in the same
order, as it does on a server: a token check and a restore per socket, the lobby requests
(create, 3 joins, 4 readies, each reading the lobby state it pushes to the members), the start
and what follows it (the lobby state, the live list), and each spectator's lookup and count.
They run here one after another on the main thread, with no server and no event loop, so the
figures are the calls' own cost: the same code the server runs on its database thread.

Prints, per call, its mean thread CPU time and SQL statements, and the total per match. On a
server every one of these waits its turn on the one database thread (game_server.db), so the
total per match bounds how fast a busy server can seat players.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

PLAYERS = 4
SPECTATORS = 2


@contextmanager
def counting(calls: dict[str, list[float]], statements: dict[str, int], label: str) -> Iterator[None]:
    """Time the block's thread CPU and count the SQL statements it runs, under `label`."""
    from django.db import connection

    def count(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        statements[label] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        start = time.thread_time()
        yield
        calls[label].append(time.thread_time() - start)


def seat_matches(matches: int, prefix: str) -> tuple[dict[str, list[float]], dict[str, int]]:
    """Seat `matches` arena matches the way the server's database thread does; the cost of each call."""
    from django.contrib.auth import get_user_model

    from game_server.consumers.player import _restore
    from game_server.engine_bridge import _lobby_payloads, with_payloads
    from game_server.spectators import live_entry, spectate_target
    from game_server.tokens import token_issue, token_user
    from lobby import services

    per = PLAYERS + SPECTATORS
    names = [f"{prefix}{i:05d}" for i in range(matches * per)]
    get_user_model().objects.bulk_create(get_user_model()(username=n) for n in names)
    users = {u.username: u for u in get_user_model().objects.filter(username__in=names)}
    tokens = [token_issue(user=users[n])[0] for n in names]
    calls: dict[str, list[float]] = defaultdict(list)
    statements: dict[str, int] = defaultdict(int)

    def call(label: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        with counting(calls, statements, label):
            return fn(*args, **kwargs)

    for m in range(matches):
        seated = []
        for i in range(per):
            user = call("token_user", token_user, raw=tokens[m * per + i])
            call("_restore", _restore, user)
            seated.append(user)
        host, *others = seated[:PLAYERS]
        options = {"time_seconds": 900, "score_limit": 0}
        create = with_payloads(services.lobby_create)
        lobby, _ = call(
            "lobby_create",
            create,
            host=host,
            name=f"load {m}",
            game="arena",
            max_players=4,
            private=True,
            options=options,
        )
        for user in others:
            call("lobby_join", with_payloads(services.lobby_join), user=user, code=lobby.code)
        for user in seated[:PLAYERS]:
            call("lobby_ready_set", with_payloads(services.lobby_ready_set), user=user, ready=True)
        spec = call("lobby_start", services.lobby_start, user=host)
        call("_lobby_payloads", _lobby_payloads, lobby.pk)
        call("live_entry", live_entry, spec.match_id)
        for n, user in enumerate(seated[PLAYERS:], 1):
            call("spectate_target", spectate_target, user=user, match_id=spec.match_id, code=lobby.code)
            call("live_entry", live_entry, spec.match_id, spectators=n)
    return calls, statements


def report(calls: dict[str, list[float]], statements: dict[str, int], matches: int, vendor: str) -> str:
    """The table: per call, how often per match, mean CPU µs and statements; then the total per match."""
    lines = [
        f"{matches} matches seated ({PLAYERS} players + {SPECTATORS} spectators each), {vendor}",
        f"{'call':<22}{'per match':>10}{'CPU µs':>10}{'statements':>12}",
    ]
    total_cpu = total_sql = 0.0
    for label, times in calls.items():
        per_match = len(times) / matches
        cpu = sum(times) / len(times) * 1e6
        sql = statements[label] / len(times)
        total_cpu += cpu * per_match
        total_sql += sql * per_match
        lines.append(f"{label:<22}{per_match:>10.1f}{cpu:>10.0f}{sql:>12.1f}")
    lines.append(f"{'per match':<22}{'':>10}{total_cpu:>10.0f}{total_sql:>12.1f}")
    lines.append(f"seatable per second of one database thread: {1e6 / total_cpu:.0f} matches")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    """Migrate a database, seat the matches, print the table."""
    ap = argparse.ArgumentParser(prog="python -m bench.seating", description=__doc__.splitlines()[0])
    ap.add_argument("--matches", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=10, help="matches seated first and not counted")
    ap.add_argument("--database-url", default="", help="default: a new SQLite file in a temporary folder")
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["DATABASE_URL"] = a.database_url or f"sqlite:///{Path(tmp) / 'seating.sqlite3'}"
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
        os.environ["DEBUG"] = "0"  # as the benchmarked server runs (DEBUG=1 also logs every query)
        os.environ.setdefault("SECRET_KEY", "bench-not-secret-" + "x" * 40)
        os.environ["REDIS_URL"] = ""
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0)
        prefix = f"seat{os.getpid()}x"
        seat_matches(a.warmup, prefix + "w")
        calls, statements = seat_matches(a.matches, prefix)
        print(report(calls, statements, a.matches, connection.vendor))
        connection.close()


if __name__ == "__main__":
    main()
