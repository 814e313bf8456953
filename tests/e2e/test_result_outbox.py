"""The database is down when a match ends: the result waits in the outbox and lands once."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from asgiref.sync import sync_to_async
from django.db import connection

from lobby.models import Match, MatchParticipant
from tests.e2e.accounts import token_for
from tests.e2e.server import DaphneServer
from tests.e2e.server import test_database_url as database_url
from tests.e2e.wsclient import WsClient

pytestmark = pytest.mark.e2e

SERVER_APP = "skirmish_outage_server"  # the server's PostgreSQL application_name


@contextmanager
def database_down() -> Iterator[None]:
    """Make the test database really unavailable to the server, then bring it back."""
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        lock = sqlite3.connect(s["NAME"], isolation_level=None, timeout=5)
        lock.execute("BEGIN EXCLUSIVE")  # every other connection now fails with "database is locked"
        try:
            yield
        finally:
            lock.execute("ROLLBACK")
            lock.close()
        return
    admin = psycopg.connect(
        dbname="postgres",
        host=s["HOST"] or "127.0.0.1",
        port=s["PORT"] or 5432,
        user=s["USER"] or "postgres",
        autocommit=True,
    )
    name = s["NAME"]
    admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
    admin.execute(  # the server's sessions end; ours (the test's) live on
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND application_name = %s",
        [name, SERVER_APP],
    )
    try:
        yield
    finally:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        admin.close()


async def signed_in(server: DaphneServer, name: str) -> WsClient:
    client = await WsClient.open(server.ws, token=await token_for(server, name), origin=server.http)
    await client.expect_type("welcome")
    return client


async def test_result_survives_a_database_outage(transactional_db, tmp_path):
    outbox = tmp_path / "outbox"
    server = DaphneServer(
        database_url=database_url() + ("" if connection.vendor == "sqlite" else f"?application_name={SERVER_APP}"),
        log_path=tmp_path / "daphne.log",
        env={"DB_TIMEOUT": "1", "OUTBOX_DIR": str(outbox)},
    )
    server.start()
    try:
        alice, bob = await signed_in(server, "alice"), await signed_in(server, "bob")
        created = await alice.request(
            {"type": "lobby.create", "name": "x", "game": "connect_four", "options": {"turn_seconds": 3}}
        )
        await bob.request({"type": "lobby.join", "code": created["data"]["code"]})
        for client in (alice, bob):
            await client.request({"type": "lobby.ready", "ready": True})
        match_id = (await alice.request({"type": "lobby.start"}))["data"]["match_id"]
        await alice.expect_type("snapshot")

        with database_down():
            # Nobody moves: the turn timer forfeits the match while the database is down.
            ended = await alice.expect_type("match.ended", timeout=15)
            assert ended["outcome"]["reason"] == "forfeit"
            assert [f.name for f in outbox.iterdir()] == [f"{match_id}.json"]
            await asyncio.sleep(1.5)  # the server keeps retrying meanwhile
            assert outbox.joinpath(f"{match_id}.json").exists()

        deadline = time.monotonic() + 20
        while (await sync_to_async(Match.objects.get)(pk=match_id)).status == "running":
            assert time.monotonic() < deadline, "the result never landed"
            await asyncio.sleep(0.2)
        match = await sync_to_async(Match.objects.get)(pk=match_id)
        assert match.status == "finished" and match.reason == "forfeit"
        placements = await sync_to_async(list)(
            MatchParticipant.objects.filter(match_id=match_id).order_by("seat").values_list("placement", flat=True)
        )
        assert sorted(placements) == [1, 2]
        assert not list(outbox.glob("*.json"))
        assert "kept in the outbox" in server.logs()
        await alice.close()
        await bob.close()
    finally:
        server.stop()
