"""Shared fixtures: isolated channel layers, a file-backed test database, real daphne servers."""

from __future__ import annotations

import pytest
from channels.layers import channel_layers


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
