"""Lobby test helpers: users and a live server (the `postgres` skip is in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from django.contrib.auth import get_user_model

from tests.e2e import server as e2e


@pytest.fixture
def make_user(db) -> Callable[[str], object]:
    """Create a user by name."""

    def make(name: str) -> object:
        return get_user_model().objects.create_user(username=name)  # no password: no slow hashing

    return make


@pytest.fixture
def server(transactional_db, tmp_path) -> Iterator[e2e.DaphneServer]:
    """A daphne process serving Skirmish (engine in-process, in-memory layer)."""
    proc = e2e.DaphneServer(database_url=e2e.test_database_url(), log_path=tmp_path / "daphne.log")
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()
