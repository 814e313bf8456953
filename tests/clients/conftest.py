"""Client tests run against a real daphne process (engine in-process) on the test database."""

from __future__ import annotations

from tests.e2e.conftest import server  # noqa: F401  (the real-daphne fixture, shared)
