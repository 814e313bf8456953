"""The desktop token API: register, trade a password for a token, revoke it."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model

from game_server.models import ApiToken, token_hash
from game_server.tokens import token_user

pytestmark = pytest.mark.django_db


def post(client, url: str, body: object, **headers):
    return client.post(url, data=json.dumps(body), content_type="application/json", **headers)


def test_register_then_token_then_revoke(client):
    created = post(client, "/api/auth/register", {"username": "ada", "password": "analytical engine 1843"})
    assert created.status_code == 201
    issued = post(client, "/api/auth/token", {"username": "ada", "password": "analytical engine 1843"})
    assert issued.status_code == 200
    token = issued.json()["token"]
    row = ApiToken.objects.get()
    assert row.key_hash == token_hash(token) and token not in (row.key_hash, row.hint)
    assert token_user(raw=token).get_username() == "ada"
    revoked = client.delete("/api/auth/token", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert revoked.status_code == 200
    assert token_user(raw=token) is None
    again = client.delete("/api/auth/token", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert again.status_code == 401


def test_wrong_password_gets_no_token(client):
    get_user_model().objects.create_user(username="bob", password="right password 1")
    reply = post(client, "/api/auth/token", {"username": "bob", "password": "wrong"})
    assert reply.status_code == 401
    assert reply.json()["error"]["code"] == "auth/bad_credentials"
    assert not ApiToken.objects.exists()


def test_register_refuses_taken_names_and_weak_passwords(client):
    get_user_model().objects.create_user(username="carol", password="whatever pw 1")
    taken = post(client, "/api/auth/register", {"username": "Carol", "password": "a fine long password"})
    assert (taken.status_code, taken.json()["error"]["code"]) == (409, "auth/username_taken")
    weak = post(client, "/api/auth/register", {"username": "dave", "password": "123"})
    assert (weak.status_code, weak.json()["error"]["code"]) == (400, "protocol/invalid")


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        ("{not json", "application/json", 400),
        ('["a"]', "application/json", 400),
        ('{"username": 1, "password": "x"}', "application/json", 400),
        ("username=a&password=b", "application/x-www-form-urlencoded", 415),
        ('{"username": "' + "a" * 5000 + '", "password": "x"}', "application/json", 413),
    ],
)
def test_bad_bodies_get_json_errors(client, body, content_type, status):
    reply = client.post("/api/auth/token", data=body, content_type=content_type)
    assert reply.status_code == status
    assert "code" in reply.json()["error"]


def test_expired_token_is_refused(client):
    from datetime import timedelta

    from django.utils import timezone

    from game_server.tokens import token_issue

    user = get_user_model().objects.create_user(username="eve", password="x long password 1")
    raw, row = token_issue(user=user)
    ApiToken.objects.filter(pk=row.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert token_user(raw=raw) is None


def test_signup_and_signin_pages(client):
    page = client.get("/accounts/signup/")
    assert page.status_code == 200 and b"Sign up" in page.content
    made = client.post(
        "/accounts/signup/",
        {"username": "frank", "password1": "a sturdy passphrase", "password2": "a sturdy passphrase"},
    )
    assert made.status_code == 302
    assert client.get("/").context["user"].get_username() == "frank"
    client.logout()
    signed = client.post("/accounts/signin/", {"username": "frank", "password": "a sturdy passphrase"})
    assert signed.status_code == 302


def test_last_used_is_written_at_most_once_a_minute(django_assert_num_queries):
    from datetime import timedelta

    from django.utils import timezone

    from game_server.tokens import token_issue

    user = get_user_model().objects.create_user(username="mo", password="x long password 1")
    raw, row = token_issue(user=user)
    with django_assert_num_queries(2):  # the lookup, and the first use written
        assert token_user(raw=raw) == user
    first = ApiToken.objects.get(pk=row.pk).last_used_at
    assert first is not None
    with django_assert_num_queries(1):  # a reconnect within the minute: the lookup only
        assert token_user(raw=raw) == user
    assert ApiToken.objects.get(pk=row.pk).last_used_at == first
    ApiToken.objects.filter(pk=row.pk).update(last_used_at=first - timedelta(minutes=2))
    assert token_user(raw=raw) == user
    assert ApiToken.objects.get(pk=row.pk).last_used_at > timezone.now() - timedelta(seconds=30)
