"""game_server.db: the sync thread keeps its connection, drops it when broken or old, and leaves
HTTP requests to Django's per-request handling."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import ThreadSensitiveContext
from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model
from django.db import connection

from game_server import db
from game_server.db import db_call

ROOT = Path(__file__).resolve().parents[2]


def _raw() -> Any:
    """The raw DB-API connection this thread uses (connecting if needed)."""
    connection.ensure_connection()
    return connection.connection


def _count_users() -> int:
    return get_user_model().objects.count()


async def test_consecutive_calls_share_one_connection(transactional_db) -> None:
    first = await db_call(_raw)()
    assert await db_call(_count_users)() == 0
    assert await db_call(_raw)() is first


async def test_a_connection_is_replaced_after_keep_seconds(transactional_db, monkeypatch) -> None:
    first = await db_call(_raw)()
    assert await db_call(_raw)() is first
    monkeypatch.setattr(db, "KEEP_SECONDS", 0.0)
    await db_call(_count_users)()  # (closed after this call: older than 0 s)
    monkeypatch.setattr(db, "KEEP_SECONDS", 300.0)
    fresh = await db_call(_raw)()
    assert fresh is not first
    assert await db_call(_count_users)() == 0


async def test_a_call_that_leaves_autocommit_off_loses_its_connection(transactional_db) -> None:
    def leave_autocommit_off() -> Any:
        raw = _raw()
        connection.set_autocommit(False)
        return raw

    first = await db_call(leave_autocommit_off)()
    assert await db_call(_raw)() is not first
    assert await db_call(lambda: connection.get_autocommit())()


async def test_inside_an_http_request_the_connection_is_closed_after_the_call(transactional_db) -> None:
    async with ThreadSensitiveContext():  # what Django's ASGI handler wraps every request in
        first = await db_call(_raw)()
        second = await db_call(_raw)()
    assert second is not first


async def test_a_killed_connection_costs_a_reconnect_not_a_failed_call(postgres) -> None:
    """The server ends the kept connection (a restart, an admin): the next call still works."""
    kept_pid = await db_call(lambda: connection.cursor().connection.info.backend_pid)()

    def kill(pid: int) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])

    await database_sync_to_async(kill, thread_sensitive=False)(kept_pid)
    assert await db_call(_count_users)() == 0
    assert await db_call(lambda: connection.cursor().connection.info.backend_pid)() != kept_pid


@pytest.mark.parametrize(("wal", "journal", "synchronous"), [("", "wal", 1), ("0", "delete", 2)])
def test_sqlite_runs_in_wal_without_an_fsync_per_commit_unless_told_not_to(
    tmp_path, wal: str, journal: str, synchronous: int
) -> None:
    """The embedded database's journal (settings/base.py): WAL with synchronous=NORMAL (1) by
    default, SQLite's own rollback journal with FULL (2) under DB_SQLITE_WAL=0."""
    path = tmp_path / "skirmish.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{path}", "DB_SQLITE_WAL": wal, "REDIS_URL": ""}
    script = (
        "from django.db import connection\n"
        "with connection.cursor() as c:\n"
        "    print(c.execute('PRAGMA journal_mode').fetchone()[0], c.execute('PRAGMA synchronous').fetchone()[0])\n"
    )
    run = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split()[-2:] == [journal, str(synchronous)]


def _synchronous() -> int:
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA synchronous")
        return int(cursor.fetchone()[0])


@pytest.fixture
def sqlite(transactional_db) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("SQLite's sync levels (PostgreSQL syncs each commit anyway)")


async def test_on_disk_runs_its_call_with_each_commit_synced_then_goes_back(sqlite) -> None:
    assert await db_call(_synchronous)() == 1  # NORMAL: settings/base.py
    assert await db_call(db.on_disk(_synchronous))() == 2  # FULL
    assert await db_call(_synchronous)() == 1


async def test_on_disk_goes_back_when_its_call_fails(sqlite) -> None:
    def fail() -> None:
        raise ValueError("no")

    with pytest.raises(ValueError):
        await db_call(db.on_disk(fail))()
    assert await db_call(_synchronous)() == 1


async def test_a_match_result_is_synced_before_its_outbox_file_goes(sqlite, settings, tmp_path, monkeypatch) -> None:
    from game_server.engine_bridge import OrmResultSink
    from lobby import services

    settings.SKIRMISH_OUTBOX_DIR = str(tmp_path)
    levels: list[int] = []

    def record(**kwargs: Any) -> tuple[None, bool]:
        levels.append(_synchronous())
        return None, True

    monkeypatch.setattr(services, "match_result_record", record)
    sink = OrmResultSink(layer=None, worker=None)  # type: ignore[arg-type]
    result = {"match_id": "m-1", "placements": {"0": 1}, "scores": {"0": 3.0}, "reason": "time", "ticks": 9}
    sink.outbox.put(result)
    assert await sink.save(result, attempts=1)
    assert levels == [2]
    assert sink.outbox.pending() == []
