"""The ORM from async code: `db_call`, Channels' `database_sync_to_async` keeping its connection.

Channels' wrapper runs each call on asgiref's one shared sync thread and calls Django's
`close_old_connections()` before and after it. With `CONN_MAX_AGE = 0` (Django's default, and
ours: see below) that closes the connection after every call, so every token check, lobby request
and match result opened a new one. Measured on the arena load (300 matches seated at 100 connects
a second, SQLite): the sync thread fell up to 2.5 s behind while players were being seated, and
61-107 of 1,800 websocket handshakes waited past daphne's 5 s handshake timeout and were reset;
keeping the connection: 1.5 s at worst, no handshake lost (docs/benchmarks.md). On PostgreSQL each
new connection is also a TCP connect and a login.

`db_call` keeps the thread's connection between calls. After each call it still drops it when
Django would for any reason but age (`close_if_unusable_or_obsolete`: autocommit left changed,
or an error after which the connection no longer works), and after `KEEP_SECONDS` so that a
long-running server picks up a database failover or new credentials. `CONN_HEALTH_CHECKS` (set
in settings) tests a kept connection before its first query in a call, so a database restart
costs a reconnect, not a failed request.

Under Django's ASGI handler every HTTP request runs its sync code on a thread of its own that
ends with the request; a connection kept there would only be closed by the garbage collector,
which is why Django asks for `CONN_MAX_AGE = 0` under ASGI. Inside a request (asgiref's
`ThreadSensitiveContext` is set) `db_call` therefore does exactly what Channels' wrapper does.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

from asgiref.sync import SyncToAsync
from django.db import DEFAULT_DB_ALIAS, DatabaseError, close_old_connections, connections

KEEP_SECONDS = 300.0

_P = ParamSpec("_P")
_R = TypeVar("_R")


def db_call(func: Callable[_P, _R]) -> Callable[_P, Awaitable[_R]]:
    """`await db_call(fn)(*args)`: run `fn` on the sync thread, keeping its database connection."""

    @functools.wraps(func)
    def run(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        # (inside the caller's context, so a request's ThreadSensitiveContext is visible here)
        in_request = SyncToAsync.thread_sensitive_context.get(None) is not None
        if in_request:
            close_old_connections()
        try:
            return func(*args, **kwargs)
        finally:
            if in_request:
                close_old_connections()
            else:
                tidy_connections()

    return SyncToAsync(run, thread_sensitive=True)


def on_disk(func: Callable[_P, _R]) -> Callable[_P, _R]:
    """`func` with its commits on disk when it returns, not only in the OS's cache.

    SQLite here runs in WAL with `synchronous=NORMAL` (settings/base.py): the WAL is synced at
    checkpoints, not at each commit, so a commit survives a killed process but maybe not a power
    cut. A caller that drops its own copy once the database has the data (the result outbox)
    runs the call through this: the connection takes it with `synchronous=FULL` (the WAL synced
    at each commit), then goes back. Other databases sync their commits anyway."""

    @functools.wraps(func)
    def run(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        conn = connections[DEFAULT_DB_ALIAS]
        if conn.vendor != "sqlite":
            return func(*args, **kwargs)
        with conn.cursor() as cursor:
            cursor.execute("PRAGMA synchronous")
            level = int(cursor.fetchone()[0])
            if level < 2:
                cursor.execute("PRAGMA synchronous=FULL")
        try:
            return func(*args, **kwargs)
        finally:
            if level < 2:
                with contextlib.suppress(DatabaseError), conn.cursor() as cursor:
                    cursor.execute(f"PRAGMA synchronous={level}")

    return run


def tidy_connections() -> None:
    """Close this thread's connections that are broken or older than KEEP_SECONDS; keep the rest."""
    now = time.monotonic()
    for conn in connections.all(initialized_only=True):
        if conn.connection is None:
            continue
        opened = getattr(conn, "_skirmish_opened", None)
        if opened is None or opened[0] is not conn.connection:  # a connection made since
            opened = conn._skirmish_opened = (conn.connection, now)
        # Django's own checks, with its age limit replaced by ours.
        conn.close_at = opened[1] + KEEP_SECONDS
        conn.close_if_unusable_or_obsolete()


def close_kept() -> None:
    """Close the connections the sync thread keeps (tests do, before their database is dropped)."""
    SyncToAsync.single_thread_executor.submit(connections.close_all).result()
