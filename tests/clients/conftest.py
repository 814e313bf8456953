"""Client tests run against a real daphne process (engine in-process) on the test database."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from tests.e2e.conftest import server  # noqa: F401  (the real-daphne fixture, shared)

PASSWORD = "correct horse battery"


def make_user(name: str) -> None:
    """An account with the shared test password."""
    get_user_model().objects.create_user(username=name, password=PASSWORD)
