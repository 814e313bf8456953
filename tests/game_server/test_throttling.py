"""Login throttling: 5 failures per account or 10 per address lock out, on both sign-in paths, until the period ends."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import F
from django.test import Client

pytestmark = pytest.mark.django_db

PASSWORD = "right password 1"


def token(client: Client, username: str, password: str, address: str = "10.0.0.1"):
    body = json.dumps({"username": username, "password": password})
    return client.post("/api/auth/token", data=body, content_type="application/json", REMOTE_ADDR=address)


def form(client: Client, username: str, password: str, address: str = "10.0.0.1"):
    return client.post("/accounts/signin/", {"username": username, "password": password}, REMOTE_ADDR=address)


def let_the_period_pass() -> None:
    """Move every recorded failure back by the lockout period (what waiting would do)."""
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - settings.AXES_COOLOFF_TIME - timedelta(seconds=1))


@pytest.fixture(autouse=True)
def fast_hashing(settings) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # 40 sign-ins, not 10 s


@pytest.fixture
def bob():
    return get_user_model().objects.create_user(username="bob", password=PASSWORD)


def test_the_token_endpoint_locks_an_account_after_five_failures_then_releases_it(bob):
    client = Client()
    for _ in range(4):
        assert token(client, "bob", "wrong").status_code == 401
    locked = token(client, "bob", "wrong")
    assert locked.status_code == 429
    error = locked.json()["error"]
    assert error["code"] == "auth/locked_out"
    assert error["retry_after"] == settings.AXES_COOLOFF_TIME.total_seconds()
    assert "Too many failed sign-ins: try again in 15 minutes." == error["message"]
    assert locked["Retry-After"] == str(error["retry_after"])
    refused = token(client, "bob", PASSWORD)  # even the right password, while locked out
    assert refused.status_code == 429 and 0 < refused.json()["error"]["retry_after"] <= error["retry_after"]
    assert token(client, "bob", PASSWORD, address="10.9.9.9").status_code == 429  # the account, from anywhere
    let_the_period_pass()
    assert token(client, "bob", PASSWORD).status_code == 200


def test_the_sign_in_form_locks_an_account_after_five_failures_then_releases_it(bob):
    client = Client()
    for _ in range(4):
        page = form(client, "bob", "wrong")
        assert page.status_code == 200 and b"Please enter a correct username and password" in page.content
    locked = form(client, "bob", "wrong")
    assert locked.status_code == 429
    assert b"Too many failed sign-ins: try again in 15 minutes." in locked.content
    assert locked["Retry-After"] == str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
    assert form(client, "bob", PASSWORD).status_code == 429
    assert "_auth_user_id" not in client.session
    let_the_period_pass()
    signed_in = form(client, "bob", PASSWORD)
    assert signed_in.status_code == 302 and client.session["_auth_user_id"] == str(bob.pk)


def test_both_paths_count_together(bob):
    client = Client()
    for _ in range(2):
        token(client, "bob", "wrong")
        form(client, "bob", "wrong")
    assert form(client, "bob", "wrong").status_code == 429
    assert token(client, "bob", PASSWORD).status_code == 429


def test_one_address_is_locked_after_ten_failures_across_accounts(bob):
    client = Client()
    for n in range(9):
        assert token(client, f"guess{n}", "wrong", address="10.0.0.7").status_code == 401
    locked = form(client, "guess9", "wrong", address="10.0.0.7")
    assert locked.status_code == 429
    assert token(client, "bob", PASSWORD, address="10.0.0.7").status_code == 429  # the address, for anyone
    assert token(client, "bob", PASSWORD, address="10.0.0.8").status_code == 200  # bob, elsewhere
    let_the_period_pass()
    assert token(client, "bob", PASSWORD, address="10.0.0.7").status_code == 200


def test_a_success_before_the_limit_starts_the_count_again(bob):
    client = Client()
    for _ in range(4):
        token(client, "bob", "wrong")
    assert token(client, "bob", PASSWORD).status_code == 200
    for _ in range(4):
        assert token(client, "bob", "wrong").status_code == 401
