"""Shared fixtures: isolated channel layers, a file-backed test database, real daphne servers."""

from __future__ import annotations

import pytest
from channels.layers import channel_layers
from django.db import connection


@pytest.fixture(autouse=True)
def fresh_channel_layers():
    """Each test gets new channel-layer instances (the in-memory layer binds to a loop)."""
    channel_layers.backends = {}
    from game_server import engine_bridge

    engine_bridge._local.clear()
    yield
    channel_layers.backends = {}


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix, tmp_path_factory):
    """SQLite tests use a file, so that server subprocesses see the same database."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        db.setdefault("TEST", {})["NAME"] = str(tmp_path_factory.mktemp("db") / "test.sqlite3")


@pytest.fixture(scope="session", autouse=True)
def release_test_database(django_db_setup, django_db_blocker):
    """Before the test database is dropped, end sessions that threads or servers left open."""
    yield
    from django.db import connection

    from game_server.db import close_kept

    close_kept()
    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture
def postgres(transactional_db) -> None:
    """Skip unless the test database is PostgreSQL: for what SQLite does not have (row locks,
    backends to terminate). CI runs the suite on both (.ci/run)."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (row locks, server backends): set DATABASE_URL=postgres://...")
