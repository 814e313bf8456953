"""Client tests run against a real daphne process (engine in-process) on the test database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.auth import get_user_model

from tests.e2e.server import DaphneServer, test_database_url

PASSWORD = "correct horse battery"


@pytest.fixture
def server(transactional_db, tmp_path) -> Iterator[DaphneServer]:
    """A daphne process serving Skirmish."""
    proc = DaphneServer(database_url=test_database_url(), log_path=tmp_path / "daphne.log")
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


def make_user(name: str) -> None:
    """An account with the shared test password."""
    get_user_model().objects.create_user(username=name, password=PASSWORD)
