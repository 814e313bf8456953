"""Token services: issue, resolve and revoke desktop API tokens."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from game_server.models import ApiToken, token_generate, token_hash


def token_issue(*, user: AbstractBaseUser) -> tuple[str, ApiToken]:
    """Create a token for the user; returns the raw token (shown once) and its row."""
    raw = token_generate()
    row = ApiToken.objects.create(
        user=user,
        key_hash=token_hash(raw),
        hint=raw[:10],
        expires_at=timezone.now() + timedelta(days=settings.SKIRMISH_TOKEN_DAYS),
    )
    return raw, row


#: How fresh a token's `last_used_at` is kept: a use within this long of the stored one writes
#: nothing, so reconnecting players do not make every handshake a database write.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def token_user(*, raw: str) -> AbstractBaseUser | None:
    """The active user a valid, unexpired, unrevoked token belongs to, else None."""
    now = timezone.now()
    row = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=token_hash(raw), revoked_at__isnull=True, expires_at__gt=now)
        .first()
    )
    if row is None or not row.user.is_active:
        return None
    if row.last_used_at is None or now - row.last_used_at >= LAST_USED_RESOLUTION:
        ApiToken.objects.filter(pk=row.pk).update(last_used_at=now)
    return row.user


def token_revoke(*, raw: str) -> bool:
    """Revoke a token; True if it was live."""
    return bool(
        ApiToken.objects.filter(key_hash=token_hash(raw), revoked_at__isnull=True).update(revoked_at=timezone.now())
    )
