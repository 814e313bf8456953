"""Real servers: daphne as a subprocess on a free port, against the test database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.server import DaphneServer, test_database_url


@pytest.fixture
def server(transactional_db, tmp_path) -> Iterator[DaphneServer]:
    """A daphne process serving Skirmish (engine in-process, in-memory layer)."""
    proc = DaphneServer(database_url=test_database_url(), log_path=tmp_path / "daphne.log")
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()
